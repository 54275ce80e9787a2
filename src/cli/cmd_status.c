// cmd_status.c: `smflow status [RUN_ID] [--json]` — the steps of a run: state,
// attempts, duration, outputs or error, remote name.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run_common.h"
#include "smflow/state.h"
#include "smflow/util.h"

static json_t *status__run_json(const struct state_run *r)
{
  json_t *j = json_pack("{s:s, s:s?, s:s, s:s?, s:s, s:I}", "id", r->id, "name", r->name,
                        "pipeline", r->pipeline_path, "target", r->target, "status", r->status,
                        "started_at", (json_int_t)r->started_ms);
  // A run without an exit code yet (running, or stopped without one): null.
  json_object_set_new(j, "exit_code", r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
  json_object_set_new(j, "finished_at",
                      r->finished_ms ? json_integer((json_int_t)r->finished_ms) : json_null());
  return j;
}

static json_t *status__step_json(const struct state_step *s)
{
  json_t *j = json_pack("{s:s, s:s?, s:s, s:i}", "id", s->id, "kind", s->kind, "state", s->state,
                        "attempts", s->attempts);
  json_object_set_new(j, "started_at", s->started_ms ? json_integer(s->started_ms) : json_null());
  json_object_set_new(j, "finished_at",
                      s->finished_ms ? json_integer(s->finished_ms) : json_null());
  json_object_set_new(
      j, "duration_ms",
      s->started_ms && s->finished_ms ? json_integer(s->finished_ms - s->started_ms) : json_null());
  json_t *out = s->outputs_json ? json_loads(s->outputs_json, JSON_DECODE_ANY, NULL) : NULL;
  json_object_set_new(j, "outputs", out ? out : json_object());
  json_object_set_new(j, "error",
                      s->error_message
                          ? json_pack("{s:s?, s:s}", "class",
                                      s->error_class && *s->error_class ? s->error_class : NULL,
                                      "message", s->error_message)
                          : json_null());
  json_object_set_new(j, "remote_name", s->remote_name ? json_string(s->remote_name) : json_null());
  json_object_set_new(j, "cached_from", s->cached_from ? json_string(s->cached_from) : json_null());
  return j;
}

// "k=v k2=v2" of an outputs object, or the error, for the human table.
static char *status__detail(const struct state_step *s)
{
  struct smf_buf b = SMF_BUF_INIT;
  if (s->cached_from) {
    smf_buf_printf(&b, "cached_from=%s ", s->cached_from);
  }
  if (s->error_message) {
    bool klass = s->error_class && *s->error_class;
    // The remote name too (the job that failed), unless the message names it.
    if (s->remote_name && strstr(s->error_message, s->remote_name) == NULL) {
      smf_buf_printf(&b, "[%s] ", s->remote_name);
    }
    smf_buf_printf(&b, "%s%s%s", klass ? s->error_class : "", klass ? ": " : "", s->error_message);
  } else if (s->outputs_json) {
    json_t *o = json_loads(s->outputs_json, 0, NULL);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
      char *t = json_is_string(v) ? smf_xstrdup(json_string_value(v))
                                  : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      smf_buf_printf(&b, "%s%s=%s", b.len && b.data[b.len - 1] != ' ' ? " " : "", k, t);
      free(t);
    }
    json_decref(o);
  }
  if (b.len == 0 && s->remote_name) {
    smf_buf_puts(&b, s->remote_name);
  }
  char *t = smf_buf_steal(&b);
  if (strlen(t) > 200) {
    strcpy(t + 196, " ...");
  }
  for (char *c = t; *c; c++) {
    *c = *c == '\n' ? ' ' : *c;
  }
  return t;
}

// A run recorded "running" that no smflow is running any more (killed with
// -9, a crash, a lost machine): the state says what was done; resume goes on.
// Looks at the lock without touching it; silent when that cannot be told.
static void status__note_orphan(struct state *st, const struct state_run *r)
{
  long pid = 0;
  int held = strcmp(r->status, "running") == 0 ? state_lock_peek(state_dir(st), &pid) : 1;
  char *latest = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (held == 1 && strcmp(r->status, "running") == 0 &&
      state_event_latest_run(st, &latest, &err) == 0 && strcmp(latest, r->id) != 0) {
    held = 0;  // the smflow holding the directory runs another run
  }
  free(latest);
  if (held == 0) {
    printf("  note     no smflow is running it any more (killed?); continue it with: "
           "smflow resume %s --state-dir %s\n",
           r->id, state_dir(st));
  }
}

static void status__print(struct state *st, const struct state_run *r,
                          const struct state_step *steps, size_t n)
{
  char t1[32], t2[32], d[32];
  printf("run %s  %s  %s", r->id, r->name ? r->name : "", r->status);
  if (r->exit_code >= 0) {
    printf(" (exit %d)", r->exit_code);
  }
  printf("\n  pipeline %s\n  started  %s", r->pipeline_path,
         cli_time_format(r->started_ms, t1, sizeof(t1)));
  if (r->finished_ms) {
    printf(", finished %s, took %s", cli_time_format(r->finished_ms, t2, sizeof(t2)),
           smf_duration_format(r->finished_ms - r->started_ms, d, sizeof(d)));
  }
  printf("\n");
  status__note_orphan(st, r);
  printf("\n%-20s %-11s %-8s %-9s %s\n", "STEP", "STATE", "ATTEMPTS", "DURATION", "DETAIL");
  for (size_t i = 0; i < n; i++) {
    const struct state_step *s = &steps[i];
    char *detail = status__detail(s);
    const char *dur = s->started_ms && s->finished_ms
                          ? smf_duration_format(s->finished_ms - s->started_ms, d, sizeof(d))
                          : "-";
    printf("%-20s %-11s %-8d %-9s %s\n", s->id, s->state, s->attempts, dur, detail);
    free(detail);
  }
}

static int status__show(struct cli_ctx *ctx, struct state *st, const char *id)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state_run run;
  int rc;
  if (id) {
    rc = state_run_get(st, id, &run, &err);
  } else {
    struct state_run *runs = NULL;
    size_t n = 0;
    rc = state_runs_list(st, &runs, &n, &err);
    if (rc == 0 && n == 0) {
      rc = SMF_ERR_SET(&err, SMF_ENOENT, "no runs in %s", state_dir(st));
    }
    if (rc == 0) {
      run = runs[0];
      memset(&runs[0], 0, sizeof(runs[0]));
    }
    state_runs_free(runs, n);
  }
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return rc == SMF_ENOENT ? CLI_EXIT_USAGE : CLI_EXIT_ENV;
  }
  struct state_step *steps = NULL;
  size_t n = 0;
  rc = state_steps_list(st, run.id, &steps, &n, &err);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
  } else if (ctx->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
      json_array_append_new(arr, status__step_json(&steps[i]));
    }
    json_t *doc = json_pack("{s:o, s:o}", "run", status__run_json(&run), "steps", arr);
    char *t = json_dumps(doc, JSON_INDENT(2));
    printf("%s\n", t);
    free(t);
    json_decref(doc);
  } else {
    status__print(st, &run, steps, n);
  }
  state_steps_free(steps, n);
  state_run_clear(&run);
  return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ENV;
}

int cli_cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *id = NULL;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') {
      return cli_usage_error(ctx, "unknown option '%s'", argv[i]);
    }
    if (id) {
      return cli_usage_error(ctx, "unexpected argument '%s'", argv[i]);
    }
    id = argv[i];
  }
  struct state *st = NULL;
  int rc = cli_state_open_read(ctx, &st);
  if (rc != CLI_EXIT_OK) {
    return rc;
  }
  rc = status__show(ctx, st, id);
  state_close(st);
  return rc;
}
