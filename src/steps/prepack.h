// prepack.h: a job's code archive packed when the run starts (the `prepare`
// hook of fit and evaluate), taken by the step's first attempt if its inputs
// are unchanged (private to src/steps/).
#pragma once

#include "smflow/archive.h"
#include "smflow/step.h"

/// Called with the archive (caller owns the path and removes the file when it
/// no longer needs it; nothing of it is synced: a store it is moved into syncs
/// it), or NULL
/// when none can be used (then pack as usual).
typedef void (*step_prepack_cb)(void *data, char *archive_path);

/// The prepare hook of fit and evaluate: when the spec packs code (no `source`)
/// named by literal paths (no `${...}`), pack it into STATE_DIR/tmp on the
/// thread pool, noting the state of every input file and directory first.
void step_prepack_prepare(const struct step_prepare *p);

/// The archive prepared for ctx's step, if there is one for exactly `spec`'s
/// inputs: 1 when cb will be called (once, from a loop callback; with NULL when
/// an input changed since it was packed or packing failed), 0 when there is
/// none. At most one attempt takes it.
int step_prepack_take(struct step_ctx *ctx, const struct smf_pack_spec *spec, step_prepack_cb cb,
                      void *data);
