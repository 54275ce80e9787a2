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
  int attempts;  ///< attempts started (also lost ones)
  int failures;  ///< failed attempts counted against retry.max_attempts
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
  bool preparing;              ///< the before hook runs: its smflow.log lines go to early_log
  struct smf_buf early_log;    ///< those lines, written once the attempt's log is open
  struct eng_step *free_next;  ///< queue of contexts to free after done
  bool when_passed;            ///< `when:` was evaluated true (not evaluated again)
  bool cache_checked;          ///< the step cache was consulted for this step
  char *cache_key;             ///< key to store the result under (cache on, key known)
  char *cache_spec;            ///< the interpolated spec (JSON) the key was computed from
  char *cached_from;           ///< "RUN/STEP/ATTEMPT" when served from the cache
  struct state_object *objs;   ///< store objects the attempt may have written (objects.c)
  size_t n_objs;
  bool rerun;  ///< resume runs it again: a store object of it (or upstream) was lost
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
  struct dag *dag;      ///< edges of the pipeline
  struct dag_run *run;  ///< readiness, skips, blocking and selection of this run
  size_t *queue;        ///< ready steps, FIFO (ring of n slots)
  size_t q_head, q_len;
  struct eng_step **batch;  ///< steps prepared in one pump turn (n slots)
  int running;
  int max_parallel;
  size_t finished;  ///< steps in a final state
  int64_t last_final_us;  ///< wall clock (Unix us) of the last step's final transition
  int64_t kill_grace_ms;
  uv_prepare_t flush_handle;
  uv_timer_t flush_timer;      ///< commits a deferred batch (engine.c)
  uint64_t flush_deferred_at;  ///< uv_now when the batch was first left open; 0: not deferred
  uv_idle_t pump_handle;
  uv_check_t background_handle;  ///< queues the pool's background work after the first pump
  bool http_preloaded;           ///< the http module's preload is queued (eng__preload)
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
  char hooks_sha256[65];  ///< of the hooks file as loaded ("" without one)
};

// sched.c
void eng_sched_init(struct eng *e);
/// Persist, then log, then notify: the only place a step changes state.
void eng_step_transition(struct eng_step *s, enum step_state to);
void eng_step_enqueue(struct eng_step *s);
/// Write the step's row as it is (no transition, no log).
void eng_step_persist(struct eng_step *s);
/// Pre-mark what is already final (unselected, or restored by resume), begin
/// the dag_run and record its first decisions. Once, before the loop runs.
int eng_sched_begin(struct eng *e);
/// Run eng_pump from the loop soon (idle handle).
void eng_schedule(struct eng *e);
void eng_pump(struct eng *e);
void eng_stop(struct eng *e, bool kill_now);
void eng_fatal(struct eng *e, const struct smf_error *err);
bool eng_done(const struct eng *e);

/// Evaluate `when:` of a READY step once. false: the step ended (skipped or failed).
bool eng_step_check_when(struct eng_step *s);
/// A step reached a final state outside an attempt: notify its dependants.
void eng_step_final(struct eng_step *s);

// objects.c: the store objects of a run whose syncs wait for its end
/// Hand the store objects noted since the last call to every step with an
/// attempt in flight. Call it when an attempt completes, before it is marked
/// inactive.
void eng_objects_claim(struct eng *e);
/// Record the step's objects (batched with its result: call it when it
/// succeeds) and forget them. No-op unless the run defers object syncs.
void eng_objects_record(struct eng_step *s);
/// Forget the step's objects (an attempt that did not succeed).
void eng_objects_drop(struct eng_step *s);
/// Whether every object recorded for RUN_ID/STEP_ID is still there with its
/// size (a step cache entry is served only then); else false and *why.
bool eng_objects_intact(struct eng *e, const char *run_id, const char *step_id, char *why,
                        size_t cap);
/// resume: a succeeded step whose recorded object is missing or has another
/// size runs again, and so does every step downstream of it (said on stderr).
int eng_objects_check(struct eng *e, struct smf_error *err);

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
/// The commit (*sha) and branch (*branch, "HEAD" when detached) of the git
/// repository holding DIR, read from its files. 1: found, both set (caller
/// frees); 0: DIR is in no repository; -1: not answerable from the files
/// (unborn branch, unusual layout, GIT_DIR set): ask git itself.
int eng_git_head(const char *dir, char **sha, char **branch);

// hooks.c
/// Caps of the run's sandbox from SMFLOW_LUA_INSTRUCTIONS (per call) and
/// SMFLOW_LUA_MEMORY_MB, when set.
void eng_hooks_lx_config(struct lx_config *cfg);
/// Check that every hook and lua step function named by the pipeline exists
/// (SMF_EVALIDATE with the step's position) and hash the hooks file.
int eng_hooks_init(struct eng *e, struct smf_error *err);
/// Record the hooks file's path and hash as an event of the run.
void eng_hooks_record(struct eng *e);
/// Call the step's `before` hook (or, when resuming, take its persisted result),
/// merge its table into *spec and validate the result. *hooked: the table to
/// persist with the intent (NULL when none). Errors have class HookError.
int eng_hooks_before(struct eng_step *s, struct dsl_node **spec, struct dsl_node **hooked,
                     struct smf_error *err);
/// The intent text with {"before_hook": {function, result}} added (takes and
/// returns ownership).
char *eng_hooks_intent(struct eng_step *s, char *intent, const struct dsl_node *hooked);
/// after(step, outputs): its table is merged into *outputs (in s->arena).
int eng_hook_after(struct eng_step *s, const struct dsl_node **outputs, struct smf_error *err);
/// on_failure(step, err) after the step failed for good; errors only logged.
void eng_hook_on_failure(struct eng_step *s);
/// The pipeline's on_success(run) / on_failure(run), run as a coroutine on the
/// run's loop (it may use smflow.sleep/http/aws); errors only logged.
void eng_hook_run_end(struct eng *e, const char *status);

// json.c
/// JSON text → value tree in `a` (NULL on a parse error, with *err set).
struct dsl_node *eng_json_to_node(struct smf_arena *a, const char *text, struct smf_error *err);
struct dsl_node *eng_jansson_to_node(struct smf_arena *a, const json_t *j);

// cache_key.c, cache.c: the step cache (SPEC §6; the key is documented in cache_key.c).
/// Version of the cache key format; part of every key.
#define ENG_CACHE_VERSION 1
/// What a cache key is computed from. All borrowed.
struct eng_cache_input {
  const char *kind;          ///< "run", "fit", ...
  const char *spec_json;     ///< dsl_node_to_json of the interpolated spec
  const char *pipeline_dir;  ///< absolute; relative paths resolve against it
  const char *state_dir;     ///< absolute; s3:// of the local target lives in its store/
  const char *target;        ///< "local" | "aws"
  const char *hooks_path;    ///< the hooks file, or NULL
  /// JSON object {URI: SHA256} of objects whose digest is known without
  /// reading them: the `uri` and `sha256` outputs of the run's upload steps
  /// (content-addressed, so never rewritten). NULL: none. On the aws target an
  /// s3:// URI of the spec that is not listed here has no digest.
  const char *known_json;
};
/// Compute the key (64 hex digits + NUL) from in. Blocking (hashes files): call it
/// on the thread pool, or from a command that owns no loop. SMF_EUNSUPPORTED with
/// *unknown (caller frees) when an input has no digest: no cache hit possible.
int eng_cache_key(const struct eng_cache_input *in, char key[65], char **unknown);
/// The hooks file of p as an absolute path, or NULL. Caller frees.
char *eng_hooks_path(const struct dsl_pipeline *p);
/// The run's target ("local" | "aws").
const char *eng_target(const struct eng *e);
/// For a READY step with `cache:` on that was not looked up yet: evaluate when:,
/// interpolate, and look the key up on the thread pool. true: the step is taken
/// care of (a lookup is under way, or it ended); false: prepare it as usual.
bool eng_cache_begin(struct eng_step *s);
/// The known_json of eng_cache_input for the steps of e that succeeded (caller
/// frees), or NULL when there are none.
char *eng_cache_known(const struct eng *e);
/// After a success: remember the result under the step's key (if any).
void eng_cache_store(struct eng_step *s);
