// module.h: parts of smflow built as loadable modules, smflow-NAME.so, and
// loaded on first use. The libraries only they need (libarchive, libcurl) pull
// in some forty more shared libraries whose loading and symbol binding cost
// milliseconds at every start of every command; a command that does not use
// them (status, validate, a run that packs nothing) never maps them.
//
// A module exports one table, `smflow_module_NAME`, whose first member is a
// struct smf_module_header. Modules are self-contained (they carry their own
// copies of the few util functions they call, with hidden visibility) and talk
// to the rest of smflow only through that table.
//
// Where a module is looked for: $SMFLOW_MODULE_DIR alone when it is set;
// otherwise the installed layout next to the executable (BIN/../lib/smflow),
// then the build tree it was built in. A module from another build is refused (its header carries
// the build's id).
//
// smflow's helper programs (smflow-jobhost, the host process of a local job)
// live in the same places and are found the same way.
//
// Ownership: loaded modules stay loaded until the process exits; tables are
// static and borrowed.
#pragma once

#include <stdint.h>

struct smf_error;
struct uv_loop_s;

/// The first member of every module's table.
struct smf_module_header {
  const char *build;  ///< SMF_BUILD_ID of the build it came from
  uint32_t size;      ///< sizeof the whole table, as the module was compiled
};

/// The table of module NAME ("archive", "http"), loading it on first use.
/// Thread-safe; a failure is remembered and reported again on every call
/// (SMF_EIO: the message names the module, every place looked at and the
/// loader's reason).
const void *smf_module_get(const char *name, struct smf_error *err);

/// Load module NAME on the loop's thread pool, off the loop thread, so that
/// its first use finds it mapped. Errors are left for smf_module_get to report.
void smf_module_preload(struct uv_loop_s *loop, const char *name);

/// The path of smflow's helper program NAME ("smflow-jobhost"): the first of
/// the places modules are looked for where it is an executable file. Caller
/// frees. NULL when it is in none (SMF_ENOENT: the message names the program
/// and every place looked at).
char *smf_module_program(const char *name, struct smf_error *err);
