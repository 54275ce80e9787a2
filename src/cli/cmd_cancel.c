// cmd_cancel.c: `smflow cancel RUN_ID` — stop a run for good.
//
// 1. If an smflow holds the state directory while the run is "running" and
//    the newest event is the run's, it is that run's process: it gets SIGTERM (it stops its steps,
//    records them interrupted, and exits), and we wait for it to release the lock; after
//    CANCEL_SECOND_MS a second SIGTERM makes it exit at once.
// 2. With the lock taken, every attempt of the run that has an intent and no
//    result is stopped: local processes named by the intent (pid + start time,
//    so a reused pid is never signalled) get SIGTERM on their process group,
//    then SIGKILL after CANCEL_GRACE_MS; each attempt is recorded "cancelled"
//    with what was stopped. A remote job (an intent with a job name on a target
//    other than local) is stopped by name through its target
//    (target_job_stop_by_name); a target without that operation leaves it
//    running, which is recorded and reported.
// 3. Unfinished steps become "cancelled", the run "cancelled" (exit code 1).
// A cancelled run is final: `resume` never picks it and refuses it by id.
// Exit: 0 cancelled (or already cancelled), 2 no such run / already finished
// successfully, 4 state directory problems or an smflow that did not stop.
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "smflow/state.h"
#include "smflow/util.h"
#include "steps/kinds.h"
#include "target/target.h"

#define CANCEL_WAIT_MS 30000
#define CANCEL_SECOND_MS 15000
#define CANCEL_GRACE_MS 5000

static void cancel__sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

// Ask the smflow holding the lock to stop; 0 once the lock is free.
static int cancel__stop_holder(const char *dir, const char *run_id, long pid)
{
  fprintf(stderr, "stopping smflow (pid %ld) running %s\n", pid, run_id);
  if (pid <= 0 || kill((pid_t)pid, SIGTERM) != 0) {
    fprintf(stderr, "error: cannot signal pid %ld: %s\n", pid, strerror(errno));
    return CLI_EXIT_ENV;
  }
  struct smf_error err = SMF_ERROR_INIT;
  for (long waited = 0; waited < CANCEL_WAIT_MS; waited += 100) {
    long now = 0;
    if (state_lock_holder(dir, &now, &err) == 0) {
      return 0;
    }
    if (waited == CANCEL_SECOND_MS) {
      kill((pid_t)pid, SIGTERM);  // a second signal: it exits at once, state already safe
    }
    cancel__sleep_ms(100);
  }
  fprintf(stderr, "error: smflow (pid %ld) did not stop within %d s\n", pid, CANCEL_WAIT_MS / 1000);
  return CLI_EXIT_ENV;
}

static bool cancel__alive(pid_t pid, unsigned long long start)
{
  return step_proc_start_time(pid) == start;
}

// Every {pid, start_time} object of an intent: terminate those still alive
// (the same process: same start time). Appends what it did to `done`.
static void cancel__procs(json_t *j, json_t *done)
{
  if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v)
    {
      cancel__procs(v, done);
    }
    return;
  }
  if (!json_is_object(j)) {
    return;
  }
  json_t *jp = json_object_get(j, "pid"), *js = json_object_get(j, "start_time");
  if (json_is_integer(jp) && json_is_integer(js) && json_integer_value(jp) > 0) {
    pid_t pid = (pid_t)json_integer_value(jp);
    unsigned long long start = (unsigned long long)json_integer_value(js);
    if (cancel__alive(pid, start)) {
      if (kill(-pid, SIGTERM) != 0) {
        kill(pid, SIGTERM);  // not a group leader
      }
      long w = 0;
      for (; w < CANCEL_GRACE_MS && cancel__alive(pid, start); w += 50) {
        cancel__sleep_ms(50);
      }
      if (cancel__alive(pid, start) && kill(-pid, SIGKILL) != 0) {
        kill(pid, SIGKILL);
      }
      json_array_append_new(done, json_pack("{s:I, s:s}", "pid", (json_int_t)pid, "signal",
                                            w < CANCEL_GRACE_MS ? "SIGTERM" : "SIGKILL"));
    }
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v)
  {
    cancel__procs(v, done);
  }
}

struct cancel_wait {
  bool done;
  int status;
  char message[512];
};

static void cancel__stopped(void *data, int status, const struct smf_error *err)
{
  struct cancel_wait *w = data;
  w->done = true;
  w->status = status;
  if (status != 0 && err) {
    snprintf(w->message, sizeof(w->message), "%.*s", (int)sizeof(w->message) - 1, err->message);
  }
}

// Stop a remote job by name through its target, on a loop of our own. 0 when
// the target stopped it; else *msg says why it was left running.
static int cancel__remote(const char *dir, const char *tname, bool processing, const char *job,
                          char *msg, size_t n)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target_config cfg = {.loop = &loop, .state_dir = dir};
  struct target *t = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  struct cancel_wait w = {0};
  int rc = target_new(tname, &cfg, &t, &err);
  if (rc == 0) {
    rc = target_job_stop_by_name(t, processing, job, cancel__stopped, &w, &err);
  }
  if (rc == 0) {
    while (!w.done && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    rc = w.done ? w.status : SMF_EINTERNAL;
    memcpy(err.message, w.message, sizeof(w.message));
  }
  if (rc == SMF_ENOENT) {
    rc = 0;  // the job is gone already: nothing is left running
  }
  snprintf(msg, n, "%.*s", (int)n - 1, err.message);
  target_free(t);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}

// Stop what the open attempts of one step started, and record them cancelled.
// n_stopped[0] counts local processes, n_stopped[1] remote jobs.
static int cancel__step(struct state *st, const char *run_id, const char *step_id, const char *kind,
                        int n_stopped[2], struct smf_error *err)
{
  struct state_attempt *a = NULL;
  size_t n = 0;
  int rc = state_attempts_list(st, run_id, step_id, &a, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (a[i].result != NULL) {
      continue;
    }
    json_t *intent = json_loads(a[i].intent_json, 0, NULL);
    json_t *done = json_array();
    cancel__procs(intent, done);
    json_t *target = json_object_get(intent, "target");
    const char *tname = json_string_value(json_object_get(target, "target"));
    json_t *res = json_pack("{s:s, s:s, s:O}", "status", "cancelled", "message",
                            "cancelled by smflow cancel", "stopped", done);
    const char *job = json_string_value(json_object_get(intent, "job_name"));
    char why[512] = "";
    bool processing = kind && strcmp(kind, "evaluate") == 0;
    if (tname && strcmp(tname, "local") != 0 && job &&
        cancel__remote(state_dir(st), tname, processing, job, why, sizeof(why)) != 0) {
      json_object_set_new(res, "left_running", json_string(job));
      fprintf(stderr, "warning: %s: remote job %s was not stopped (%s); stop it on %s\n", step_id,
              job, why, tname);
    } else if (tname && strcmp(tname, "local") != 0 && job) {
      json_array_append_new(done, json_pack("{s:s}", "job", job));
    }
    size_t k;
    json_t *d;
    json_array_foreach(done, k, d)
    {
      n_stopped[json_object_get(d, "job") ? 1 : 0]++;
    }
    char *text = json_dumps(res, JSON_COMPACT);
    rc = state_attempt_result(st, run_id, step_id, a[i].attempt, "cancelled", text, err);
    free(text);
    json_decref(res);
    json_decref(done);
    json_decref(intent);
  }
  state_attempts_free(a, n);
  return rc;
}

static bool cancel__final(const char *state)
{
  return strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
         strcmp(state, "skipped") == 0 || strcmp(state, "cancelled") == 0;
}

static int cancel__record(struct state *st, const char *run_id, int n_stopped[2],
                          struct smf_error *err)
{
  struct state_step *steps = NULL;
  size_t n = 0;
  int rc = state_steps_list(st, run_id, &steps, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    struct state_step *s = &steps[i];
    rc = cancel__step(st, run_id, s->id, s->kind, n_stopped, err);
    if (rc == 0 && !cancel__final(s->state)) {
      free(s->state);
      s->state = smf_xstrdup("cancelled");
      free(s->error_message);
      s->error_message = smf_xstrdup("cancelled by smflow cancel");
      free(s->error_class);
      s->error_class = NULL;
      s->finished_ms = smf_time_now_ms();
      rc = state_step_put(st, s, err);
    }
  }
  state_steps_free(steps, n);
  if (rc == 0 && (rc = state_event_add(st, run_id, NULL, "cancel", NULL, err)) == 0 &&
      (rc = state_run_set_status(st, run_id, "cancelled", 1, err)) == 0) {
    rc = state_flush(st, err);
  }
  return rc;
}

// Read the run and stop its smflow, if one runs it. CLI_EXIT_OK to go on.
static int cancel__prepare(const char *dir, const char *run_id, bool *already)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  int rc = state_open(dir, STATE_OPEN_READ, &st, &err);
  struct state_run run = {0};
  if (rc == 0) {
    rc = state_run_get(st, run_id, &run, &err);
  }
  state_close(st);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);  // "no run 'ID' in DIR", or why not
    return rc == SMF_ENOENT ? CLI_EXIT_USAGE : CLI_EXIT_ENV;
  }
  int ret = CLI_EXIT_OK;
  long pid = 0;
  if (strcmp(run.status, "succeeded") == 0 || strcmp(run.status, "cancelled") == 0) {
    fprintf(stderr, "run %s already %s; nothing to cancel\n", run.id, run.status);
    *already = true;
    ret = strcmp(run.status, "cancelled") == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
  } else if (state_lock_holder(dir, &pid, &err) == 1) {
    // The holder writes its run's events: the newest event tells which run it is
    // (a run left "running" by a kill -9 is not the one being written now).
    char *active = NULL;
    struct state *rst = NULL;
    if (state_open(dir, STATE_OPEN_READ, &rst, &err) == 0) {
      state_event_latest_run(rst, &active, &err);
    }
    state_close(rst);
    bool ours = strcmp(run.status, "running") == 0 && active && strcmp(active, run.id) == 0;
    free(active);
    if (ours) {
      ret = cancel__stop_holder(dir, run.id, pid);
    } else {
      fprintf(stderr,
              "error: state directory %s is locked by smflow (pid %ld), running another run\n", dir,
              pid);
      ret = CLI_EXIT_ENV;
    }
  }
  state_run_clear(&run);
  return ret;
}

int cli_cmd_cancel(struct cli_ctx *ctx, int argc, char **argv)
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
  if (id == NULL) {
    return cli_usage_error(ctx, "missing RUN_ID");
  }
  char *dir = cli_state_dir(ctx, NULL);
  bool already = false;
  int rc = cancel__prepare(dir, id, &already);
  if (rc != CLI_EXIT_OK || already) {
    free(dir);
    return rc;
  }
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  int n_stopped[2] = {0, 0};
  if (state_open(dir, STATE_OPEN_WRITE, &st, &err) != 0 ||
      cancel__record(st, id, n_stopped, &err) != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    rc = CLI_EXIT_ENV;
  } else if (!ctx->quiet) {
    if (n_stopped[1] > 0) {
      printf("run %s cancelled (%d process%s and %d remote job%s stopped)\n", id, n_stopped[0],
             n_stopped[0] == 1 ? "" : "es", n_stopped[1], n_stopped[1] == 1 ? "" : "s");
    } else {
      printf("run %s cancelled (%d process%s stopped)\n", id, n_stopped[0],
             n_stopped[0] == 1 ? "" : "es");
    }
  }
  state_close(st);
  free(dir);
  return rc;
}
