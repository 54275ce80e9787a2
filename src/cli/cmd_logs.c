// cmd_logs.c: `smflow logs RUN_ID STEP [--follow] [--attempt N]` — print the log
// the engine keeps for a step's attempt (STATE_DIR/logs/RUN_ID/STEP.N.log; for
// jobs it holds the job's own log lines too). --follow polls the file and the
// state database (read-only; this command owns no run) until the attempt has a
// result, or until no smflow holds the state directory any more.
//
// A training or processing job of the aws target (the attempt's intent says
// {"target": {"target": "aws", "job_name": ...}}) is read from CloudWatch Logs
// instead (/aws/sagemaker/TrainingJobs or ProcessingJobs, streams JOB/...):
// every line from the start, and with --follow until the job has ended — also
// a job that an interrupted run left running. Region and credentials as for a
// run (environment and profile).
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "smflow/state.h"
#include "smflow/util.h"
#include "target/target.h"

#define LOGS_POLL_MS 200

struct logs_req {
  const char *run_id, *step;
  int attempt;  ///< 0 = the newest
  bool follow;
};

// Print what the file holds past *off. A missing file is simply empty so far.
static void logs__drain(const char *path, off_t *off)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  char buf[65536];
  ssize_t n;
  while ((n = pread(fd, buf, sizeof(buf), *off)) > 0) {
    fwrite(buf, 1, (size_t)n, stdout);
    *off += n;
  }
  close(fd);
  fflush(stdout);
}

static void logs__sleep(void)
{
  struct timespec ts = {0, LOGS_POLL_MS * 1000000L};
  nanosleep(&ts, NULL);
}

// The attempt to show: N, or the newest (*attempt 0 when there is none yet), and whether it ended.
static int logs__attempt(struct state *st, const struct logs_req *rq, int *attempt, bool *ended,
                         struct smf_error *err)
{
  struct state_attempt *a = NULL;
  size_t n = 0;
  *attempt = 0;
  *ended = false;
  int rc = state_attempts_list(st, rq->run_id, rq->step, &a, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (rq->attempt == 0 || a[i].attempt == rq->attempt) {
      *attempt = a[i].attempt;
      *ended = a[i].result != NULL;
    }
  }
  state_attempts_free(a, n);
  return rc;
}

static const struct state_step *logs__find_step(const struct state_step *steps, size_t n,
                                                const char *id)
{
  for (size_t i = 0; i < n; i++) {
    if (strcmp(steps[i].id, id) == 0) {
      return &steps[i];
    }
  }
  return NULL;
}

// The step must exist in the run. A step served from the cache has no log of
// its own: say whose outputs it took.
static int logs__check(struct state *st, const struct logs_req *rq, bool *cached)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state_run run;
  int rc = state_run_get(st, rq->run_id, &run, &err);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);  // "no run 'ID' in DIR", or why not
    return rc == SMF_ENOENT ? CLI_EXIT_USAGE : CLI_EXIT_ENV;
  }
  state_run_clear(&run);
  struct state_step *steps = NULL;
  size_t n = 0;
  if (state_steps_list(st, rq->run_id, &steps, &n, &err) != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return CLI_EXIT_ENV;
  }
  const struct state_step *s = logs__find_step(steps, n, rq->step);
  rc = CLI_EXIT_OK;
  if (s == NULL) {
    fprintf(stderr, "error: run %s has no step '%s'\n", rq->run_id, rq->step);
    rc = CLI_EXIT_USAGE;
  } else if (s->cached_from) {
    fprintf(stderr,
            "step '%s' was served from the step cache (outputs of %s): see its log with\n"
            "  smflow logs %.*s %s\n",
            rq->step, s->cached_from, (int)strcspn(s->cached_from, "/"), s->cached_from,
            strchr(s->cached_from, '/') ? strchr(s->cached_from, '/') + 1 : "");
    *cached = true;
  }
  state_steps_free(steps, n);
  return rc;
}

// The aws job of the attempt (newest or rq->attempt), when it ran on aws: 1 with
// *job (caller frees) and *processing.
static int logs__aws_job(struct state *st, const struct logs_req *rq, char **job, bool *processing)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state_attempt *a = NULL;
  size_t n = 0;
  *job = NULL;
  if (state_attempts_list(st, rq->run_id, rq->step, &a, &n, &err) != 0) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (rq->attempt != 0 && a[i].attempt != rq->attempt) {
      continue;
    }
    json_t *in = json_loads(a[i].intent_json, 0, NULL);
    json_t *t = json_object_get(in, "target");
    const char *tn = json_string_value(json_object_get(t, "target"));
    const char *jn = json_string_value(json_object_get(t, "job_name"));
    free(*job);
    *job = tn && strcmp(tn, "aws") == 0 && jn ? smf_xstrdup(jn) : NULL;
    json_decref(in);
  }
  state_attempts_free(a, n);
  struct state_step *steps = NULL;
  size_t ns = 0;
  *processing = false;
  if (*job && state_steps_list(st, rq->run_id, &steps, &ns, &err) == 0) {
    const struct state_step *s = logs__find_step(steps, ns, rq->step);
    *processing = s && s->kind && strcmp(s->kind, "evaluate") == 0;
    state_steps_free(steps, ns);
  }
  return *job != NULL;
}

struct logs__aws {
  int status;
  struct smf_error err;
};

static void logs__aws_event(void *data, const struct target_event *ev)
{
  struct logs__aws *w = data;
  if (ev->type == TARGET_EVENT_LOG) {
    printf("%s | %s\n", ev->host ? ev->host : "", ev->line ? ev->line : "");
    fflush(stdout);
  } else if (ev->type == TARGET_EVENT_DONE) {
    w->status = ev->err ? (ev->err->code ? ev->err->code : SMF_EAWS) : 0;
    if (ev->err) {
      w->err = *ev->err;
    }
  }
}

static int logs__aws_run(const char *dir, const char *job, bool processing, bool follow)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target_config cfg = {.loop = &loop, .state_dir = dir};
  struct target *t = NULL;
  struct logs__aws w = {.status = 0};
  struct smf_error err = SMF_ERROR_INIT;
  int rc = target_new("aws", &cfg, &t, &err);
  if (rc == 0 &&
      (rc = target_job_logs(t, processing, job, follow, logs__aws_event, &w, &err)) == 0) {
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  target_free(t);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return CLI_EXIT_ENV;
  }
  if (w.status != 0) {
    fprintf(stderr, "error: job %s: %s\n", job, w.err.message);
    return CLI_EXIT_FAILED;
  }
  return CLI_EXIT_OK;
}

static int logs__run(struct state *st, const char *dir, const struct logs_req *rq)
{
  struct smf_error err = SMF_ERROR_INIT;
  bool cached = false, ended = false;
  int rc = logs__check(st, rq, &cached), attempt = 0;
  if (rc != CLI_EXIT_OK || cached) {
    return rc;
  }
  char *job = NULL;
  bool processing = false;
  if (logs__aws_job(st, rq, &job, &processing)) {
    rc = logs__aws_run(dir, job, processing, rq->follow);
    free(job);
    return rc;
  }
  char *path = NULL;
  off_t off = 0;
  for (;;) {
    // The result is read before the file is drained: every line written before
    // the attempt ended is printed.
    if (logs__attempt(st, rq, &attempt, &ended, &err) != 0) {
      fprintf(stderr, "error: %s\n", err.message);
      free(path);
      return CLI_EXIT_ENV;
    }
    if (attempt > 0 && path == NULL) {
      path = smf_xasprintf("%s/logs/%s/%s.%d.log", dir, rq->run_id, rq->step, attempt);
    }
    long pid = 0;
    bool running = state_lock_holder(dir, &pid, &err) == 1;
    if (path) {
      logs__drain(path, &off);
    }
    if (!rq->follow || (path && ended) || !running) {
      break;  // nothing more will be written
    }
    logs__sleep();
  }
  if (path == NULL && rq->attempt > 0) {
    fprintf(stderr, "error: step '%s' has no attempt %d\n", rq->step, rq->attempt);
    rc = CLI_EXIT_USAGE;
  } else if (path == NULL) {
    fprintf(stderr, "step '%s' has not started\n", rq->step);
  }
  free(path);
  return rc;
}

int cli_cmd_logs(struct cli_ctx *ctx, int argc, char **argv)
{
  struct logs_req rq = {0};
  int n_pos = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0) {
      rq.follow = true;
    } else if (strcmp(argv[i], "--attempt") == 0) {
      char *end = NULL;
      rq.attempt = i + 1 < argc ? (int)strtol(argv[++i], &end, 10) : 0;
      if (rq.attempt <= 0 || *end != '\0') {
        return cli_usage_error(ctx, "--attempt needs a positive number");
      }
    } else if (argv[i][0] == '-') {
      return cli_usage_error(ctx, "unknown option '%s'", argv[i]);
    } else if (n_pos == 0) {
      rq.run_id = argv[i];
      n_pos++;
    } else if (n_pos == 1) {
      rq.step = argv[i];
      n_pos++;
    } else {
      return cli_usage_error(ctx, "unexpected argument '%s'", argv[i]);
    }
  }
  if (n_pos != 2) {
    return cli_usage_error(ctx, "expected RUN_ID and STEP");
  }
  struct state *st = NULL;
  int rc = cli_state_open_read(ctx, &st);
  if (rc != CLI_EXIT_OK) {
    return rc;
  }
  rc = logs__run(st, state_dir(st), &rq);
  state_close(st);
  return rc;
}
