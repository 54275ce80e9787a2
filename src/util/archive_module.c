// archive_module.c: the table of smflow-archive.so (see archive_int.h).
#include "util/archive_int.h"

#ifndef SMF_BUILD_ID
#error "SMF_BUILD_ID must be defined for archive_module.c"
#endif

__attribute__((visibility("default"))) extern const struct smf_archive_module
    smflow_module_archive;
const struct smf_archive_module smflow_module_archive = {
    .hdr = {.build = SMF_BUILD_ID, .size = sizeof(struct smf_archive_module)},
    .pack = smf__archive_pack,
    .extract = smf__archive_extract,
};
