// job.c: the life of a local job, shared by training and processing:
// prepare and start every host together (thread pool) -> watch them on the
// loop -> STARTED (intent) ->
// log lines -> all hosts ended (max_run and stop enforced with SIGTERM, then
// SIGKILL after a grace period) -> collect outputs (thread pool) -> DONE.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/log.h"
#include "target/local/local.h"

#define LOCAL_STOP_GRACE_MS 5000
#define LOCAL_DEFAULT_MAX_RUN_MS (86400LL * 1000)

struct local_job *local_job_new(struct target *t, const struct local_job_kind *kind,
                                const struct target_job_ops *ops, const char *name, int n_hosts,
                                int64_t max_run_ms, target_event_cb cb, void *data)
{
  struct local_job *j = smf_xcalloc(1, sizeof(*j));
  j->base.target = t;
  j->base.ops = ops;
  j->kind = kind;
  j->t = t;
  j->name = smf_xstrdup(name);
  j->dir = smf_xasprintf("%s/jobs/%s", t->state_dir, name);
  j->n_hosts = n_hosts < 1 ? 1 : n_hosts;
  j->max_run_ms = max_run_ms > 0 ? max_run_ms : LOCAL_DEFAULT_MAX_RUN_MS;
  j->cb = cb;
  j->data = data;
  j->hosts = smf_xcalloc((size_t)j->n_hosts, sizeof(*j->hosts));
  for (int i = 0; i < j->n_hosts; i++) {
    struct local_job_host *h = &j->hosts[i];
    h->name = smf_xasprintf("algo-%d", i + 1);
    h->root = smf_xasprintf("%s/%s", j->dir, h->name);
    h->log_path = smf_xasprintf("%s/logs/%s.log", j->dir, h->name);
    h->exit_path = smf_xasprintf("%s/status/%s.exit", j->dir, h->name);
    h->exit_code = -1;
    h->pidfd = -1;
    h->status_fd = -1;
  }
  uv_timer_init(t->loop, &j->max_timer);
  uv_timer_init(t->loop, &j->kill_timer);
  j->max_timer.data = j->kill_timer.data = j;
  j->handles = 2;
  return j;
}

void local_strv_free(char **v)
{
  if (v == NULL) {
    return;
  }
  for (char **p = v; *p; p++) {
    free(*p);
  }
  free(v);
}

char **local_env_merge(char *const *base, char *const *over, size_t n_over)
{
  size_t n = 0, cap = 16;
  char **out = smf_xcalloc(cap, sizeof(char *));
  for (int pass = 0; pass < 2; pass++) {
    size_t count = pass == 0 ? SIZE_MAX : n_over;
    char *const *src = pass == 0 ? base : over;
    for (size_t i = 0; src && i < count && src[i]; i++) {
      const char *eq = strchr(src[i], '=');
      size_t klen = eq ? (size_t)(eq - src[i]) : strlen(src[i]);
      size_t k = 0;
      while (k < n && !(strncmp(out[k], src[i], klen) == 0 && out[k][klen] == '=')) {
        k++;
      }
      if (k < n) {
        free(out[k]);
        out[k] = smf_xstrdup(src[i]);
        continue;
      }
      if (n + 2 > cap) {
        cap *= 2;
        out = smf_xrealloc(out, cap * sizeof(char *));
      }
      out[n++] = smf_xstrdup(src[i]);
      out[n] = NULL;
    }
  }
  return out;
}

static void job_on_close(uv_handle_t *handle)
{
  struct local_job *j = handle->data;
  if (--j->handles > 0) {
    return;
  }
  for (int i = 0; i < j->n_hosts; i++) {
    struct local_job_host *h = &j->hosts[i];
    free(h->name);
    free(h->root);
    free(h->cwd);
    free(h->log_path);
    free(h->exit_path);
    local_strv_free(h->argv);
    local_strv_free(h->env);
    if (h->pidfd >= 0) {
      close(h->pidfd);
    }
    if (h->status_fd >= 0) {
      close(h->status_fd);
    }
  }
  free(j->hosts);
  if (j->kind->free) {
    j->kind->free(j);
  }
  free(j->res.model_data);
  free(j->res.output_data);
  free(j->res.report_uri);
  free(j->res.report_json);
  free(j->res.failure_reason);
  for (size_t i = 0; i < j->res.n_metrics; i++) {
    free((char *)j->res.metrics[i].name);
  }
  free(j->res.metrics);
  free(j->name);
  free(j->dir);
  free(j->image_uri);
  free(j);
}

void local_job_free(struct local_job *j)
{
  for (int i = 0; i < j->n_hosts; i++) {
    local_host_close(j->hosts[i].h);
    j->hosts[i].h = NULL;
  }
  uv_close((uv_handle_t *)&j->max_timer, job_on_close);
  uv_close((uv_handle_t *)&j->kill_timer, job_on_close);
}

static enum smf_errclass job_class_of(int code)
{
  switch (code) {
  case SMF_ENOENT:
  case SMF_EINVAL:
  case SMF_EPARSE:
  case SMF_EVALIDATE:
    return SMF_CLASS_CLIENT;
  case SMF_ETIMEOUT:
    return SMF_CLASS_TIMEOUT;
  case SMF_ECHILD:
    return SMF_CLASS_ALGORITHM;
  case SMF_ECANCELLED:
    return SMF_CLASS_NONE;
  default:
    return SMF_CLASS_INTERNAL_SERVER;
  }
}

// The last event: hand the result over, then free the job.
static void job_done(struct local_job *j, enum target_job_status status, struct smf_error *err)
{
  uv_timer_stop(&j->max_timer);
  uv_timer_stop(&j->kill_timer);
  int64_t secs = j->started_ms ? (smf_time_now_ms() - j->started_ms + 999) / 1000 : 0;
  char arn[512];
  snprintf(arn, sizeof(arn), "arn:aws:sagemaker:%s:000000000000:%s/%s", j->t->region,
           j->kind->what[0] == 't' ? "training-job" : "processing-job", j->name);
  struct local_job_host *h1 = &j->hosts[0];
  struct target_job_result r = {.job_name = j->name,
                                .job_arn = arn,
                                .status = status,
                                .failure_reason = status == TARGET_JOB_COMPLETED ? NULL
                                                  : j->res.failure_reason ? j->res.failure_reason
                                                  : err                   ? err->message
                                                                          : NULL,
                                .klass = err ? err->klass : SMF_CLASS_NONE,
                                .exit_code = h1->exit_code,
                                .model_data = j->res.model_data,
                                .output_data = j->res.output_data,
                                .image_uri = j->image_uri,
                                .report_uri = j->res.report_uri,
                                .metrics = j->res.metrics,
                                .n_metrics = j->res.n_metrics,
                                .report_json = j->res.report_json,
                                .billable_seconds = secs * j->n_hosts};
  struct target_event ev = {.type = TARGET_EVENT_DONE,
                            .job_name = j->name,
                            .result = &r,
                            .err = (err && err->code) ? err : NULL};
  j->cb(j->data, &ev);
  local_job_free(j);
}

static void job_fail(struct local_job *j, enum target_job_status status, int code, const char *msg)
{
  struct smf_error err = SMF_ERROR_INIT;
  SMF_ERR_SET(&err, code, "%s %s: %s", j->kind->what, j->name, msg);
  err.klass = job_class_of(code);
  job_done(j, status, &err);
}

// ---------------------------------------------------------------------------
// Collect (thread pool).

// The reason of a failed job: the host's output/failure (algo-1's first), as
// SageMaker reports it ("AlgorithmError: ..."). When the script wrote none, the
// toolkit's own message (local_tk_error_message) is written there.
#define JOB_REASON_MAX 1024

static void job_failure_reason(struct local_job *j)
{
  struct local_job_host *bad = &j->hosts[0];
  for (int i = 0; i < j->n_hosts && bad->exit_code == 0; i++) {
    bad = &j->hosts[i];
  }
  char *path = smf_xasprintf("%s/output/failure", j->hosts[0].root);
  char *text = NULL;
  if (smf_file_read(path, &text, NULL, NULL) != 0 || text[strspn(text, " \t\r\n")] == '\0') {
    free(text);
    free(path);
    path = smf_xasprintf("%s/output/failure", bad->root);
    text = NULL;
    if (smf_file_read(path, &text, NULL, NULL) != 0 || text[strspn(text, " \t\r\n")] == '\0') {
      free(text);
      text = local_tk_error_message(bad->exit_code, bad->log_path, bad->argv);
      smf_file_write_atomic(path, text, strlen(text), NULL);
    }
  }
  size_t n = strlen(text);
  while (n && (text[n - 1] == '\n' || text[n - 1] == ' ')) {
    text[--n] = '\0';
  }
  char *reason = smf_xasprintf("AlgorithmError: %s", text);
  // SageMaker caps FailureReason (prefix included) at 1024; cut on a UTF-8 boundary.
  size_t len = strlen(reason);
  if (len > JOB_REASON_MAX) {
    len = JOB_REASON_MAX;
    while (len > 0 && ((unsigned char)reason[len] & 0xC0) == 0x80) {
      len--;
    }
    reason[len] = '\0';
  }
  j->res.failure_reason = reason;
  free(text);
  free(path);
}

static void job_collect_work(uv_work_t *w)
{
  struct local_job *j = w->data;
  bool ok = true;
  for (int i = 0; i < j->n_hosts; i++) {
    ok = ok && j->hosts[i].exit_code == 0;
  }
  smf_error_clear(&j->work_err);
  int rc = j->kind->ended ? j->kind->ended(j, &j->work_err) : 0;
  if (!ok) {
    if (rc != 0) {
      smf_log(SMF_LOG_WARN, "%s %s: %s", j->kind->what, j->name, j->work_err.message);
    }
    job_failure_reason(j);
    return;
  }
  j->work_rc = rc != 0 ? rc : j->kind->collect(j, &j->work_err);
}

static void job_collect_after(uv_work_t *w, int status)
{
  (void)status;
  struct local_job *j = w->data;
  j->collecting = false;
  if (j->detached) {
    local_job_free(j);
    return;
  }
  if (j->res.failure_reason) {
    struct smf_error err = SMF_ERROR_INIT;
    SMF_ERR_SET(&err, SMF_ECHILD, "%s", j->res.failure_reason);
    err.klass = SMF_CLASS_ALGORITHM;
    job_done(j, TARGET_JOB_FAILED, &err);
  } else if (j->work_rc != 0) {
    j->work_err.klass = job_class_of(j->work_rc);
    job_done(j, TARGET_JOB_FAILED, &j->work_err);
  } else {
    job_done(j, TARGET_JOB_COMPLETED, NULL);
  }
}

static void job_all_ended(struct local_job *j)
{
  uv_timer_stop(&j->max_timer);
  if (j->work_rc != 0) {  // a host could not be started
    job_done(j, TARGET_JOB_FAILED, &j->work_err);
    return;
  }
  if (j->stop_requested) {
    job_fail(j, TARGET_JOB_STOPPED, SMF_ECANCELLED, "stopped");
    return;
  }
  if (j->timed_out) {
    char msg[128];
    snprintf(msg, sizeof(msg), "MaxRuntimeExceeded: the job ran longer than max_run (%llds)",
             (long long)(j->max_run_ms / 1000));
    job_fail(j, TARGET_JOB_STOPPED, SMF_ETIMEOUT, msg);
    return;
  }
  j->collecting = true;
  j->work.data = j;
  int rc = uv_queue_work(j->t->loop, &j->work, job_collect_work, job_collect_after);
  if (rc != 0) {
    j->collecting = false;
    job_fail(j, TARGET_JOB_FAILED, SMF_EINTERNAL, uv_strerror(rc));
  }
}

// ---------------------------------------------------------------------------
// Hosts.

static void job_terminate(struct local_job *j)
{
  for (int i = 0; i < j->n_hosts; i++) {
    local_host_kill(j->hosts[i].h, SIGTERM);
  }
}

static void job_on_kill_timer(uv_timer_t *t)
{
  struct local_job *j = t->data;
  for (int i = 0; i < j->n_hosts; i++) {
    local_host_kill(j->hosts[i].h, SIGKILL);
  }
}

static void job_stop_hosts(struct local_job *j)
{
  job_terminate(j);
  if (!uv_is_active((uv_handle_t *)&j->kill_timer)) {
    uv_timer_start(&j->kill_timer, job_on_kill_timer, LOCAL_STOP_GRACE_MS, 0);
  }
}

static void job_on_max_run(uv_timer_t *t)
{
  struct local_job *j = t->data;
  j->timed_out = true;
  job_stop_hosts(j);
}

static void job_on_line(struct local_host *lh, const char *line, void *data)
{
  struct local_job *j = data;
  struct target_event ev = {
      .type = TARGET_EVENT_LOG, .job_name = j->name, .host = local_host_name(lh), .line = line};
  j->cb(j->data, &ev);
}

static void job_on_host_exit(struct local_host *lh, int code, void *data)
{
  struct local_job *j = data;
  for (int i = 0; i < j->n_hosts; i++) {
    struct local_job_host *h = &j->hosts[i];
    if (h->h == lh && !h->ended) {
      h->ended = true;
      h->exit_code = code;
      j->running--;
    }
  }
  if (code != 0 && j->running > 0) {
    job_stop_hosts(j);  // one host failed: the job failed, stop the others (as SageMaker does)
  }
  if (j->running == 0) {
    job_all_ended(j);
  }
}

static char *job_intent(const struct local_job *j)
{
  json_t *hosts = json_array();
  for (int i = 0; i < j->n_hosts; i++) {
    json_array_append_new(hosts, json_pack("{s:s, s:I, s:I}", "host", j->hosts[i].name, "pid",
                                           (json_int_t)j->hosts[i].pid, "start_time",
                                           (json_int_t)j->hosts[i].start_time));
  }
  json_t *o = json_pack("{s:s, s:s, s:I, s:o}", "target", "local", "job_dir", j->dir, "started_ms",
                        (json_int_t)j->started_ms, "hosts", hosts);
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return text;
}

static void job_started(struct local_job *j)
{
  int64_t left = j->max_run_ms - (smf_time_now_ms() - j->started_ms);
  uv_timer_start(&j->max_timer, job_on_max_run, (uint64_t)(left > 0 ? left : 0), 0);
  char *intent = job_intent(j);
  struct target_event ev = {.type = TARGET_EVENT_STARTED, .job_name = j->name, .intent = intent};
  j->cb(j->data, &ev);
  free(intent);
}

// The intent, kept in the job directory as soon as every host started (on the
// thread pool), so that a job whose intent the caller never got to persist can
// still be found by its name (attach with a NULL intent). A plain write: a
// machine crash ends the job's processes too.
static void job_write_intent(const struct local_job *j)
{
  char *intent = job_intent(j);
  char *path = smf_xasprintf("%s/intent.json", j->dir);
  FILE *f = fopen(path, "we");
  if (f) {
    fputs(intent, f);
    fclose(f);
  }
  free(path);
  free(intent);
}

// Start every host (thread pool, after the preparation): the loop never waits
// for a host's exec. 0, or the error of the first host that could not be
// started (those before it run, not yet watched: see job_kill_unadopted).
static int job_start_hosts(struct local_job *j, struct smf_error *err)
{
  j->started_ms = smf_time_now_ms();
  for (int i = 0; i < j->n_hosts; i++) {
    struct local_job_host *h = &j->hosts[i];
    struct local_host_spec spec = {.name = h->name,
                                   .cwd = h->cwd,
                                   .argv = h->argv,
                                   .env = h->env,
                                   .log_path = h->log_path,
                                   .exit_path = h->exit_path};
    int rc = local_host_start(&spec, &h->pid, &h->pidfd, &h->status_fd, err);
    if (rc != 0) {
      h->pid = 0;
      h->pidfd = -1;
      h->status_fd = -1;
      return rc;
    }
    h->start_time = local_proc_start_time(h->pid);
  }
  job_write_intent(j);
  return 0;
}

// SIGKILL the process group of every host started but not watched (the job
// ended before it was started: stopped, detached or failed), and reap it.
static void job_kill_unadopted(struct local_job *j)
{
  bool killed = false;
  for (int i = 0; i < j->n_hosts; i++) {
    struct local_job_host *h = &j->hosts[i];
    if (h->h != NULL || h->pid <= 0) {
      continue;
    }
    if (kill(-(pid_t)h->pid, SIGKILL) != 0) {
      kill((pid_t)h->pid, SIGKILL);
    }
    waitpid((pid_t)h->pid, NULL, 0);  // just killed: returns at once
    if (h->pidfd >= 0) {
      close(h->pidfd);
    }
    if (h->status_fd >= 0) {
      close(h->status_fd);
    }
    h->pidfd = -1;
    h->status_fd = -1;
    h->pid = 0;
    killed = true;
  }
  if (killed) {  // nothing of it runs: a resume starts the job anew
    char *path = smf_xasprintf("%s/intent.json", j->dir);
    unlink(path);
    free(path);
  }
}

// Watch every started host on the loop (each takes over its pidfd).
static int job_adopt_all(struct local_job *j, struct smf_error *err)
{
  for (int i = 0; i < j->n_hosts; i++) {
    struct local_job_host *h = &j->hosts[i];
    int pidfd = h->pidfd, status_fd = h->status_fd;
    h->pidfd = h->status_fd = -1;
    int rc =
        local_host_adopt(j->t->loop, h->name, h->pid, h->start_time, pidfd, status_fd, h->log_path,
                         h->exit_path, job_on_line, job_on_host_exit, j, &h->h, err);
    if (rc != 0) {
      job_kill_unadopted(j);
      return rc;
    }
    j->running++;
  }
  return 0;
}

static void job_prepare_work(uv_work_t *w)
{
  struct local_job *j = w->data;
  struct smf_error *err = &j->work_err;
  char *logs = smf_xasprintf("%s/logs", j->dir), *status = smf_xasprintf("%s/status", j->dir);
  // A fresh directory per job name: an attempt that never started left at most debris.
  j->work_rc = local_rm_rf(j->dir, err);
  if (j->work_rc == 0) {
    j->work_rc = smf_mkdir_p(logs, err);
  }
  if (j->work_rc == 0) {
    j->work_rc = smf_mkdir_p(status, err);
  }
  if (j->work_rc == 0) {
    j->work_rc = j->kind->prepare(j, err);
  }
  if (j->work_rc == 0) {
    j->work_rc = job_start_hosts(j, err);
    j->start_failed = j->work_rc != 0;
  }
  free(logs);
  free(status);
}

static void job_prepare_after(uv_work_t *w, int status)
{
  (void)status;
  struct local_job *j = w->data;
  j->preparing = false;
  if (j->detached || j->work_rc != 0 || j->stop_requested) {
    job_kill_unadopted(j);  // what was started never reached anyone
  }
  if (j->detached) {
    local_job_free(j);
    return;
  }
  if (j->work_rc != 0) {
    j->work_err.klass = j->start_failed ? SMF_CLASS_INTERNAL_SERVER : job_class_of(j->work_rc);
    job_done(j, TARGET_JOB_FAILED, &j->work_err);
    return;
  }
  if (j->stop_requested) {
    job_fail(j, TARGET_JOB_STOPPED, SMF_ECANCELLED, "stopped before it started");
    return;
  }
  struct smf_error err = SMF_ERROR_INIT;
  int rc = job_adopt_all(j, &err);
  if (rc != 0) {
    err.klass = SMF_CLASS_INTERNAL_SERVER;
    j->work_rc = rc;
    j->work_err = err;
    job_stop_hosts(j);
    if (j->running == 0) {
      job_done(j, TARGET_JOB_FAILED, &err);
    }
    return;
  }
  job_started(j);
}

int local_job_run(struct local_job *j, struct smf_error *err)
{
  j->preparing = true;
  j->work.data = j;
  int rc = uv_queue_work(j->t->loop, &j->work, job_prepare_work, job_prepare_after);
  if (rc != 0) {
    local_job_free(j);
    return SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue work: %s", uv_strerror(rc));
  }
  return 0;
}

int local_job_attach(struct local_job *j, const char *intent, struct smf_error *err)
{
  json_error_t jerr;
  json_t *o = NULL;
  int rc = 0;
  if (intent == NULL) {  // by name: the intent the job directory kept
    char *path = smf_xasprintf("%s/intent.json", j->dir);
    o = json_load_file(path, 0, &jerr);
    free(path);
    if (o == NULL) {
      rc = SMF_ERR_SET(err, SMF_ENOENT, "no local %s named %s was started", j->kind->what, j->name);
      goto fail;
    }
  } else {
    o = json_loads(intent, 0, &jerr);
  }
  json_t *hosts = json_object_get(o, "hosts");
  if (!json_is_array(hosts) || json_array_size(hosts) != (size_t)j->n_hosts) {
    rc = SMF_ERR_SET(err, SMF_EINVAL, "%s: not an intent of a local job with %d host(s)", j->name,
                     j->n_hosts);
    goto fail;
  }
  j->attached = true;
  j->started_ms = json_integer_value(json_object_get(o, "started_ms"));
  for (int i = 0; i < j->n_hosts; i++) {
    json_t *hj = json_array_get(hosts, (size_t)i);
    struct local_job_host *h = &j->hosts[i];
    h->pid = json_integer_value(json_object_get(hj, "pid"));
    h->start_time = (uint64_t)json_integer_value(json_object_get(hj, "start_time"));
    rc = local_host_watch(j->t->loop, h->name, h->pid, h->start_time, h->log_path, h->exit_path,
                          job_on_line, job_on_host_exit, j, &h->h, err);
    if (rc != 0) {
      goto fail;
    }
    j->running++;
  }
  json_decref(o);
  int64_t left = j->max_run_ms - (smf_time_now_ms() - j->started_ms);
  uv_timer_start(&j->max_timer, job_on_max_run, (uint64_t)(left > 0 ? left : 0), 0);
  return 0;
fail:
  json_decref(o);
  local_job_free(j);
  return rc;
}

int local_job_stop(struct target_job *base, struct smf_error *err)
{
  (void)err;
  struct local_job *j = (struct local_job *)base;
  if (j->collecting) {
    return 0;  // every host already ended: the job completes
  }
  j->stop_requested = true;
  if (!j->preparing) {
    job_stop_hosts(j);
  }
  return 0;
}

void local_job_detach(struct target_job *base)
{
  struct local_job *j = (struct local_job *)base;
  j->detached = true;
  if (!j->preparing && !j->collecting) {
    local_job_free(j);  // the hosts run on in their own sessions
  }
}

bool local_channel_name_ok(const char *name)
{
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > 64 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    return false;
  }
  for (const char *p = name; *p; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool local_entry_point_ok(const char *path)
{
  if (path == NULL || *path == '\0' || *path == '/') {
    return false;
  }
  for (const char *seg = path; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
    if (strncmp(seg, "..", 2) == 0 && (seg[2] == '/' || seg[2] == '\0')) {
      return false;
    }
  }
  return true;
}
