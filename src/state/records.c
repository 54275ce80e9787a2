// records.c: reading and writing runs, steps, attempts and events.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"
#include "state/state_int.h"

static void state__bind_text(sqlite3_stmt *st, int i, const char *v)
{
  if (v) {
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(st, i);
  }
}

static void state__bind_ms(sqlite3_stmt *st, int i, int64_t v)
{
  if (v) {
    sqlite3_bind_int64(st, i, v);
  } else {
    sqlite3_bind_null(st, i);
  }
}

static char *state__col_text(sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? smf_xstrdup((const char *)t) : NULL;
}

// ---- runs ----

int state_run_create(struct state *s, const struct state_run *r, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = state__stmt(s, ST_RUN_INSERT, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, r->id);
  state__bind_text(st, 2, r->pipeline_path);
  state__bind_text(st, 3, r->pipeline_sha256 ? r->pipeline_sha256 : "");
  state__bind_text(st, 4, r->name);
  state__bind_text(st, 5, r->target);
  state__bind_text(st, 6, r->params_json);
  state__bind_text(st, 7, r->vars_json);
  state__bind_text(st, 8, r->globals_json);
  state__bind_text(st, 9, r->options_json);
  sqlite3_bind_int64(st, 10, r->started_ms ? r->started_ms : smf_time_now_ms());
  return state__exec_write(s, st, "insert run", err);
}

int state_run_set_status(struct state *s, const char *run_id, const char *status, int exit_code,
                         struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = state__stmt(s, ST_RUN_STATUS, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  bool final = strcmp(status, "running") != 0;
  state__bind_text(st, 1, run_id);
  state__bind_text(st, 2, status);
  sqlite3_bind_int(st, 3, exit_code);
  sqlite3_bind_int(st, 4, final);
  sqlite3_bind_int64(st, 5, smf_time_now_ms());
  return state__exec_write(s, st, "update run", err);
}

int state_run_set_vars(struct state *s, const char *run_id, const char *vars_json,
                       struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = state__stmt(s, ST_RUN_VARS, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, run_id);
  state__bind_text(st, 2, vars_json);
  return state__exec_write(s, st, "store vars", err);
}

static void state__run_row(sqlite3_stmt *st, struct state_run *r)
{
  r->id = state__col_text(st, 0);
  r->pipeline_path = state__col_text(st, 1);
  r->pipeline_sha256 = state__col_text(st, 2);
  r->name = state__col_text(st, 3);
  r->target = state__col_text(st, 4);
  r->params_json = state__col_text(st, 5);
  r->vars_json = state__col_text(st, 6);
  r->globals_json = state__col_text(st, 7);
  r->options_json = state__col_text(st, 8);
  r->status = state__col_text(st, 9);
  r->started_ms = sqlite3_column_int64(st, 10);
  r->finished_ms = sqlite3_column_int64(st, 11);
  r->exit_code = sqlite3_column_int(st, 12);
}

static int state__run_one(struct state *s, sqlite3_stmt *st, struct state_run *out,
                          const char *what, struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    state__run_row(st, out);
    sqlite3_reset(st);
    return 0;
  }
  sqlite3_reset(st);
  if (rc == SQLITE_DONE) {
    return SMF_ERR_SET(err, SMF_ENOENT, "%s", what);
  }
  return state__fail(s, "read run", err);
}

int state_run_get(struct state *s, const char *run_id, struct state_run *out, struct smf_error *err)
{
  sqlite3_stmt *st = state__stmt(s, ST_RUN_GET, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, run_id);
  char what[160];
  snprintf(what, sizeof(what), "no run '%s' in %s", run_id, s->dir);
  return state__run_one(s, st, out, what, err);
}

int state_run_latest_unfinished(struct state *s, struct state_run *out, struct smf_error *err)
{
  sqlite3_stmt *st = state__stmt(s, ST_RUN_LATEST_UNFINISHED, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  char what[300];
  snprintf(what, sizeof(what), "no unfinished run in %s", s->dir);
  return state__run_one(s, st, out, what, err);
}

int state_runs_list(struct state *s, struct state_run **out, size_t *n, struct smf_error *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = state__stmt(s, ST_RUN_LIST, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      *out = smf_xrealloc(*out, cap * sizeof(**out));
    }
    state__run_row(st, &(*out)[(*n)++]);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    state_runs_free(*out, *n);
    *out = NULL;
    *n = 0;
    return state__fail(s, "list runs", err);
  }
  return 0;
}

void state_run_clear(struct state_run *r)
{
  free(r->id);
  free(r->pipeline_path);
  free(r->pipeline_sha256);
  free(r->name);
  free(r->target);
  free(r->params_json);
  free(r->vars_json);
  free(r->globals_json);
  free(r->options_json);
  free(r->status);
  memset(r, 0, sizeof(*r));
}

void state_runs_free(struct state_run *runs, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    state_run_clear(&runs[i]);
  }
  free(runs);
}

// ---- steps ----

int state_step_put(struct state *s, const struct state_step *x, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = state__stmt(s, ST_STEP_PUT, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, x->run_id);
  state__bind_text(st, 2, x->id);
  state__bind_text(st, 3, x->kind);
  state__bind_text(st, 4, x->state);
  sqlite3_bind_int(st, 5, x->attempts);
  state__bind_ms(st, 6, x->started_ms);
  state__bind_ms(st, 7, x->finished_ms);
  state__bind_text(st, 8, x->outputs_json);
  state__bind_text(st, 9, x->error_class);
  state__bind_text(st, 10, x->error_message);
  state__bind_text(st, 11, x->remote_name);
  sqlite3_bind_int64(st, 12, x->seq);
  return state__exec_write(s, st, "store step", err);
}

int state_steps_list(struct state *s, const char *run_id, struct state_step **out, size_t *n,
                     struct smf_error *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = state__stmt(s, ST_STEP_LIST, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, run_id);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      *out = smf_xrealloc(*out, cap * sizeof(**out));
    }
    struct state_step *x = &(*out)[(*n)++];
    x->run_id = state__col_text(st, 0);
    x->id = state__col_text(st, 1);
    x->kind = state__col_text(st, 2);
    x->state = state__col_text(st, 3);
    x->attempts = sqlite3_column_int(st, 4);
    x->started_ms = sqlite3_column_int64(st, 5);
    x->finished_ms = sqlite3_column_int64(st, 6);
    x->outputs_json = state__col_text(st, 7);
    x->error_class = state__col_text(st, 8);
    x->error_message = state__col_text(st, 9);
    x->remote_name = state__col_text(st, 10);
    x->cached_from = state__col_text(st, 11);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    state_steps_free(*out, *n);
    *out = NULL;
    *n = 0;
    return state__fail(s, "list steps", err);
  }
  return 0;
}

int state_step_last_outputs(struct state *s, const char *pipeline_name, const char *step_id,
                            char **outputs_json, struct smf_error *err)
{
  *outputs_json = NULL;
  sqlite3_stmt *st = state__stmt(s, ST_STEP_LAST_OUTPUTS, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, pipeline_name);
  state__bind_text(st, 2, step_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *outputs_json = state__col_text(st, 0);
    if (*outputs_json == NULL) {
      *outputs_json = smf_xstrdup("{}");
    }
  }
  sqlite3_reset(st);
  if (rc == SQLITE_ROW) {
    return 0;
  }
  if (rc == SQLITE_DONE) {
    return SMF_ERR_SET(err, SMF_ENOENT, "step '%s' never succeeded in an earlier run", step_id);
  }
  return state__fail(s, "read step outputs", err);
}

void state_step_clear(struct state_step *x)
{
  free(x->run_id);
  free(x->id);
  free(x->kind);
  free(x->state);
  free(x->outputs_json);
  free(x->error_class);
  free(x->error_message);
  free(x->remote_name);
  free(x->cached_from);
  memset(x, 0, sizeof(*x));
}

void state_steps_free(struct state_step *steps, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    state_step_clear(&steps[i]);
  }
  free(steps);
}

// ---- attempts ----

int state_attempt_intent(struct state *s, const char *run_id, const char *step_id, int attempt,
                         const char *intent_json, struct smf_error *err)
{
  int rc = state_attempt_intent_add(s, run_id, step_id, attempt, intent_json, err);
  return rc != 0 ? rc : state_flush(s, err);
}

int state_attempt_intent_add(struct state *s, const char *run_id, const char *step_id, int attempt,
                             const char *intent_json, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = state__stmt(s, ST_ATTEMPT_INTENT, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, run_id);
  state__bind_text(st, 2, step_id);
  sqlite3_bind_int(st, 3, attempt);
  state__bind_text(st, 4, intent_json);
  sqlite3_bind_int64(st, 5, smf_time_now_ms());
  return state__exec_write(s, st, "store intent", err);
}

int state_attempt_result(struct state *s, const char *run_id, const char *step_id, int attempt,
                         const char *result, const char *result_json, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = state__stmt(s, ST_ATTEMPT_RESULT, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, run_id);
  state__bind_text(st, 2, step_id);
  sqlite3_bind_int(st, 3, attempt);
  state__bind_text(st, 4, result);
  state__bind_text(st, 5, result_json);
  sqlite3_bind_int64(st, 6, smf_time_now_ms());
  return state__exec_write(s, st, "store result", err);
}

int state_attempts_list(struct state *s, const char *run_id, const char *step_id,
                        struct state_attempt **out, size_t *n, struct smf_error *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = state__stmt(s, ST_ATTEMPT_LIST, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, run_id);
  state__bind_text(st, 2, step_id);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 8;
      *out = smf_xrealloc(*out, cap * sizeof(**out));
    }
    struct state_attempt *a = &(*out)[(*n)++];
    a->attempt = sqlite3_column_int(st, 0);
    a->intent_json = state__col_text(st, 1);
    a->result = state__col_text(st, 2);
    a->result_json = state__col_text(st, 3);
    a->intent_ms = sqlite3_column_int64(st, 4);
    a->result_ms = sqlite3_column_int64(st, 5);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    state_attempts_free(*out, *n);
    *out = NULL;
    *n = 0;
    return state__fail(s, "list attempts", err);
  }
  return 0;
}

void state_attempts_free(struct state_attempt *a, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(a[i].intent_json);
    free(a[i].result);
    free(a[i].result_json);
  }
  free(a);
}

// ---- events ----

int state_event_add(struct state *s, const char *run_id, const char *step_id, const char *type,
                    const char *detail_json, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = state__stmt(s, ST_EVENT_ADD, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, run_id);
  state__bind_text(st, 2, step_id);
  sqlite3_bind_int64(st, 3, smf_time_now_ms());
  state__bind_text(st, 4, type);
  state__bind_text(st, 5, detail_json);
  return state__exec_write(s, st, "append event", err);
}

int state_event_count(struct state *s, const char *run_id, int64_t *out, struct smf_error *err)
{
  sqlite3_stmt *st = state__stmt(s, ST_EVENT_COUNT, err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  state__bind_text(st, 1, run_id);
  int rc = sqlite3_step(st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : state__fail(s, "count events", err);
}
