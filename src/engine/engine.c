// engine.c: setting up a run (new or resumed) on one uv loop, signals, the
// per-turn flush of the state batch, and the run's outcome.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng_int.h"
#include "smflow/crypto_lib.h"
#include "smflow/dag.h"
#include "smflow/hash.h"
#include "smflow/log.h"
#include "smflow/module.h"
#include "target/target.h"

// ---- options, persisted with the run so that resume selects the same steps ----

static char *eng__options_json(const struct eng_options *o)
{
  json_t *j = json_object();
  json_t *only = json_array();
  for (size_t i = 0; i < o->n_only; i++) {
    json_array_append_new(only, json_string(o->only[i]));
  }
  json_object_set_new(j, "only", only);
  json_object_set_new(j, "from", o->from ? json_string(o->from) : json_null());
  json_object_set_new(j, "max_parallel", json_integer(o->max_parallel));
  json_object_set_new(j, "target", o->target ? json_string(o->target) : json_null());
  json_t *params = json_array();
  for (size_t i = 0; i < o->n_params; i++) {
    json_array_append_new(params, json_pack("[s,s]", o->params[i].name, o->params[i].value));
  }
  json_object_set_new(j, "params", params);
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return t;
}

int eng_options_from_json(const char *text, struct smf_arena *a, struct eng_options *o,
                          struct smf_error *err)
{
  memset(o, 0, sizeof(*o));
  json_error_t je;
  json_t *j = json_loads(text ? text : "{}", 0, &je);
  if (j == NULL || !json_is_object(j)) {
    json_decref(j);
    return SMF_ERR_SET(err, SMF_ESTATE, "stored run options: %s", je.text);
  }
  json_t *only = json_object_get(j, "only");
  size_t n = json_array_size(only);
  const char **ids = smf_arena_alloc(a, (n + 1) * sizeof(*ids));
  for (size_t i = 0; i < n; i++) {
    ids[i] = smf_arena_strdup(a, json_string_value(json_array_get(only, i)));
  }
  o->only = ids;
  o->n_only = n;
  const char *from = json_string_value(json_object_get(j, "from"));
  o->from = from ? smf_arena_strdup(a, from) : NULL;
  const char *target = json_string_value(json_object_get(j, "target"));
  o->target = target ? smf_arena_strdup(a, target) : NULL;
  o->max_parallel = (int)json_integer_value(json_object_get(j, "max_parallel"));
  json_t *params = json_object_get(j, "params");
  n = json_array_size(params);
  struct dsl_param_override *ov = smf_arena_alloc(a, (n + 1) * sizeof(*ov));
  for (size_t i = 0; i < n; i++) {
    json_t *pair = json_array_get(params, i);
    ov[i].name = smf_arena_strdup(a, json_string_value(json_array_get(pair, 0)));
    ov[i].value = smf_arena_strdup(a, json_string_value(json_array_get(pair, 1)));
  }
  o->params = ov;
  o->n_params = n;
  json_decref(j);
  return 0;
}

int eng_options_check(const struct dsl_pipeline *p, const struct eng_options *o,
                      struct smf_error *err)
{
  for (size_t i = 0; i < o->n_only + (o->from ? 1 : 0); i++) {
    const char *id = i < o->n_only ? o->only[i] : o->from;
    if (dsl_pipeline_step(p, id) == NULL) {
      return SMF_ERR_SET(err, SMF_EVALIDATE, "%s: no step '%s' in the pipeline",
                         i < o->n_only ? "--only" : "--from", id);
    }
  }
  if (o->max_parallel < 0) {
    return SMF_ERR_SET(err, SMF_EVALIDATE, "--max-parallel must be a positive number");
  }
  return 0;
}

// ---- loop handles ----

// The turn's writes are committed when the loop is about to wait. A turn that
// does not wait (a zero-delay timer, the idle pump, a handle closing, the loop
// ending) runs the next callbacks at once, and their writes join the same
// commit: a step's end and the next step's start, or a chain of calls answered
// on the next turn, cost one sync instead of one per turn. Bounded: a deferred
// batch is committed by flush_timer after ENG_FLUSH_DEFER_MS at the latest
// (uv_backend_timeout also answers 0 when fd watchers are waiting to be
// registered, a turn that may then block). Writes a side effect depends on are
// committed explicitly before it (the pump's intents, synchronous intents), so
// deferring only ever delays the commit of a result or a log.
#define ENG_FLUSH_DEFER_MS 20

static void eng__flush_now(struct eng *e)
{
  e->flush_deferred_at = 0;
  uv_timer_stop(&e->flush_timer);
  struct smf_error err = SMF_ERROR_INIT;
  if (!e->fatal && state_flush(e->st, &err) != 0) {
    eng_fatal(e, &err);
  }
}

static void eng__flush_timer_cb(uv_timer_t *t)
{
  eng__flush_now(t->data);
}

static void eng__flush_cb(uv_prepare_t *h)
{
  struct eng *e = h->data;
  uint64_t now = uv_now(h->loop);
  if (uv_backend_timeout(h->loop) == 0 && !e->fatal) {
    if (e->flush_deferred_at == 0) {
      e->flush_deferred_at = now ? now : 1;
      uv_timer_start(&e->flush_timer, eng__flush_timer_cb, ENG_FLUSH_DEFER_MS, 0);
    }
    if (now - e->flush_deferred_at < ENG_FLUSH_DEFER_MS) {
      return;
    }
  }
  eng__flush_now(e);
}

static void eng__signal_cb(uv_signal_t *h, int signum)
{
  struct eng *e = h->data;
  e->interrupts++;
  if (e->interrupts == 1) {
    smf_log(SMF_LOG_WARN,
            "%s: stopping run %s (no new step starts; training and processing jobs "
            "are left running for resume; press Ctrl-C again to exit at once)",
            strsignal(signum), e->run_id);
    eng_stop(e, false);
    return;
  }
  eng_stop(e, true);
  struct smf_error err = SMF_ERROR_INIT;
  if (!e->fatal) {
    state_sync(e->st, &err);
  }
  fprintf(stderr,
          "run %s interrupted; resume with: smflow resume %s (or stop it: smflow cancel %s)\n",
          e->run_id, e->run_id, e->run_id);
  fflush(NULL);
  _exit(ENG_INTERRUPTED);
}

static void eng__close_cb(uv_handle_t *h)
{
  (void)h;
}

void eng_finish(struct eng *e)
{
  if (e->finishing) {
    return;
  }
  e->finishing = true;
  uv_close((uv_handle_t *)&e->flush_handle, eng__close_cb);
  uv_close((uv_handle_t *)&e->flush_timer, eng__close_cb);
  uv_close((uv_handle_t *)&e->pump_handle, eng__close_cb);
  uv_close((uv_handle_t *)&e->sigint, eng__close_cb);
  uv_close((uv_handle_t *)&e->sigterm, eng__close_cb);
  for (size_t i = 0; i < e->n; i++) {
    uv_close((uv_handle_t *)&e->steps[i].retry_timer, eng__close_cb);
    uv_close((uv_handle_t *)&e->steps[i].timeout_timer, eng__close_cb);
  }
  target_close(e->target);  // its client closes in the loop's remaining run
}

// ---- setup and teardown ----

// smflow.log() and print() from hooks and expressions: the step's prefix on
// stderr, and the line kept in the step's log when an attempt has one open.
static void eng__lua_log(void *ud, const char *step_id, const char *msg)
{
  struct eng *e = ud;
  const struct dsl_step *def = step_id ? dsl_pipeline_step(e->p, step_id) : NULL;
  if (def == NULL) {
    smf_log(SMF_LOG_INFO, "%s", msg);
    return;
  }
  struct eng_step *s = &e->steps[def->index];
  if (s->preparing) {  // the attempt's log is not open yet: kept until it is
    smf_buf_printf(&s->early_log, "%s\n", msg);
  } else if (s->ctx.log_fd >= 0) {
    dprintf(s->ctx.log_fd, "%s\n", msg);
  }
  smf_log_step(SMF_LOG_INFO, step_id, "%s", msg);
}

// --only / --from: the run's dag_run selects; unknown ids select nothing.
static void eng__select(struct eng *e)
{
  if (e->opt.n_only > 0) {
    size_t *idx = smf_xcalloc(e->opt.n_only, sizeof(*idx));
    size_t n = 0;
    for (size_t k = 0; k < e->opt.n_only; k++) {
      const struct dsl_step *d = dsl_pipeline_step(e->p, e->opt.only[k]);
      if (d) {
        idx[n++] = d->index;
      }
    }
    dag_run_only(e->run, idx, n);
    free(idx);
  }
  if (e->opt.from) {
    const struct dsl_step *d = dsl_pipeline_step(e->p, e->opt.from);
    if (d) {
      dag_run_from(e->run, d->index);
    } else if (e->opt.n_only == 0) {
      dag_run_only(e->run, NULL, 0);
    }
  }
}

static const char *eng__target_name(const struct eng *e)
{
  return e->opt.target ? e->opt.target : e->p->target ? e->p->target : "local";
}

// On the aws target, fit, evaluate and deploy need the pipeline's execution
// role (CreateTrainingJob, CreateProcessingJob, CreateModel): without one every
// attempt would fail the same way, so the run is refused before it starts
// (before the target is made: nothing is asked of AWS).
static int eng__role_check(struct eng *e, struct smf_error *err)
{
  const struct dsl_pipeline *p = e->p;
  if (p->role != NULL || strcmp(eng__target_name(e), "aws") != 0) {
    return 0;
  }
  for (size_t i = 0; i < e->n; i++) {
    enum dsl_kind k = p->steps[i].kind;
    bool selected = dag_run_state(e->run, i) != DAG_EXCLUDED;
    if (selected && (k == DSL_KIND_FIT || k == DSL_KIND_EVALUATE || k == DSL_KIND_DEPLOY)) {
      return SMF_ERR_SET(
          err, SMF_EVALIDATE,
          "%s: step '%s' (%s) needs an execution role on the aws target: set `role:` "
          "in the pipeline",
          p->path, p->steps[i].id, dsl_kind_name(k));
    }
  }
  return 0;
}

// The run's target. A failure is not fatal here: eng__init refuses the run
// when a selected step needs the target; run and lua steps work without it.
static void eng__target_new(struct eng *e)
{
  char *abs = realpath(state_dir(e->st), NULL);
  struct target_config cfg = {.loop = &e->loop,
                              .state_dir = abs ? abs : state_dir(e->st),
                              .base_dir = e->p->dir,
                              .region = e->p->region,
                              .state = e->st,
                              .role = e->p->role};
  const char *name = eng__target_name(e);
  struct smf_error err = SMF_ERROR_INIT;
  if (target_new(name, &cfg, &e->target, &err) != 0) {
    e->target = NULL;
    snprintf(e->target_error, sizeof(e->target_error), "%s", err.message);
  }
  // Side effects that die with this machine (local processes) need no sync of
  // their intents: a power loss ends them too, and a killed smflow loses no
  // commit (they are in the WAL). The run syncs once at its end.
  if (e->target != NULL && !e->target->vt->outlives_host) {
    state_set_sync(e->st, STATE_SYNC_CLOSE);
  }
  free(abs);
}

static int eng__init(struct eng *e, struct state *st, const struct dsl_pipeline *p,
                     const struct eng_options *opt, struct smf_error *err)
{
  memset(e, 0, sizeof(*e));
  e->st = st;
  e->p = p;
  e->opt = *opt;
  e->n = p->n_steps;
  e->max_parallel = opt->max_parallel > 0 ? opt->max_parallel
                    : p->concurrency > 0  ? p->concurrency
                                          : 8;
  e->kill_grace_ms = opt->kill_grace_ms > 0 ? opt->kill_grace_ms : 5000;
  srandom((unsigned)getpid() ^ (unsigned)smf_time_now_ms());
  struct lx_config cfg = {0};
  cfg.lua_path = access(SMF_SOURCE_LUA_DIR, F_OK) == 0 ? SMF_SOURCE_LUA_DIR : SMF_LUA_DIR;
  eng_hooks_lx_config(&cfg);
  if ((e->lx = lx_new(&cfg, err)) == NULL) {
    return err->code ? err->code : SMF_ELUA;
  }
  lx_set_log_fn(e->lx, eng__lua_log, e);
  if (p->hooks) {
    char *path =
        p->hooks[0] == '/' ? smf_xstrdup(p->hooks) : smf_xasprintf("%s/%s", p->dir, p->hooks);
    int rc = lx_load_hooks(e->lx, path, err);
    free(path);
    if (rc != 0) {
      return rc;
    }
  }
  int hrc = eng_hooks_init(e, err);
  if (hrc != 0) {
    return hrc;
  }
  e->dag = dag_new(e->n);
  for (size_t i = 0; i < e->n; i++) {
    for (size_t k = 0; k < p->steps[i].n_needs; k++) {
      dag_add_edge(e->dag, p->steps[i].need_idx[k], i);
    }
  }
  size_t *cycle = NULL, cycle_len = 0;
  if (dag_finalize(e->dag, &cycle, &cycle_len) != 0) {
    free(cycle);
    return SMF_ERR_SET(err, SMF_EVALIDATE, "%s: the steps form a cycle", p->path);
  }
  e->run = dag_run_new(e->dag);
  eng__select(e);
  if (eng__role_check(e, err) != 0) {
    return err->code;
  }
  uv_loop_init(&e->loop);
  eng__target_new(e);
  e->steps = smf_xcalloc(e->n ? e->n : 1, sizeof(*e->steps));
  e->queue = smf_xcalloc(e->n ? e->n : 1, sizeof(*e->queue));
  e->batch = smf_xcalloc(e->n ? e->n : 1, sizeof(*e->batch));
  for (size_t i = 0; i < e->n; i++) {
    struct eng_step *s = &e->steps[i];
    s->eng = e;
    s->def = &p->steps[i];
    s->kind = step_kind_find(s->def->kind);
    s->selected = dag_run_state(e->run, i) != DAG_EXCLUDED;
    s->ctx.log_fd = -1;
    uv_timer_init(&e->loop, &s->retry_timer);
    uv_timer_init(&e->loop, &s->timeout_timer);
    s->retry_timer.data = s->timeout_timer.data = s;
  }
  uv_prepare_init(&e->loop, &e->flush_handle);
  uv_timer_init(&e->loop, &e->flush_timer);
  e->flush_timer.data = e;
  uv_idle_init(&e->loop, &e->pump_handle);
  uv_signal_init(&e->loop, &e->sigint);
  uv_signal_init(&e->loop, &e->sigterm);
  e->flush_handle.data = e->pump_handle.data = e->sigint.data = e->sigterm.data = e;
  uv_prepare_start(&e->flush_handle, eng__flush_cb);
  uv_signal_start(&e->sigint, eng__signal_cb, SIGINT);
  uv_signal_start(&e->sigterm, eng__signal_cb, SIGTERM);
  if (e->target == NULL) {
    // An environment problem (no region, no credentials, an unreadable config
    // file, the account not reachable): exit 4 before any step starts when a
    // selected step needs the target (run and lua steps do not).
    for (size_t i = 0; i < e->n; i++) {
      enum dsl_kind k = p->steps[i].kind;
      if (e->steps[i].selected && k != DSL_KIND_RUN && k != DSL_KIND_LUA) {
        return SMF_ERR_SET(err, SMF_ECREDS, "target '%s' cannot be used (step '%s' needs it): %s",
                           eng__target_name(e), p->steps[i].id, e->target_error);
      }
    }
  }
  return 0;
}

static void eng__walk_close(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h)) {
    uv_close(h, eng__close_cb);
  }
}

static void eng__free(struct eng *e)
{
  if (e->steps) {
    if (!e->finishing) {
      eng_finish(e);
    }
    target_close(e->target);  // before its handles are closed for it
    uv_walk(&e->loop, eng__walk_close, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    target_free(e->target);
    e->target = NULL;
    if (uv_loop_close(&e->loop) != 0) {
      smf_log(SMF_LOG_WARN, "internal: the event loop still had open handles at the end");
    }
  }
  for (size_t i = 0; e->steps && i < e->n; i++) {
    struct eng_step *s = &e->steps[i];
    free(s->resume_intent);
    free(s->outputs_json);
    eng_objects_drop(s);
    free(s->remote_name);
    free(s->err_message);
    free(s->log_path);
    smf_buf_free(&s->early_log);
    free(s->cache_key);
    free(s->cache_spec);
    free(s->cached_from);
    smf_arena_free(&s->arena);
  }
  free(e->steps);
  free(e->queue);
  free(e->batch);
  dag_run_free(e->run);
  if (e->dag) {
    dag_free(e->dag);
  }
  lx_free(e->lx);
  smf_arena_free(&e->arena);
}

// Steps outside --only/--from: skipped, with the outputs of their newest success
// in this state directory, so that `${steps.X.key}` still resolves.
static int eng__mark_unselected(struct eng *e, struct eng_step *s, struct smf_error *err)
{
  char *json = NULL;
  struct smf_error lerr = SMF_ERROR_INIT;
  int rc = state_step_last_outputs(e->st, e->p->name, s->def->id, &json, &lerr);
  if (rc == 0) {
    struct dsl_node *out = eng_json_to_node(&e->arena, json, err);
    if (out == NULL || lx_set_step_outputs(e->lx, s->def->id, out, err) != 0) {
      free(json);
      return err->code ? err->code : SMF_ESTATE;
    }
    s->outputs_json = json;
  } else if (rc != SMF_ENOENT) {
    *err = lerr;
    return rc;
  }
  s->err_message =
      smf_xstrdup(rc == 0 ? "not selected; outputs of an earlier run" : "not selected");
  eng_step_transition(s, STEP_SKIPPED);
  return 0;
}

// The http module (libcurl) is loaded on first use, on the thread that uses
// it: for a deploy's smoke test or a lua step's request, the loop thread. A run
// with such steps loads it on the thread pool instead: at once when one of them
// is ready to start (ready_only: the first wave), else with the background work.
static void eng__preload(struct eng *e, bool ready_only)
{
  for (size_t i = 0; i < e->n && !e->http_preloaded; i++) {
    const struct eng_step *s = &e->steps[i];
    if (s->selected && s->kind != NULL && (!ready_only || s->state == STEP_READY) &&
        (strcmp(s->kind->name, "deploy") == 0 || strcmp(s->kind->name, "lua") == 0)) {
      smf_module_preload(&e->loop, "http");
      e->http_preloaded = true;
    }
  }
}

// The kinds' prepare hooks, once, for every step not started yet (a step of
// the first wave started without; step_kind.prepare).
static void eng__prepare_steps(struct eng *e)
{
  for (size_t i = 0; i < e->n; i++) {
    struct eng_step *s = &e->steps[i];
    bool waiting = s->state == STEP_PENDING || s->state == STEP_READY;
    if (s->kind && s->kind->prepare && s->selected && waiting && !s->resuming) {
      s->kind->prepare(&(struct step_prepare){.loop = &e->loop,
                                              .run_id = e->run_id,
                                              .step_id = s->def->id,
                                              .state_dir = state_dir(e->st),
                                              .pipeline_dir = e->p->dir,
                                              .def = s->def});
    }
  }
}

// The http module's preload and the prepare hooks (packing code) are work
// for the thread pool that no step of the first wave waits for: queued once
// the first pump has started the first wave (the idle phase of the loop's
// first turn), after the loop's first wait, so that the first steps' own work
// (a run step's spawn) has the pool and the CPU first. Any later step starts
// in a later pump.
static void eng__background_cb(uv_check_t *h)
{
  struct eng *e = h->data;
  uv_check_stop(h);
  if (!e->stopping && !e->finishing) {
    eng__preload(e, false);
    eng__prepare_steps(e);
  }
}

// Run the loop to the end and turn what happened into an outcome.
static int eng__loop(struct eng *e, struct smf_error *err)
{
  eng_hooks_record(e);
  uv_check_init(&e->loop, &e->background_handle);
  e->background_handle.data = e;
  uv_check_start(&e->background_handle, eng__background_cb);
  if (eng_sched_begin(e) != 0) {
    step_prepare_release(e->run_id);
    SMF_ERR_SET(err, SMF_ESTATE, "internal: the run's steps could not be scheduled");
    return ENG_ENV_ERROR;
  }
  eng__preload(e, true);  // a deploy or lua step of the first wave needs it first
  uv_run(&e->loop, UV_RUN_DEFAULT);
  // SMFLOW_STATS (with cli_run_stats): when the last step ended, to the
  // microsecond (the database records milliseconds); bench_quickstart.sh ends
  // the model server's share of a run there.
  if (getenv("SMFLOW_STATS") != NULL && e->last_final_us > 0) {
    fprintf(stderr, "stats: last_step_end_us=%lld\n", (long long)e->last_final_us);
  }
  step_prepare_release(e->run_id);
  int outcome = ENG_SUCCEEDED;
  const char *status = "succeeded";
  bool failed = false;
  for (size_t i = 0; i < e->n; i++) {
    failed = failed || e->steps[i].state == STEP_FAILED;
  }
  if (e->fatal) {
    *err = e->fatal_err;
    outcome = ENG_ENV_ERROR;
    status = "interrupted";
  } else if (e->finished < e->n) {
    outcome = ENG_INTERRUPTED;
    status = "interrupted";
  } else if (failed) {
    outcome = ENG_FAILED;
    status = "failed";
  }
  if (outcome == ENG_SUCCEEDED || outcome == ENG_FAILED) {
    eng_hook_run_end(e, status);
  }
  struct smf_error serr = SMF_ERROR_INIT;
  if (!e->fatal && (state_run_set_status(e->st, e->run_id, status, outcome, &serr) != 0 ||
                    state_flush(e->st, &serr) != 0)) {
    *err = serr;
    outcome = ENG_ENV_ERROR;
  } else if (!e->fatal && state_sync(e->st, &serr) != 0) {
    // Recorded (a later smflow reads it), but not durable against a power loss.
    SMF_ERR_SET(err, serr.code,
                "run %s %s, but %s: its end is recorded, and lost only if the machine "
                "loses power before the disk is written",
                e->run_id, status, serr.message);
    outcome = ENG_ENV_ERROR;
  }
  return outcome;
}

static int eng__prepare_dirs(struct eng *e, struct smf_error *err)
{
  char *logs = smf_xasprintf("%s/logs/%s", state_dir(e->st), e->run_id);
  int rc = smf_mkdir_p(logs, err);
  free(logs);
  return rc;
}

int eng_run(struct state *st, const struct dsl_pipeline *p, const struct eng_options *opt,
            char run_id[32], struct smf_error *err)
{
  struct eng e;
  int rc = eng__init(&e, st, p, opt, err);
  if (rc != 0) {
    eng__free(&e);
    return rc == SMF_EVALIDATE || rc == SMF_ELUA ? SMF_EVALIDATE : ENG_ENV_ERROR;
  }
  // libcrypto is loaded by the warm-up thread (smf_hash_warm_start) while
  // the pipeline is parsed; the run's digests need it. Without it no run is
  // recorded.
  if (smf_crypto_load(err) != 0) {
    eng__free(&e);
    return ENG_ENV_ERROR;
  }
  if (opt->run_id) {
    snprintf(e.run_id, sizeof(e.run_id), "%s", opt->run_id);
  } else {
    eng_run_id_new(e.run_id);
  }
  if (run_id) {
    memcpy(run_id, e.run_id, sizeof(e.run_id));
  }
  char *globals = eng_globals_json(&e);
  char *options = eng__options_json(opt);
  char *abs = realpath(p->path, NULL);
  // The first digest of the process: libcrypto was loaded meanwhile on the
  // warm-up thread, which is joined before any fork.
  char sha256[65];
  dsl_pipeline_sha256(p, sha256);
  smf_hash_warm_wait();
  struct state_run row = {.id = e.run_id,
                          .pipeline_path = abs ? abs : (char *)p->path,
                          .pipeline_sha256 = sha256,
                          .name = (char *)p->name,
                          .target = (char *)(opt->target ? opt->target
                                             : p->target ? p->target
                                                         : "local"),
                          .globals_json = globals,
                          .options_json = options};
  char *params = NULL;
  {
    struct smf_arena a = SMF_ARENA_INIT;
    struct dsl_node *m = dsl_node_new(&a, DSL_MAP);
    for (size_t i = 0; i < p->n_params; i++) {
      dsl_map_set(&a, m, p->params[i].name, (struct dsl_node *)p->params[i].value);
    }
    params = dsl_node_to_json(m);
    smf_arena_free(&a);
  }
  row.params_json = params;
  rc = state_run_create(st, &row, err);
  free(abs);
  free(options);
  free(params);
  // The run's row is committed with the first steps' intents, before anything
  // starts; only a caller waiting to hear that the run exists needs it now.
  if (rc == 0 && opt->on_started) {
    rc = state_flush(st, err);
  }
  if (rc == 0 && (rc = eng__prepare_dirs(&e, err)) == 0) {
    if (opt->on_started) {
      opt->on_started(opt->on_started_ud, e.run_id);
    }
    smf_log(SMF_LOG_INFO, "run %s of %s (%zu step%s, at most %d at a time)", e.run_id, p->name,
            p->n_steps, p->n_steps == 1 ? "" : "s", e.max_parallel);
    if ((rc = eng_globals_init(&e, globals, NULL, err)) != 0) {
      // A vars expression failed: nothing was started.
      state_run_set_status(st, e.run_id, "failed", 2, NULL);
      state_flush(st, NULL);
      rc = SMF_EVALIDATE;
    }
  }
  free(globals);
  for (size_t i = 0; rc == 0 && i < e.n; i++) {
    if (!e.steps[i].selected) {
      rc = eng__mark_unselected(&e, &e.steps[i], err);
    } else {
      eng_step_persist(&e.steps[i]);  // every step is listed by status from the start
    }
  }
  if (rc == 0) {
    rc = eng__loop(&e, err);
  } else if (rc != SMF_EVALIDATE) {
    rc = ENG_ENV_ERROR;
  }
  eng__free(&e);
  return rc;
}

// Bring one step back from its row: succeeded/skipped stay; an attempt left
// without a result is reconciled by its kind; everything else runs again.
static int eng__restore_step(struct eng *e, struct eng_step *s, const struct state_step *row,
                             struct smf_error *err)
{
  int st = eng_state_parse(row->state);
  s->attempts = row->attempts;
  s->started_ms = row->started_ms;
  free(s->remote_name);
  s->remote_name = row->remote_name ? smf_xstrdup(row->remote_name) : NULL;
  if (st == STEP_SUCCEEDED || st == STEP_SKIPPED) {
    s->state = (enum step_state)st;
    s->finished_ms = row->finished_ms;
    e->finished++;
    s->err_message = row->error_message ? smf_xstrdup(row->error_message) : NULL;
    if (st == STEP_SUCCEEDED || row->outputs_json) {
      s->outputs_json = smf_xstrdup(row->outputs_json ? row->outputs_json : "{}");
      struct dsl_node *out = eng_json_to_node(&e->arena, s->outputs_json, err);
      if (out == NULL || lx_set_step_outputs(e->lx, s->def->id, out, err) != 0) {
        return err->code ? err->code : SMF_ESTATE;
      }
    }
    return 0;
  }
  s->state = STEP_PENDING;
  // What is left of the retry budget: a step stopped while it waited to retry
  // (or ran a retry) keeps its failures; a failed one starts afresh.
  int rc = state_step_budget_failures(e->st, e->run_id, s->def->id, &s->failures, err);
  if (rc != 0 || st != STEP_RUNNING) {
    return rc;
  }
  struct state_attempt *att = NULL;
  size_t n = 0;
  rc = state_attempts_list(e->st, e->run_id, s->def->id, &att, &n, err);
  if (rc != 0) {
    return rc;
  }
  if (n > 0 && att[n - 1].result == NULL && s->kind && s->kind->resume) {
    s->resuming = true;
    s->resume_attempt = att[n - 1].attempt;
    s->resume_intent = smf_xstrdup(att[n - 1].intent_json);
  }
  state_attempts_free(att, n);
  return 0;
}

// A step of the run that the (changed, --allow-changed) file no longer has: if
// it had not finished, it never will; it is recorded cancelled, so that status
// agrees with the run's result. Finished steps keep their row.
static int eng__restore_removed(struct eng *e, struct state_step *row, struct smf_error *err)
{
  int st = eng_state_parse(row->state);
  if (st == STEP_SUCCEEDED || st == STEP_SKIPPED || st == STEP_CANCELLED) {
    return 0;
  }
  char detail[96];
  snprintf(detail, sizeof(detail), "{\"from\":\"%s\",\"to\":\"cancelled\",\"attempt\":%d}",
           row->state, row->attempts);
  free(row->state);
  row->state = smf_xstrdup("cancelled");
  free(row->error_class);
  row->error_class = NULL;
  free(row->error_message);
  row->error_message = smf_xstrdup("removed from the pipeline file");
  if (row->finished_ms == 0) {
    row->finished_ms = smf_time_now_ms();
  }
  smf_log_step(SMF_LOG_WARN, row->id, "cancelled: removed from the pipeline file");
  int rc = state_step_put(e->st, row, err);
  return rc != 0 ? rc : state_event_add(e->st, e->run_id, row->id, "state", detail, err);
}

static int eng__restore(struct eng *e, struct smf_error *err)
{
  struct state_step *rows = NULL;
  size_t n = 0;
  int rc = state_steps_list(e->st, e->run_id, &rows, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const struct dsl_step *def = dsl_pipeline_step(e->p, rows[i].id);
    if (def == NULL) {
      rc = eng__restore_removed(e, &rows[i], err);  // removed from the file (--allow-changed)
      continue;
    }
    rc = eng__restore_step(e, &e->steps[def->index], &rows[i], err);
  }
  state_steps_free(rows, n);
  return rc;
}

int eng_resume(struct state *st, const struct dsl_pipeline *p, const struct state_run *run,
               bool json, struct smf_error *err)
{
  struct smf_arena oa = SMF_ARENA_INIT;
  struct eng_options opt;
  int rc = eng_options_from_json(run->options_json, &oa, &opt, err);
  opt.json = json;
  struct eng e;
  memset(&e, 0, sizeof(e));
  if (rc == 0) {
    rc = eng__init(&e, st, p, &opt, err);
  }
  if (rc == 0) {
    snprintf(e.run_id, sizeof(e.run_id), "%s", run->id);
    rc = eng__prepare_dirs(&e, err);
  }
  if (rc == 0) {
    rc = eng_globals_init(&e, run->globals_json, run->vars_json ? run->vars_json : "{}", err);
  }
  if (rc == 0) {
    rc = eng__restore(&e, err);
  }
  if (rc == 0) {
    rc = eng_objects_check(&e, err);  // objects a power loss may have cut short
  }
  if (rc == 0) {
    state_event_add(st, e.run_id, NULL, "resume", NULL, NULL);
    rc = state_run_set_status(st, e.run_id, "running", -1, err);
  }
  if (rc == 0) {
    smf_log(SMF_LOG_INFO, "resuming run %s of %s (%zu of %zu steps already finished)", e.run_id,
            p->name, e.finished, e.n);
    rc = eng__loop(&e, err);
  } else {
    rc = ENG_ENV_ERROR;
  }
  eng__free(&e);
  smf_arena_free(&oa);
  return rc;
}
