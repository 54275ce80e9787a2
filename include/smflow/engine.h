// engine.h: runs a pipeline's DAG on one libuv loop with durable state.
//
// Failure policy: a step that fails after its retries is FAILED; steps that
// (transitively) need it are not started (recorded CANCELLED, "upstream step X
// failed"); independent branches run to the end; the run ends "failed" (exit 1).
// Signals: the first SIGINT/SIGTERM stops starting work, terminates local
// processes (their attempts are recorded "interrupted"), persists, exits 3; a
// second one kills what is left and exits at once.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "smflow/dsl.h"
#include "smflow/error.h"
#include "smflow/state.h"

struct eng_options {
  int max_parallel;         ///< 0 = pipeline `concurrency`, else 8
  const char *const *only;  ///< --only step ids (borrowed); n_only = 0: all
  size_t n_only;
  const char *from;                         ///< --from step id or NULL
  const char *target;                       ///< --target or NULL
  bool json;                                ///< JSON lines of events on stdout
  const struct dsl_param_override *params;  ///< --param overrides, persisted for resume
  size_t n_params;
  int64_t kill_grace_ms;  ///< SIGTERM → SIGKILL delay; 0 = 5 s
  const char *run_id;     ///< id for the new run (from eng_run_id_new); NULL = make one
  /// Called once the run is recorded in the state database (before any step).
  void (*on_started)(void *ud, const char *run_id);
  void *on_started_ud;
};

/// Outcome of eng_run / eng_resume, as exit codes of SPEC §2.
enum eng_outcome {
  ENG_SUCCEEDED = 0,
  ENG_FAILED = 1,
  ENG_INTERRUPTED = 3,
  ENG_ENV_ERROR = 4,
};

/// Start a new run of `p` with state in `st` (opened for writing; borrowed).
/// The new run's id is written to run_id (may be NULL). Returns an outcome;
/// *err is set for ENG_ENV_ERROR (and for a pipeline problem found before
/// anything started, e.g. in `vars`: then the return is SMF_EVALIDATE, negative).
int eng_run(struct state *st, const struct dsl_pipeline *p, const struct eng_options *opt,
            char run_id[32], struct smf_error *err);

/// Resume run `run` (a row read from st): steps that succeeded are kept, the
/// others re-attached or started again. `p` is the pipeline loaded again with
/// the run's persisted parameters. json: JSON lines of events on stdout. Same
/// returns as eng_run.
int eng_resume(struct state *st, const struct dsl_pipeline *p, const struct state_run *run,
               bool json, struct smf_error *err);

/// Check --only/--from against the pipeline (unknown ids). 0 or SMF_EVALIDATE.
int eng_options_check(const struct dsl_pipeline *p, const struct eng_options *opt,
                      struct smf_error *err);

/// Persisted options of a run, parsed back (strings owned by *opt's arena `a`).
int eng_options_from_json(const char *json, struct smf_arena *a, struct eng_options *opt,
                          struct smf_error *err);

/// Check the hooks file of `p` as a run would load it, with no side effect (its
/// top-level code runs in a fresh capped sandbox): an unreadable or failing file
/// is a diagnostic at the `hooks:` value; every function that the pipeline names
/// (on_success, on_failure, a step's hooks, a lua step) and the file does not
/// define is one at the name. Appends to `diags`; returns how many it added.
size_t eng_hooks_check(const struct dsl_pipeline *p, struct dsl_diags *diags);

/// A new run id: `YYYYMMDD-HHMMSS-xxxx` (local time, 4 random hex digits).
void eng_run_id_new(char out[32]);

/// What a run of `p` would do, with no side effect (SPEC §2 `plan`): globals are
/// evaluated (run.id is a would-be id), then per step an action — "run",
/// "cached", "skipped" or "unknown" (needs outputs of earlier steps) — with a
/// reason and the requests it would send on `target` (NULL: the pipeline's, else
/// local), secrets redacted. `st` (opened read-only, may be NULL) answers cache
/// lookups. *doc: JSON text {"steps": [{"id", "kind", "action", "reason"?,
/// "requests": [{"service", "operation", "body"}]}]}, caller frees. Returns 0 or
/// an SMF_E* (e.g. SMF_ELUA: the hooks file or a var failed) with *err set.
int eng_plan(const struct dsl_pipeline *p, const char *target, struct state *st, char **doc,
             struct smf_error *err);
