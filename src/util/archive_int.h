// archive_int.h: internals shared by the archive module (archive_pack.c,
// archive_extract.c, archive_module.c: smflow-archive.so, the only code that
// links libarchive) and the core's side of it (archive_async.c). Not a public
// header.
#pragma once

#include <stdbool.h>

#include "smflow/archive.h"
#include "smflow/module.h"

/// The archive module's table, `smflow_module_archive`.
struct smf_archive_module {
  struct smf_module_header hdr;
  int (*pack)(const struct smf_pack_spec *spec, struct smf_pack_result *res,
              struct smf_error *err);
  int (*extract)(const char *archive_path, const char *dest_dir, struct smf_extract_result *res,
                 struct smf_error *err);
};

/// The implementations behind smf_archive_pack and smf_archive_extract (in the module).
int smf__archive_pack(const struct smf_pack_spec *spec, struct smf_pack_result *res,
                      struct smf_error *err);
int smf__archive_extract(const char *archive_path, const char *dest_dir,
                         struct smf_extract_result *res, struct smf_error *err);

/// True for path components that packing never descends into (see archive.h).
bool smf__archive_excluded(const char *name);

/// Lexically check that symlink target `target`, stored at `link_path` (a
/// relative path inside some tree), stays inside that tree. Absolute targets
/// never do.
bool smf__archive_link_inside(const char *link_path, const char *target);
