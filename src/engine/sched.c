// sched.c: the step state machine and the scheduler — ready queue,
// concurrency limit, retries with full-jitter backoff, timeouts, stopping.
// Readiness, skip propagation and failure blocking are the run's dag_run's
// (src/dag/ready.c); this file records what it decides. Only eng_step_transition changes a state:
// it persists (batched, flushed before any side effect), then logs, and its
// callers then notify dependants.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng_int.h"
#include "smflow/dag.h"
#include "smflow/log.h"

static const char *const eng__state_names[STEP__COUNT] = {
    "pending", "ready", "running", "retry_wait", "succeeded", "failed", "skipped", "cancelled",
};

const char *eng_state_name(enum step_state s)
{
  return eng__state_names[s];
}

int eng_state_parse(const char *name)
{
  for (int i = 0; i < STEP__COUNT; i++) {
    if (strcmp(eng__state_names[i], name) == 0) {
      return i;
    }
  }
  return -1;
}

static bool eng__final(enum step_state s)
{
  return s == STEP_SUCCEEDED || s == STEP_FAILED || s == STEP_SKIPPED || s == STEP_CANCELLED;
}

bool eng_done(const struct eng *e)
{
  return e->finished == e->n || (e->stopping && e->running == 0);
}

void eng_fatal(struct eng *e, const struct smf_error *err)
{
  if (e->fatal) {
    return;
  }
  e->fatal = true;
  e->fatal_err = *err;
  smf_log(SMF_LOG_ERROR, "%s; stopping the run", err->message);
  eng_stop(e, true);
}

static void eng__json_line(struct eng_step *s, enum step_state to)
{
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "event", "step", "run_id", s->eng->run_id,
                        "step", s->def->id, "state", eng_state_name(to), "attempt", s->attempts,
                        "ts", (json_int_t)smf_time_now_ms());
  if (to == STEP_SUCCEEDED && s->outputs_json) {
    json_object_set_new(j, "outputs", json_loads(s->outputs_json, JSON_DECODE_ANY, NULL));
  }
  if (to == STEP_SUCCEEDED && s->cached_from) {
    json_object_set_new(j, "cached_from", json_string(s->cached_from));
  }
  if (s->err_message &&
      (to == STEP_FAILED || to == STEP_RETRY_WAIT || to == STEP_SKIPPED || to == STEP_CANCELLED)) {
    json_object_set_new(j, "error",
                        json_pack("{s:s, s:s}", "class", smf_errclass_name(s->err_class), "message",
                                  s->err_message));
  }
  char *text = json_dumps(j, JSON_COMPACT);
  printf("%s\n", text);
  fflush(stdout);
  free(text);
  json_decref(j);
}

static void eng__log_transition(struct eng_step *s, enum step_state to)
{
  const char *id = s->def->id;
  char dur[32];
  switch (to) {
  case STEP_RUNNING:
    if (s->resuming) {  // an attempt of the previous smflow, found again
      smf_log_step(SMF_LOG_INFO, id, "re-attaching to attempt %d", s->resume_attempt);
    } else {
      smf_log_step(SMF_LOG_INFO, id, "started (attempt %d)", s->attempts);
    }
    break;
  case STEP_SUCCEEDED:
    smf_log_step(SMF_LOG_INFO, id, "succeeded in %s",
                 smf_duration_format(s->finished_ms - s->started_ms, dur, sizeof(dur)));
    break;
  case STEP_FAILED:
    smf_log_step(SMF_LOG_ERROR, id, "failed after %d attempt%s: %s%s%s", s->failures,
                 s->failures == 1 ? "" : "s", smf_errclass_name(s->err_class),
                 s->err_class ? ": " : "", s->err_message ? s->err_message : "");
    break;
  case STEP_SKIPPED:
    smf_log_step(SMF_LOG_INFO, id, "skipped (%s)", s->err_message ? s->err_message : "");
    break;
  case STEP_CANCELLED:
    smf_log_step(SMF_LOG_WARN, id, "not started: %s", s->err_message ? s->err_message : "");
    break;
  default:
    smf_log_step(SMF_LOG_DEBUG, id, "%s", eng_state_name(to));
    break;
  }
}

static void eng__persist(struct eng_step *s, enum step_state from)
{
  struct eng *e = s->eng;
  enum step_state to = s->state;
  if (e->fatal) {
    return;
  }
  struct smf_error err = SMF_ERROR_INIT;
  bool has_err = to == STEP_FAILED || to == STEP_RETRY_WAIT || to == STEP_SKIPPED ||
                 to == STEP_CANCELLED || to == STEP_PENDING;
  struct state_step row = {
      .run_id = e->run_id,
      .id = (char *)s->def->id,
      .kind = (char *)dsl_kind_name(s->def->kind),
      .state = (char *)eng_state_name(to),
      .attempts = s->attempts,
      .started_ms = s->started_ms,
      .finished_ms = s->finished_ms,
      .outputs_json = s->outputs_json,
      .error_class = has_err && s->err_class ? (char *)smf_errclass_name(s->err_class) : NULL,
      .error_message = has_err ? s->err_message : NULL,
      .remote_name = s->remote_name,
      .seq = (int64_t)s->def->index};
  char detail[64];
  snprintf(detail, sizeof(detail), "{\"from\":\"%s\",\"to\":\"%s\",\"attempt\":%d}",
           eng_state_name(from), eng_state_name(to), s->attempts);
  if (state_step_put(e->st, &row, &err) != 0 ||
      state_event_add(e->st, e->run_id, s->def->id, "state", detail, &err) != 0) {
    eng_fatal(e, &err);
  }
}

void eng_step_persist(struct eng_step *s)
{
  eng__persist(s, s->state);
}

void eng_step_transition(struct eng_step *s, enum step_state to)
{
  struct eng *e = s->eng;
  enum step_state from = s->state;
  int64_t now = smf_time_now_ms();
  if (eng__final(to) && !eng__final(from)) {
    e->finished++;
    s->finished_ms = now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    e->last_final_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
  } else if (!eng__final(to) && eng__final(from)) {
    e->finished--;
    s->finished_ms = 0;
  }
  if (to == STEP_RUNNING && s->started_ms == 0) {
    s->started_ms = now;
  }
  s->state = to;
  eng__persist(s, from);
  eng__log_transition(s, to);
  if (e->opt.json) {
    eng__json_line(s, to);
  }
}

static void eng__set_message(struct eng_step *s, enum smf_errclass klass, const char *msg)
{
  free(s->err_message);
  s->err_message = msg ? smf_xstrdup(msg) : NULL;
  s->err_class = klass;
}

static void eng__pump_cb(uv_idle_t *h)
{
  eng_pump(h->data);
}

void eng_schedule(struct eng *e)
{
  uv_idle_start(&e->pump_handle, eng__pump_cb);
}

void eng_step_enqueue(struct eng_step *s)
{
  struct eng *e = s->eng;
  if (s->in_queue) {
    return;
  }
  s->in_queue = true;
  e->queue[(e->q_head + e->q_len) % e->n] = (size_t)(s - e->steps);
  e->q_len++;
  eng_schedule(e);
}

// ---- readiness: the run's dag_run decides, the engine records ----

// Record what the run decided, in the order it happened: READY steps are
// queued; SKIPPED and CANCELLED steps name the dependency that settled them.
static void eng__apply(struct eng *e, const struct dag_changes *ch)
{
  for (size_t i = 0; i < ch->n_changed; i++) {
    size_t v = ch->changed[i];
    struct eng_step *d = &e->steps[v];
    enum dag_state st = dag_run_state(e->run, v);
    if (st == DAG_READY) {
      eng_step_transition(d, STEP_READY);
      eng_step_enqueue(d);
      continue;
    }
    size_t c = dag_run_cause(e->run, v);
    const struct eng_step *dep = c < e->n ? &e->steps[c] : NULL;
    char msg[200];
    snprintf(msg, sizeof(msg), "upstream step '%s' %s", dep ? dep->def->id : "?",
             st == DAG_SKIPPED                  ? "was skipped"
             : dep && dep->state == STEP_FAILED ? "failed"
                                                : "was not started");
    eng__set_message(d, SMF_CLASS_NONE, msg);
    eng_step_transition(d, st == DAG_SKIPPED ? STEP_SKIPPED : STEP_CANCELLED);
  }
}

int eng_sched_begin(struct eng *e)
{
  int rc = 0;
  for (size_t i = 0; i < e->n && rc == 0; i++) {
    const struct eng_step *s = &e->steps[i];
    if (!s->selected || s->state == STEP_SUCCEEDED) {
      rc = dag_run_premark(e->run, i);  // outside the run: its skip does not propagate
    } else if (s->state == STEP_SKIPPED) {
      rc = dag_run_premark_skipped(e->run, i);
    }
  }
  struct dag_changes ch;
  if (rc == 0 && (rc = dag_run_begin(e->run, &ch)) == 0) {
    eng__apply(e, &ch);
  }
  eng_schedule(e);
  return rc;
}

// The step finished (succeeded, failed, or skipped by `when:`): tell the run.
static void eng__on_final(struct eng_step *s)
{
  struct eng *e = s->eng;
  enum dag_state res = s->state == STEP_SUCCEEDED ? DAG_SUCCEEDED
                       : s->state == STEP_FAILED  ? DAG_FAILED
                       : s->state == STEP_SKIPPED ? DAG_SKIPPED
                                                  : DAG_CANCELLED;
  struct dag_changes ch;
  if (dag_run_done(e->run, (size_t)(s - e->steps), res, &ch) == 0) {
    eng__apply(e, &ch);
  } else {
    smf_log(SMF_LOG_WARN, "internal: step '%s' finished twice", s->def->id);
  }
  eng_schedule(e);
}

// ---- attempts ----

// A problem found before the attempt starts (expression, validation): final,
// not retried, since the same inputs would fail the same way.
static void eng__fail_early(struct eng_step *s, enum smf_errclass klass, const char *msg)
{
  eng__set_message(s, klass, msg);
  eng_step_transition(s, STEP_FAILED);
  eng_hook_on_failure(s);
  eng__on_final(s);
}

static int eng__open_log(struct eng_step *s, struct smf_error *err)
{
  struct eng *e = s->eng;
  free(s->log_path);
  s->log_path = smf_xasprintf("%s/logs/%s/%s.%d.log", state_dir(e->st), e->run_id, s->def->id,
                              s->ctx.attempt);
  s->ctx.log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (s->ctx.log_fd < 0) {
    return SMF_ERR_SET(err, SMF_EIO, "%s: cannot open: %s", s->log_path, strerror(errno));
  }
  s->ctx.log_path = s->log_path;
  if (s->early_log.len > 0) {  // the before hook's smflow.log lines
    ssize_t w = write(s->ctx.log_fd, s->early_log.data, s->early_log.len);
    (void)w;
    smf_buf_reset(&s->early_log);
  }
  return 0;
}

// Lua code that failed in an expression is a HookError like a failing hook.
static enum smf_errclass eng__expr_class(const struct smf_error *err)
{
  return err->code == SMF_ELUA || err->klass == SMF_CLASS_HOOK ? SMF_CLASS_HOOK : SMF_CLASS_CLIENT;
}

static bool eng__check_when(struct eng_step *s)
{
  struct eng *e = s->eng;
  struct smf_error err = SMF_ERROR_INIT;
  bool ok = true;
  if (s->resuming || s->def->when == NULL || s->when_passed) {
    return true;
  }
  if (lx_eval_bool(e->lx, s->def->when, e->p->path, &ok, &err) != 0) {
    eng__fail_early(s, eng__expr_class(&err), err.message);
    return false;
  }
  if (!ok) {
    char msg[300];
    snprintf(msg, sizeof(msg), "when: %s is false", s->def->when->u.str.s);
    eng__set_message(s, SMF_CLASS_NONE, msg);
    eng_step_transition(s, STEP_SKIPPED);
    eng__on_final(s);
  }
  s->when_passed = ok;
  return ok;
}

bool eng_step_check_when(struct eng_step *s)
{
  return eng__check_when(s);
}

void eng_step_final(struct eng_step *s)
{
  eng__on_final(s);
}

// Interpolate and validate the spec of a READY step and write its intent into
// the batch. false when the step ended instead (skipped, failed early).
static bool eng__prepare(struct eng_step *s)
{
  struct eng *e = s->eng;
  struct smf_error err = SMF_ERROR_INIT;
  if (!eng__check_when(s)) {
    return false;
  }
  if (s->kind == NULL) {
    snprintf(err.message, sizeof(err.message), "step kind '%s' is not available in this build",
             dsl_kind_name(s->def->kind));
    eng__fail_early(s, SMF_CLASS_CLIENT, err.message);
    return false;
  }
  struct dsl_node *spec = NULL;
  if (lx_interpolate(e->lx, s->def->spec, e->p->path, &s->arena, &spec, &err) != 0) {
    eng__fail_early(s, eng__expr_class(&err), err.message);
    return false;
  }
  struct dsl_node *hooked = NULL;  // the before hook's table, persisted with the intent
  smf_buf_reset(&s->early_log);
  s->preparing = true;
  int hrc = eng_hooks_before(s, &spec, &hooked, &err);
  s->preparing = false;
  if (hrc != 0) {
    eng__fail_early(s, SMF_CLASS_HOOK, err.message);
    return false;
  }
  struct dsl_diags diags = {0};
  if (dsl_spec_validate(s->def->kind, spec, true, e->p->path, &diags) != 0) {
    char msg[600] = "invalid spec after interpolation";
    if (diags.n > 0) {
      snprintf(msg, sizeof(msg), "%s:%u:%u: %s", diags.items[0].path, diags.items[0].line,
               diags.items[0].col, diags.items[0].message);
    }
    dsl_diags_free(&diags);
    eng__fail_early(s, SMF_CLASS_CLIENT, msg);
    return false;
  }
  dsl_diags_free(&diags);
  struct step_ctx *c = &s->ctx;
  memset(c, 0, sizeof(*c));
  c->loop = &e->loop;
  c->run_id = e->run_id;
  c->step_id = s->def->id;
  c->attempt = s->resuming ? s->resume_attempt : ++s->attempts;
  c->state_dir = state_dir(e->st);
  c->pipeline_dir = e->p->dir;
  c->def = s->def;
  c->spec = spec;
  c->arena = &s->arena;
  c->eng = e;
  c->owner = s;
  c->log_fd = -1;
  c->kill_grace_ms = e->kill_grace_ms;
  c->target = e->target;
  c->target_error = e->target_error;
  c->pipeline_name = e->p->name;
  c->git_sha = e->git_sha;
  if (eng__open_log(s, &err) != 0) {
    eng__fail_early(s, SMF_CLASS_CLIENT, err.message);
    return false;
  }
  if (!s->resuming) {
    char *intent = eng_hooks_intent(s, s->kind->intent(c), hooked);
    int rc = state_attempt_intent_add(e->st, e->run_id, s->def->id, c->attempt, intent, &err);
    free(intent);
    if (rc != 0) {
      eng_fatal(e, &err);
    }
  }
  s->active = true;
  s->cancel_reason = 0;
  e->running++;
  if (dag_run_state(e->run, (size_t)(s - e->steps)) == DAG_READY) {
    dag_run_start(e->run, (size_t)(s - e->steps));  // retries stay RUNNING there
  }
  eng_step_transition(s, STEP_RUNNING);
  return true;
}

static void eng__complete(struct eng_step *s, int status, const struct smf_error *err,
                          const struct dsl_node *outputs);

static void eng__timeout_cb(uv_timer_t *t)
{
  struct eng_step *s = t->data;
  if (s->active && s->cancel_reason == 0) {
    s->cancel_reason = SMF_ETIMEOUT;
    s->kind->cancel(&s->ctx, SMF_ETIMEOUT, false);
  }
}

static void eng__start(struct eng_step *s)
{
  struct smf_error err = SMF_ERROR_INIT;
  int rc = s->resuming ? s->kind->resume(&s->ctx, s->resume_intent, &err)
                       : s->kind->start(&s->ctx, &err);
  if (rc != 0) {
    s->ctx.kind_data = NULL;
    eng__complete(s, rc, &err, NULL);
    return;
  }
  s->started_kind = true;
  if (s->def->timeout_ms > 0) {
    uv_timer_start(&s->timeout_timer, eng__timeout_cb, (uint64_t)s->def->timeout_ms, 0);
  }
}

static void eng__free_attempts(struct eng *e)
{
  while (e->to_free) {
    struct eng_step *s = e->to_free;
    e->to_free = s->free_next;
    s->free_next = NULL;
    if (s->started_kind && s->kind->free) {
      s->kind->free(&s->ctx);
    }
    s->started_kind = false;
    if (s->ctx.log_fd >= 0) {
      close(s->ctx.log_fd);
    }
    memset(&s->ctx, 0, sizeof(s->ctx));
    s->ctx.log_fd = -1;
    smf_arena_free(&s->arena);
    s->arena = (struct smf_arena)SMF_ARENA_INIT;
  }
}

void eng_pump(struct eng *e)
{
  uv_idle_stop(&e->pump_handle);
  eng__free_attempts(e);
  size_t nb = 0;
  while (!e->stopping && e->running < e->max_parallel && e->q_len > 0) {
    struct eng_step *s = &e->steps[e->queue[e->q_head]];
    e->q_head = (e->q_head + 1) % e->n;
    e->q_len--;
    s->in_queue = false;
    if (s->state == STEP_READY && !eng_cache_begin(s) && eng__prepare(s)) {
      e->batch[nb++] = s;
    }
  }
  struct smf_error err = SMF_ERROR_INIT;
  if (nb > 0 && !e->fatal && state_flush(e->st, &err) != 0) {
    eng_fatal(e, &err);
  }
  for (size_t i = 0; i < nb; i++) {
    struct eng_step *s = e->batch[i];
    if (e->stopping) {
      // Not started: nothing ran; the attempt is recorded as interrupted.
      s->cancel_reason = SMF_ECANCELLED;
      eng__complete(s, SMF_ECANCELLED, NULL, NULL);
    } else {
      eng__start(s);
    }
  }
  eng__free_attempts(e);
  if (eng_done(e)) {
    eng_finish(e);
  }
}

static void eng__retry_cb(uv_timer_t *t)
{
  struct eng_step *s = t->data;
  if (s->state == STEP_RETRY_WAIT && !s->eng->stopping) {
    eng_step_transition(s, STEP_READY);
    eng_step_enqueue(s);
  }
}

// Full jitter: random(0, min(max_backoff, backoff * 2^(n-1))).
static uint64_t eng__backoff(const struct dsl_retry *r, int n)
{
  double cap = (double)r->backoff_ms;
  for (int i = 1; i < n && cap < 1e15; i++) {
    cap *= 2;
  }
  if (r->max_backoff_ms > 0 && cap > (double)r->max_backoff_ms) {
    cap = (double)r->max_backoff_ms;
  }
  return (uint64_t)(cap * ((double)random() / (double)RAND_MAX));
}

static void eng__failed(struct eng_step *s, enum smf_errclass klass, const char *msg)
{
  struct eng *e = s->eng;
  const struct dsl_retry *r = &s->def->retry;
  s->failures++;
  eng__set_message(s, klass, msg);
  bool on = r->on_mask == 0 || (r->on_mask & (1u << klass)) != 0;
  if (on && s->failures < r->max_attempts && !e->stopping) {
    uint64_t delay = eng__backoff(r, s->failures);
    char d[32];
    smf_log_step(SMF_LOG_WARN, s->def->id, "attempt %d failed: %s: %s; retrying in %s",
                 s->ctx.attempt, smf_errclass_name(klass), msg,
                 smf_duration_format((int64_t)delay, d, sizeof(d)));
    eng_step_transition(s, STEP_RETRY_WAIT);
    uv_timer_start(&s->retry_timer, eng__retry_cb, delay, 0);
    return;
  }
  if (e->stopping && on && s->failures < r->max_attempts) {
    eng_step_transition(s, STEP_RETRY_WAIT);  // resume retries it
    return;
  }
  eng_step_transition(s, STEP_FAILED);
  eng_hook_on_failure(s);
  eng__on_final(s);
}

static char *eng__result_json(int status, enum smf_errclass klass, const char *msg)
{
  json_t *j = json_pack("{s:s}", "status", status == 0 ? "ok" : smf_errname(status));
  if (status != 0) {
    json_object_set_new(j, "class", json_string(smf_errclass_name(klass)));
    json_object_set_new(j, "message", json_string(msg ? msg : ""));
  }
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return t;
}

static void eng__succeeded(struct eng_step *s, const struct dsl_node *outputs)
{
  struct eng *e = s->eng;
  struct smf_error err = SMF_ERROR_INIT;
  const struct dsl_node *out = outputs ? outputs : dsl_node_new(&s->arena, DSL_MAP);
  if (eng_hook_after(s, &out, &err) != 0) {
    eng__failed(s, err.klass ? err.klass : SMF_CLASS_HOOK, err.message);
    return;
  }
  free(s->outputs_json);
  s->outputs_json = dsl_node_to_json(out);
  if (lx_set_step_outputs(e->lx, s->def->id, out, &err) != 0) {
    eng__failed(s, SMF_CLASS_CLIENT, err.message);
    return;
  }
  eng__set_message(s, SMF_CLASS_NONE, NULL);
  eng_objects_record(s);
  eng_step_transition(s, STEP_SUCCEEDED);
  eng_cache_store(s);
  eng__on_final(s);
}

static void eng__complete(struct eng_step *s, int status, const struct smf_error *err,
                          const struct dsl_node *outputs)
{
  struct eng *e = s->eng;
  eng_objects_claim(e);
  s->active = false;
  e->running--;
  uv_timer_stop(&s->timeout_timer);
  bool lost = status == SMF_ENOENT && s->resuming;
  s->resuming = false;
  free(s->resume_intent);
  s->resume_intent = NULL;
  enum smf_errclass klass = err && err->klass          ? err->klass
                            : status == SMF_ECANCELLED ? SMF_CLASS_NONE
                                                       : SMF_CLASS_CLIENT;
  const char *msg = err ? err->message : "";
  char tmsg[128];
  if (status != 0 && s->cancel_reason == SMF_ETIMEOUT) {
    char d[32];
    snprintf(tmsg, sizeof(tmsg), "timed out after %s",
             smf_duration_format(s->def->timeout_ms, d, sizeof(d)));
    klass = SMF_CLASS_TIMEOUT;
    msg = tmsg;
  } else if (status != 0 && s->cancel_reason == SMF_ECANCELLED) {
    msg = "interrupted";
  }
  const char *result = status == 0                          ? "succeeded"
                       : lost                               ? "lost"
                       : s->cancel_reason == SMF_ECANCELLED ? "interrupted"
                                                            : "failed";
  char *rj = eng__result_json(status, klass, msg);
  struct smf_error serr = SMF_ERROR_INIT;
  if (!e->fatal &&
      state_attempt_result(e->st, e->run_id, s->def->id, s->ctx.attempt, result, rj, &serr) != 0) {
    eng_fatal(e, &serr);
  }
  free(rj);
  s->free_next = e->to_free;
  e->to_free = s;
  if (status == 0) {
    eng__succeeded(s, outputs);
  } else if (lost) {
    smf_log_step(SMF_LOG_WARN, s->def->id,
                 "attempt %d was lost with the previous smflow; "
                 "starting a new attempt",
                 s->ctx.attempt);
    eng_step_transition(s, STEP_READY);
    eng_step_enqueue(s);
  } else if (s->cancel_reason == SMF_ECANCELLED) {
    eng__set_message(s, SMF_CLASS_NONE, "interrupted");
    eng_step_transition(s, STEP_PENDING);
  } else {
    eng__failed(s, klass, msg);
  }
  eng_objects_drop(s);  // recorded if it succeeded
  s->cancel_reason = 0;
  eng_schedule(e);
}

// The attempt's job runs on without this process: no result is written, the
// step stays "running" in the state so that resume re-attaches to it.
static void eng__detached(struct eng_step *s)
{
  struct eng *e = s->eng;
  eng_objects_claim(e);
  eng_objects_drop(s);
  s->active = false;
  e->running--;
  uv_timer_stop(&s->timeout_timer);
  s->resuming = false;
  free(s->resume_intent);
  s->resume_intent = NULL;
  smf_log_step(SMF_LOG_WARN, s->def->id, "attempt %d left running%s%s; resume re-attaches to it",
               s->ctx.attempt, s->remote_name ? ": " : "", s->remote_name ? s->remote_name : "");
  s->free_next = e->to_free;
  e->to_free = s;
  s->cancel_reason = 0;
  eng_schedule(e);
}

void eng_stop(struct eng *e, bool kill_now)
{
  e->stopping = true;
  for (size_t i = 0; i < e->n; i++) {
    struct eng_step *s = &e->steps[i];
    if (s->state == STEP_RETRY_WAIT) {
      uv_timer_stop(&s->retry_timer);
    }
    if (s->active && s->started_kind && (s->cancel_reason == 0 || kill_now)) {
      s->cancel_reason = SMF_ECANCELLED;
      s->kind->cancel(&s->ctx, SMF_ECANCELLED, kill_now);
    }
  }
  e->q_len = 0;
  eng_schedule(e);
}

// ---- the context API kinds call ----

void step_ctx_done(struct step_ctx *ctx, int status, const struct smf_error *err,
                   const struct dsl_node *outputs)
{
  eng__complete(ctx->owner, status, err, outputs);
}

void step_ctx_detached(struct step_ctx *ctx)
{
  eng__detached(ctx->owner);
}

int step_ctx_update_intent(struct step_ctx *ctx, const char *intent_json, bool sync,
                           struct smf_error *err)
{
  struct eng *e = ctx->eng;
  if (e->fatal) {
    return SMF_ERR_SET(err, SMF_ESTATE, "%s", e->fatal_err.message);
  }
  int rc =
      sync ? state_attempt_intent(e->st, e->run_id, ctx->step_id, ctx->attempt, intent_json, err)
           : state_attempt_intent_add(e->st, e->run_id, ctx->step_id, ctx->attempt, intent_json,
                                      err);
  if (rc != 0) {
    eng_fatal(e, err);
  }
  return rc;
}

void step_ctx_log(struct step_ctx *ctx, const char *fmt, ...)
{
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n < 0) {
    return;
  }
  size_t len = strlen(line);
  if (ctx->log_fd >= 0) {
    line[len] = '\n';
    ssize_t w = write(ctx->log_fd, line, len + 1);
    (void)w;
    line[len] = '\0';
  }
  smf_log_step(SMF_LOG_INFO, ctx->step_id, "%s", line);
}

void step_ctx_set_remote_name(struct step_ctx *ctx, const char *name)
{
  struct eng_step *s = ctx->owner;
  free(s->remote_name);
  s->remote_name = smf_xstrdup(name);
  eng__persist(s, s->state);
}
