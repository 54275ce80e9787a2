// eng_int.h: internals shared by the files of src/engine/.
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "smflow/engine.h"
#include "smflow/lx.h"
#include "smflow/state.h"
#include "smflow/step.h"

/// The closed set of step states; only eng_step_transition changes them.
enum step_state {
  STEP_PENDING,
  STEP_READY,
  STEP_RUNNING,
  STEP_RETRY_WAIT,
  STEP_SUCCEEDED,
  STEP_FAILED,
  STEP_SKIPPED,
  STEP_CANCELLED,
  STEP__COUNT
};

const char *eng_state_name(enum step_state s);  ///< "pending", ...
int eng_state_parse(const char *name);          ///< -1 if unknown

struct eng_step {
  struct eng *eng;
  const struct dsl_step *def;
  const struct step_kind *kind;
  enum step_state state;
  bool selected;  ///< false: outside --only/--from (its earlier outputs are used)
  bool resuming;  ///< next start goes through kind->resume with resume_intent
  char *resume_intent;
  int resume_attempt;
  int attempts;      ///< attempts started (also lost ones)
  int failures;      ///< failed attempts counted against retry.max_attempts
  size_t deps_left;  ///< dependencies not finished yet
  int64_t started_ms, finished_ms;
  char *outputs_json;
  char *remote_name;
  enum smf_errclass err_class;
  char *err_message;
  uv_timer_t retry_timer;
  uv_timer_t timeout_timer;
  int cancel_reason;  ///< 0, SMF_ECANCELLED or SMF_ETIMEOUT for the running attempt
  bool active;        ///< an attempt is in flight (ctx valid)
  bool started_kind;  ///< kind->start/resume returned 0: kind->free is owed
  bool in_queue;
  struct step_ctx ctx;
  struct smf_arena arena;  ///< per-attempt
  char *log_path;
  struct eng_step *free_next;  ///< queue of contexts to free after done
};

struct eng {
  uv_loop_t loop;
  struct state *st;
  const struct dsl_pipeline *p;
  struct lx *lx;
  struct eng_options opt;
  char run_id[32];
  struct eng_step *steps;
  size_t n;
  struct dag *dag;  ///< edges of the pipeline (dependents lookup)
  size_t *queue;    ///< ready steps, FIFO (ring of n slots)
  size_t q_head, q_len;
  struct eng_step **batch;  ///< steps prepared in one pump turn (n slots)
  int running;
  int max_parallel;
  size_t finished;  ///< steps in a final state
  int64_t kill_grace_ms;
  uv_prepare_t flush_handle;
  uv_idle_t pump_handle;
  uv_signal_t sigint, sigterm;
  int interrupts;  ///< signals received
  bool stopping;
  bool fatal;  ///< state database failure: stop, exit 4
  struct smf_error fatal_err;
  struct eng_step *to_free;  ///< attempts whose ctx waits for kind->free
  struct smf_arena arena;    ///< run-lifetime memory (globals)
  struct target *target;     ///< made at init; NULL when target_new failed
  char target_error[1024];   ///< why target is NULL
  const char *git_sha;       ///< in arena; NULL outside a git repository
  bool finishing;
};

// sched.c
void eng_sched_init(struct eng *e);
/// Persist, then log, then notify: the only place a step changes state.
void eng_step_transition(struct eng_step *s, enum step_state to);
void eng_step_enqueue(struct eng_step *s);
/// Write the step's row as it is (no transition, no log).
void eng_step_persist(struct eng_step *s);
/// All dependencies finished well: READY (queued), or SKIPPED by propagation.
void eng_step_ready_or_skip(struct eng_step *d);
/// Run eng_pump from the loop soon (idle handle).
void eng_schedule(struct eng *e);
void eng_pump(struct eng *e);
void eng_stop(struct eng *e, bool kill_now);
void eng_fatal(struct eng *e, const struct smf_error *err);
bool eng_done(const struct eng *e);

// engine.c
/// Close the run's handles so that the loop ends (idempotent).
void eng_finish(struct eng *e);

// globals.c
/// Set params, run, git, env and vars in the sandbox. run/git come from
/// globals_json (see eng_globals_json); vars_json NULL = evaluate and persist them.
int eng_globals_init(struct eng *e, const char *globals_json, const char *vars_json,
                     struct smf_error *err);
/// {"run": {...}, "git": {...}} gathered now, for a new run. Caller frees.
char *eng_globals_json(struct eng *e);

// hooks.c
/// before(step): may change *spec (merged into a new tree in the attempt's arena).
int eng_hook_before(struct eng_step *s, struct dsl_node **spec, struct smf_error *err);
/// after(step, outputs): may add outputs.
int eng_hook_after(struct eng_step *s, const struct dsl_node **outputs, struct smf_error *err);
/// on_failure(step, err) after the step failed for good; errors only logged.
void eng_hook_on_failure(struct eng_step *s);
/// The pipeline's on_success(run) / on_failure(run); errors only logged.
void eng_hook_run_end(struct eng *e, const char *status);

// json.c
/// JSON text → value tree in `a` (NULL on a parse error, with *err set).
struct dsl_node *eng_json_to_node(struct smf_arena *a, const char *text, struct smf_error *err);
struct dsl_node *eng_jansson_to_node(struct smf_arena *a, const json_t *j);
