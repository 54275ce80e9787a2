// step.h: the step-kind interface. The engine knows a kind only through its
// const vtable, struct step_kind; adding a kind is one file in src/steps/ and
// one line in the table of src/steps/kinds.c.
//
// Life of one attempt, as the engine drives it:
//   1. the engine interpolates and re-validates the spec, fills struct step_ctx;
//   2. kind->intent(ctx) returns the intent JSON; the engine commits it durably
//      (batched with the intents of other steps started in the same loop turn);
//   3. kind->start(ctx) begins the side effect and returns 0; later, exactly once,
//      the kind calls step_ctx_done() from a loop callback;
//   4. kind->cancel(ctx, reason) may come at any time between 3 and done: the kind
//      stops its work and still calls step_ctx_done() (with reason as status);
//      on an interrupt a kind whose job runs remotely may instead leave it
//      running and call step_ctx_detached() (resume re-attaches);
//   5. kind->free(ctx) releases ctx->kind_data after done (uv handles closed).
// On resume, an attempt whose intent has no result goes to kind->resume(ctx,
// intent): the kind re-attaches (and later calls done) or, if the work is gone,
// calls step_ctx_done(ctx, SMF_ENOENT, ...): the engine records the attempt as
// lost and starts a new attempt.
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "smflow/dsl.h"
#include "smflow/error.h"
#include "smflow/util.h"

struct eng;
struct eng_step;
struct target;

/// What a kind gets for one attempt. Everything is borrowed from the engine and
/// valid until kind->free returns, except kind_data, which the kind owns.
struct step_ctx {
  uv_loop_t *loop;
  const char *run_id;
  const char *step_id;
  int attempt;  ///< 1-based
  const char *state_dir;
  const char *pipeline_dir;     ///< absolute directory of the pipeline file
  const char *log_path;         ///< STATE_DIR/logs/RUN_ID/STEP.ATTEMPT.log
  int log_fd;                   ///< open for appending to log_path
  const struct dsl_step *def;   ///< the step as written (after defaults)
  const struct dsl_node *spec;  ///< the kind's spec, interpolated and validated
  struct smf_arena *arena;      ///< per-attempt memory (outputs, spec); freed after free()
  int64_t kill_grace_ms;        ///< cancel: SIGTERM, then SIGKILL after this long
  /// The run's target (local, aws), or NULL when it could not be made (then
  /// target_error says why). Kinds reach the world only through it.
  struct target *target;
  const char *target_error;
  const char *pipeline_name;     ///< `name:` of the pipeline
  const char *git_sha;           ///< HEAD of the pipeline's repository, or NULL
  void *kind_data;              ///< the kind's own state
  struct eng *eng;              ///< opaque
  struct eng_step *owner;       ///< opaque
};

/// What a kind's prepare hook sees of a step before any step starts. Borrowed
/// for the call.
struct step_prepare {
  uv_loop_t *loop;
  const char *run_id;
  const char *step_id;
  const char *state_dir;
  const char *pipeline_dir;    ///< absolute directory of the pipeline file
  const struct dsl_step *def;  ///< as written: its `${...}` are not interpolated
};

struct step_kind {
  const char *name;
  enum dsl_kind kind;
  /// The intent of this attempt as a JSON object text (caller frees). Must be
  /// deterministic from ctx (no side effect happens here).
  char *(*intent)(struct step_ctx *ctx);
  /// Begin the side effect. 0: step_ctx_done will be called once, later. On error
  /// (*err set, class in err->klass) done is never called.
  int (*start)(struct step_ctx *ctx, struct smf_error *err);
  /// Reconcile an intent left without a result by an earlier smflow: re-attach
  /// or report SMF_ENOENT through step_ctx_done. Same contract as start.
  int (*resume)(struct step_ctx *ctx, const char *intent_json, struct smf_error *err);
  /// Stop: reason is SMF_ECANCELLED (interrupt) or SMF_ETIMEOUT. Asynchronous.
  /// kill_now: skip any grace period.
  void (*cancel)(struct step_ctx *ctx, int reason, bool kill_now);
  /// Release kind_data. Called once after done, from a fresh loop callback.
  void (*free)(struct step_ctx *ctx);
  /// Optional: called once when the run's loop starts, before any step starts,
  /// for each step that is to run (not one being re-attached). Work that depends
  /// on nothing another step does (packing code named by literal paths) may
  /// begin here on the thread pool; the step's first attempt takes it only if it
  /// still matches. No visible effect, no failure: anything wrong is left to start.
  void (*prepare)(const struct step_prepare *p);
};

/// Drop what prepare hooks made for run_id that no attempt took (the engine
/// calls it once the run's loop has ended).
void step_prepare_release(const char *run_id);

/// The kind for a dsl kind, or NULL when smflow does not implement it yet.
const struct step_kind *step_kind_find(enum dsl_kind kind);
/// Use `k` for `kind` instead of the built-in one (NULL restores it). For tests
/// of the engine that need no processes. Borrowed: must outlive its use.
void step_kind_override(enum dsl_kind kind, const struct step_kind *k);

/// Complete the attempt: status 0 with `outputs` (a DSL_MAP, may be NULL = {}),
/// or a negative SMF_E* with err (class and message). Borrowed; copied at once.
void step_ctx_done(struct step_ctx *ctx, int status, const struct smf_error *err,
                   const struct dsl_node *outputs);
/// Instead of done, on an interrupt (reason SMF_ECANCELLED) only: the kind left
/// its remote work running (a training or processing job) and let go of it. The
/// attempt keeps its intent without a result, so that resume re-attaches to it.
/// Same once-only rule as step_ctx_done; call it from a loop callback.
void step_ctx_detached(struct step_ctx *ctx);
/// Replace the intent of this attempt (e.g. with a remote job name or pid learned
/// after the start). sync: commit now and return once it is on disk; else it is
/// committed with the batch at the end of the loop turn.
int step_ctx_update_intent(struct step_ctx *ctx, const char *intent_json, bool sync,
                           struct smf_error *err);
/// A line in the step's log file and, with the step prefix, on stderr.
void step_ctx_log(struct step_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct lx;
/// The run's Lua sandbox (for the `lua` kind). Borrowed.
struct lx *step_ctx_lx(const struct step_ctx *ctx);
/// The run's target name ("local" or "aws"). Borrowed.
const char *step_ctx_target_name(const struct step_ctx *ctx);
/// The pipeline's `region:` or NULL. Borrowed.
const char *step_ctx_region(const struct step_ctx *ctx);
/// The table hooks and lua functions receive for this attempt: {id, kind,
/// attempt, run_id, target, spec, needs}, built in `a`.
struct dsl_node *step_ctx_describe(const struct step_ctx *ctx, struct smf_arena *a);
/// Record a remote name (job name, "pid N") shown by `smflow status` (batched).
void step_ctx_set_remote_name(struct step_ctx *ctx, const char *name);
