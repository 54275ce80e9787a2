// luaco.h: runs one hooks-file function as a coroutine on a libuv loop, doing
// what it waits for (smflow.sleep, smflow.http.request, smflow.aws.call). Used by
// the `lua` step kind and by the engine for the pipeline hooks on_success and
// on_failure. Private to smflow (not in include/).
#pragma once

#include <stdint.h>
#include <uv.h>

#include "smflow/dsl.h"
#include "smflow/error.h"
#include "smflow/lx.h"

struct target;

struct step_luaco;

/// Completion, exactly once, from a loop callback: status 0 with the function's
/// result (a tree, NULL for nil; borrowed until step_luaco_close), or a negative
/// SMF_E* with err (class HookError for Lua failures; SMF_ECANCELLED or
/// SMF_ETIMEOUT after step_luaco_cancel).
typedef void step_luaco_done_fn(void *data, int status, const struct smf_error *err,
                                const struct dsl_node *result);

struct step_luaco_config {
  uv_loop_t *loop;
  struct lx *x;                 ///< borrowed; must outlive the runner
  const char *step_id;          ///< log prefix of the function's lines, or NULL
  const char *target_name;      ///< "local" or "aws" (smflow.aws.call needs aws)
  const char *region;           ///< the pipeline's region or NULL (then the AWS CLI's rules)
  struct target *target;        ///< for smflow.registry.latest; borrowed, may be NULL
  uint64_t total_instructions;  ///< cap over all slices; 0 = SMFLOW_LUA_STEP_INSTRUCTIONS or 10 x
                                ///< per call
  step_luaco_done_fn *done;
  void *data;
};

/// Start `fn(args...)`; the first slice runs from a loop callback. The strings of
/// cfg are copied. On failure (no such function, ...) done never runs.
int step_luaco_start(const struct step_luaco_config *cfg, const char *fn,
                     const struct dsl_node *const *args, size_t nargs, struct step_luaco **out,
                     struct smf_error *err);
/// Stop: timer stopped, request cancelled, coroutine dropped; done runs later with
/// `reason`. No-op after done.
void step_luaco_cancel(struct step_luaco *r, int reason);
/// Release the runner (at any time; after done for a clean end). Handles and
/// clients close asynchronously; done never runs after this.
void step_luaco_close(struct step_luaco *r);
