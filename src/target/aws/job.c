// job.c: one SageMaker job (training or processing) driven exactly once.
//
//   start:  STARTED (intent {job_name, fingerprint}) is delivered first — the
//           step commits it synchronously — and only then Create* is sent.
//   Create: success → poll. ResourceInUse → adopt: Describe + ListTags, and the
//           job is ours when its smflow:fingerprint tag matches. An ambiguous
//           failure (the answer was lost) goes to the client's ambiguous-outcome
//           hook, which asks Describe: the job exists and is ours → done; it
//           does not → send again; anything else → fail.
//   attach: Describe by name; a job that is not there was never created: Create.
//   poll:   Describe* under the client's shared rate limit, adaptive interval
//           (SMFLOW_AWS_POLL_MS first, ×1.5 up to SMFLOW_AWS_POLL_MAX_MS), and a
//           round of CloudWatch log tailing after each Describe (logs.c).
//   stop:   Stop*, then polling goes on until the job is Stopped.
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"
#include "target/aws/awst_job.h"

static void job_poll_later(struct awst_job *j, int64_t ms);
static void job_describe(struct awst_job *j);

static bool job_not_found(const struct smf_error *err)
{
  return strcmp(err->aws_code, "ResourceNotFound") == 0 ||
         (strcmp(err->aws_code, "ValidationException") == 0 &&
          (strcasestr(err->message, "not found") || strcasestr(err->message, "could not find")));
}

static void job_release(struct awst_job *j)
{
  awst_logs_free(&j->logs);
  if (j->kind->free_extra) {
    j->kind->free_extra(j);
  }
  json_decref(j->body);
  free(j->name);
  free(j->fp);
  free(j->image);
  free(j->arn);
  free(j->output_path);
  free(j->intent);
  free(j->extra);
  free(j->secondary);
  json_decref(j->last);
  awst_live_remove(j->t, &j->live);
  free(j);
}

// Throttling, 5xx and transport failures that outlasted the client's own
// retries: the job goes on (Describe again, or Create again, later) instead
// of burning the step's attempt. Logged so that a long storm is visible.
static bool job_transient(struct awst_job *j, const char *what, const struct smf_error *err)
{
  enum smf_errclass c = awst_api_class(err);
  if (c != SMF_CLASS_THROTTLING && c != SMF_CLASS_INTERNAL_SERVER) {
    return false;
  }
  j->transient++;
  char line[1200];
  struct smf_error e = *err;
  char subject[200];
  snprintf(subject, sizeof(subject), "%s %s", j->kind->what, j->name);
  awst_error_context(&e, subject, what);
  snprintf(line, sizeof(line), "%s; trying again", e.message);
  struct target_event ev = {
      .type = TARGET_EVENT_LOG, .job_name = j->name, .host = "smflow", .line = line};
  j->cb(j->data, &ev);
  return true;
}

static int64_t job_backoff(struct awst_job *j)
{
  int64_t ms = awst_of(j->t)->poll_min_ms << (j->transient < 6 ? j->transient : 6);
  return ms < awst_of(j->t)->poll_max_ms ? ms : awst_of(j->t)->poll_max_ms;
}

static void job_on_timer_closed(uv_handle_t *h)
{
  struct awst_job *j = h->data;
  j->timer_closed = true;
  if (j->inflight == 0) {
    job_release(j);
  }
}

void awst_job_call_started(struct awst_job *j)
{
  j->inflight++;
}

bool awst_job_callback(struct awst_job *j)
{
  j->inflight--;
  if (j->phase != AWST_J_DONE) {
    return true;
  }
  if (j->timer_closed && j->inflight == 0) {
    job_release(j);
  }
  return false;
}

void awst_job_emit_done(struct awst_job *j, const struct target_job_result *res,
                        const struct smf_error *err)
{
  j->phase = AWST_J_DONE;
  uv_timer_stop(&j->timer);
  struct target_event ev = {
      .type = TARGET_EVENT_DONE, .job_name = j->name, .result = res, .err = err};
  j->cb(j->data, &ev);
  uv_close((uv_handle_t *)&j->timer, job_on_timer_closed);
}

// A failure before the job reached a final state (API error).
static void job_fail_api(struct awst_job *j, const char *what, const struct smf_error *err)
{
  struct smf_error e = *err;
  char subject[200];
  snprintf(subject, sizeof(subject), "%s %s", j->kind->what, j->name);
  awst_error_context(&e, subject, what);
  if (e.klass == SMF_CLASS_NONE) {
    e.klass = awst_api_class(err);
  }
  struct target_job_result r = {.job_name = j->name,
                                .job_arn = j->arn,
                                .status = TARGET_JOB_FAILED,
                                .failure_reason = e.message,
                                .klass = e.klass,
                                .image_uri = j->image,
                                .exit_code = -1};
  awst_job_emit_done(j, &r, &e);
}

// ---- final state -----------------------------------------------------------------

static void job_terminal(struct awst_job *j, json_t *d)
{
  const char *st = json_string_value(json_object_get(d, j->kind->status_field));
  if (j->arn == NULL && json_string_value(json_object_get(d, j->kind->arn_field))) {
    j->arn = smf_xstrdup(json_string_value(json_object_get(d, j->kind->arn_field)));
  }
  if (strcmp(st, "Completed") == 0) {
    j->kind->finish(j, d);  // calls awst_job_emit_done, maybe later
    return;
  }
  const char *reason = json_string_value(json_object_get(d, "FailureReason"));
  const char *sec = json_string_value(json_object_get(d, "SecondaryStatus"));
  bool stopped = strcmp(st, "Stopped") == 0;
  struct target_job_result r = {.job_name = j->name,
                                .job_arn = j->arn,
                                .image_uri = j->image,
                                .status = stopped ? TARGET_JOB_STOPPED : TARGET_JOB_FAILED,
                                .failure_reason = reason,
                                .exit_code = -1};
  r.klass = stopped ? SMF_CLASS_NONE : awst_failure_class(reason, sec);
  struct smf_error e = SMF_ERROR_INIT;
  SMF_ERR_SET(&e, stopped ? SMF_ECANCELLED : SMF_ECHILD, "%s %s %s%s%s%s%s%s", j->kind->what,
              j->name, stopped ? "was stopped" : "failed", reason ? ": " : "", reason ? reason : "",
              sec ? " (last status: " : "", sec ? sec : "", sec ? ")" : "");
  e.klass = r.klass;
  awst_job_emit_done(j, &r, &e);
}

// ---- polling ---------------------------------------------------------------------

static void job_after_logs(void *data)
{
  struct awst_job *j = data;
  if (!awst_job_callback(j)) {
    return;
  }
  json_t *d = j->last;
  j->last = NULL;
  const char *st = json_string_value(json_object_get(d, j->kind->status_field));
  if (st &&
      (strcmp(st, "Completed") == 0 || strcmp(st, "Failed") == 0 || strcmp(st, "Stopped") == 0)) {
    job_terminal(j, d);
  } else {
    int64_t next = j->interval_ms;
    j->interval_ms = j->interval_ms * 3 / 2;
    if (j->interval_ms > awst_of(j->t)->poll_max_ms) {
      j->interval_ms = awst_of(j->t)->poll_max_ms;
    }
    job_poll_later(j, next);
  }
  json_decref(d);
}

static void job_stop_cb(json_t *res, const struct smf_error *err, void *data)
{
  (void)res;
  struct awst_job *j = data;
  if (!awst_job_callback(j)) {
    return;
  }
  if (err && j->phase != AWST_J_DONE) {
    j->cb(
        j->data,
        &(struct target_event){
            .type = TARGET_EVENT_LOG, .job_name = j->name, .host = "smflow", .line = err->message});
  }
}

static void job_send_stop(struct awst_job *j)
{
  if (j->stop_sent || j->phase != AWST_J_POLL) {
    return;
  }
  j->stop_sent = true;
  json_t *b = json_pack("{s:s}", j->kind->name_field, j->name);
  struct smf_error e = SMF_ERROR_INIT;
  if (aws_sagemaker_call(awst_of(j->t)->client, j->kind->stop_op, b, NULL, job_stop_cb, j, &e) ==
      0) {
    awst_job_call_started(j);
  }
  json_decref(b);
}

// A training job's SecondaryStatus as it changes ("Downloading - Downloading
// input data"), as the SDK's log printer shows it.
static void job_secondary_status(struct awst_job *j, json_t *d)
{
  const char *sec = json_string_value(json_object_get(d, "SecondaryStatus"));
  if (sec == NULL || (j->secondary && strcmp(j->secondary, sec) == 0)) {
    return;
  }
  free(j->secondary);
  j->secondary = smf_xstrdup(sec);
  json_t *tr = json_object_get(d, "SecondaryStatusTransitions");
  const char *msg = json_string_value(
      json_object_get(json_array_get(tr, json_array_size(tr) - 1), "StatusMessage"));
  char line[512];
  snprintf(line, sizeof(line), "%s%s%s", sec, msg ? " - " : "", msg ? msg : "");
  struct target_event ev = {
      .type = TARGET_EVENT_LOG, .job_name = j->name, .host = "sagemaker", .line = line};
  j->cb(j->data, &ev);
}

static void job_describe_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct awst_job *j = data;
  if (!awst_job_callback(j)) {
    return;
  }
  if (res == NULL) {
    if (j->phase == AWST_J_ATTACH && job_not_found(err)) {
      awst_job_create(j);  // the intent was committed but Create never got through
      return;
    }
    if (job_transient(j, "Describe", err)) {
      job_poll_later(j, job_backoff(j));
      return;
    }
    job_fail_api(j, j->kind->describe_op, err);
    return;
  }
  if (j->phase == AWST_J_ATTACH) {
    j->phase = AWST_J_POLL;
  }
  if (j->stop_requested) {
    job_send_stop(j);
  }
  job_secondary_status(j, res);
  j->last = json_incref(res);
  awst_job_call_started(j);  // the log round counts as one call
  awst_logs_round(&j->logs, job_after_logs, j);
}

static void job_describe(struct awst_job *j)
{
  json_t *b = json_pack("{s:s}", j->kind->name_field, j->name);
  struct smf_error e = SMF_ERROR_INIT;
  int rc = aws_sagemaker_call(awst_of(j->t)->client, j->kind->describe_op, b, NULL, job_describe_cb,
                              j, &e);
  json_decref(b);
  if (rc != 0) {
    job_fail_api(j, j->kind->describe_op, &e);
    return;
  }
  awst_job_call_started(j);
}

static void job_timer_cb(uv_timer_t *t)
{
  struct awst_job *j = t->data;
  if (j->phase == AWST_J_RECREATE) {
    awst_job_create(j);
    return;
  }
  if (j->phase == AWST_J_STARTING) {
    struct target_event ev = {
        .type = TARGET_EVENT_STARTED, .job_name = j->name, .intent = j->intent};
    j->cb(j->data, &ev);
    awst_job_create(j);
    return;
  }
  job_describe(j);
}

static void job_poll_later(struct awst_job *j, int64_t ms)
{
  uv_timer_start(&j->timer, job_timer_cb, (uint64_t)(ms > 0 ? ms : 0), 0);
}

// ---- adopting a job that already exists ------------------------------------------

static void job_adopt_done(struct awst_job *j, int verdict, const struct smf_error *err)
{
  if (j->amb_call) {
    struct aws_call *c = j->amb_call;
    j->amb_call = NULL;
    aws_call_resolve(c, verdict == 1   ? AWS_VERDICT_DONE
                        : verdict == 0 ? AWS_VERDICT_RETRY
                                       : AWS_VERDICT_FAIL);
    return;  // the Create callback continues
  }
  if (verdict == 1) {
    j->phase = AWST_J_POLL;
    job_poll_later(j, 0);
    return;
  }
  struct smf_error e = SMF_ERROR_INIT;
  if (err) {
    e = *err;
  } else {
    SMF_ERR_SET(&e, SMF_EEXISTS,
                "a %s named %s exists but was not created for this step (fingerprint differs)",
                j->kind->what, j->name);
    e.klass = SMF_CLASS_CLIENT;
  }
  job_fail_api(j, j->kind->create_op, &e);
}

static void job_tags_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct awst_job *j = data;
  if (!awst_job_callback(j)) {
    return;
  }
  if (res == NULL) {
    job_adopt_done(j, -1, err);
    return;
  }
  size_t i;
  json_t *tag;
  bool ours = false;
  json_array_foreach(json_object_get(res, "Tags"), i, tag)
  {
    const char *k = json_string_value(json_object_get(tag, "Key"));
    const char *v = json_string_value(json_object_get(tag, "Value"));
    ours = ours || (k && v && strcmp(k, "smflow:fingerprint") == 0 && strcmp(v, j->fp) == 0);
  }
  job_adopt_done(j, ours ? 1 : -1, NULL);
}

static void job_adopt_describe_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct awst_job *j = data;
  if (!awst_job_callback(j)) {
    return;
  }
  if (res == NULL) {
    job_adopt_done(j, job_not_found(err) ? 0 : -1, job_not_found(err) ? NULL : err);
    return;
  }
  const char *arn = json_string_value(json_object_get(res, j->kind->arn_field));
  free(j->arn);
  j->arn = arn ? smf_xstrdup(arn) : NULL;
  json_t *b = json_pack("{s:s}", "ResourceArn", arn ? arn : "");
  struct smf_error e = SMF_ERROR_INIT;
  int rc = aws_sagemaker_call(awst_of(j->t)->client, "ListTags", b, NULL, job_tags_cb, j, &e);
  json_decref(b);
  if (rc != 0) {
    job_adopt_done(j, -1, &e);
    return;
  }
  awst_job_call_started(j);
}

static void job_adopt(struct awst_job *j)
{
  json_t *b = json_pack("{s:s}", j->kind->name_field, j->name);
  struct smf_error e = SMF_ERROR_INIT;
  int rc = aws_sagemaker_call(awst_of(j->t)->client, j->kind->describe_op, b, NULL,
                              job_adopt_describe_cb, j, &e);
  json_decref(b);
  if (rc != 0) {
    job_adopt_done(j, -1, &e);
    return;
  }
  awst_job_call_started(j);
}

static void job_ambiguous(struct aws_call *call, void *data)
{
  struct awst_job *j = data;
  j->amb_call = call;
  j->ambiguous++;
  job_adopt(j);
}

// ---- create ----------------------------------------------------------------------

static void job_create_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct awst_job *j = data;
  if (!awst_job_callback(j)) {
    return;
  }
  if (res == NULL) {
    if (strcmp(err->aws_code, "ResourceInUse") == 0) {
      job_adopt(j);
      return;
    }
    if (!err->code || err->code != SMF_EHTTP) {  // an answer: the service did not act
      if (job_transient(j, j->kind->create_op, err)) {
        j->phase = AWST_J_RECREATE;
        job_poll_later(j, job_backoff(j));
        return;
      }
    }
    job_fail_api(j, j->kind->create_op, err);
    return;
  }
  const char *arn = json_string_value(json_object_get(res, j->kind->arn_field));
  if (arn) {
    free(j->arn);
    j->arn = smf_xstrdup(arn);
  }
  j->phase = AWST_J_POLL;
  if (j->stop_requested) {
    job_send_stop(j);
  }
  job_poll_later(j, awst_of(j->t)->poll_min_ms);
}

static void job_send_create(struct awst_job *j)
{
  struct aws_json_opts opts = {.on_ambiguous = job_ambiguous, .ambiguous_data = j};
  struct smf_error e = SMF_ERROR_INIT;
  if (aws_sagemaker_call(awst_of(j->t)->client, j->kind->create_op, j->body, &opts, job_create_cb,
                         j, &e) != 0) {
    job_fail_api(j, j->kind->create_op, &e);
    return;
  }
  awst_job_call_started(j);
}

static void job_bucket_cb(void *data, int status, const struct smf_error *err)
{
  struct awst_job *j = data;
  if (!awst_job_callback(j)) {
    return;
  }
  if (status != 0) {
    job_fail_api(j, "CreateBucket", err);
    return;
  }
  job_send_create(j);
}

// Jobs that write to the default bucket need it to exist (the SDK's
// Session.default_bucket() creates it when an output path uses it).
void awst_job_create(struct awst_job *j)
{
  j->phase = AWST_J_CREATE;
  struct awst *a = awst_of(j->t);
  char *text = json_dumps(j->body, JSON_COMPACT);
  char *needle = smf_xasprintf("s3://%s/", a->default_bucket);
  bool uses = strstr(text, needle) != NULL;
  free(text);
  free(needle);
  struct smf_error e = SMF_ERROR_INIT;
  if (uses && !a->default_bucket_ready) {
    if (awst_bucket_ensure(j->t, a->default_bucket, job_bucket_cb, j, &e) != 0) {
      job_fail_api(j, "CreateBucket", &e);
      return;
    }
    awst_job_call_started(j);
    return;
  }
  job_send_create(j);
}

// ---- the handle ------------------------------------------------------------------

// target_close: no events from now on; released once its calls came back.
static void job_quiesce(struct awst_live *l)
{
  struct awst_job *j = (struct awst_job *)((char *)l - offsetof(struct awst_job, live));
  if (j->phase == AWST_J_DONE) {
    return;  // its timer is closing already
  }
  j->phase = AWST_J_DONE;
  uv_timer_stop(&j->timer);
  uv_close((uv_handle_t *)&j->timer, job_on_timer_closed);
}

void awst_job_detach(struct target_job *tj)
{
  job_quiesce(&((struct awst_job *)tj)->live);
}

struct awst_job *awst_job_new(struct target *t, const struct awst_job_kind *kind, json_t *body,
                              const char *name, target_event_cb cb, void *data)
{
  struct awst_job *j = smf_xcalloc(1, sizeof(*j));
  j->base.target = t;
  j->base.ops = kind->ops;
  j->kind = kind;
  j->t = t;
  j->body = body;
  j->name = smf_xstrdup(name);
  j->fp = awst_fingerprint(body);
  j->cb = cb;
  j->data = data;
  j->interval_ms = awst_of(t)->poll_min_ms;
  uv_timer_init(t->loop, &j->timer);
  j->timer.data = j;
  json_t *intent =
      json_pack("{s:s, s:s, s:s}", "target", "aws", "job_name", name, "fingerprint", j->fp);
  j->intent = json_dumps(intent, JSON_COMPACT);
  json_decref(intent);
  awst_logs_init(&j->logs, t, kind->log_group, name, cb, data);
  awst_live_add(t, &j->live, job_quiesce);
  return j;
}

static void job_go_staged(struct awst_job *j, bool attach)
{
  if (attach) {
    j->phase = AWST_J_ATTACH;
    awst_logs_load(&j->logs);
    job_describe(j);
    return;
  }
  j->phase = AWST_J_STARTING;
  job_poll_later(j, 0);
}

// Local inputs are in S3 now: the body (and so its fingerprint) changed.
static void job_staged(struct awst_job *j, int status, const struct smf_error *err)
{
  if (status != 0) {
    job_fail_api(j, "uploading local inputs", err);
    return;
  }
  free(j->fp);
  j->fp = awst_fingerprint(j->body);
  size_t i;
  json_t *tag;
  json_array_foreach(json_object_get(j->body, "Tags"), i, tag)
  {
    const char *k = json_string_value(json_object_get(tag, "Key"));
    if (k && strcmp(k, "smflow:fingerprint") == 0) {
      json_object_set_new(tag, "Value", json_string(j->fp));
    }
  }
  free(j->intent);
  json_t *intent =
      json_pack("{s:s, s:s, s:s}", "target", "aws", "job_name", j->name, "fingerprint", j->fp);
  j->intent = json_dumps(intent, JSON_COMPACT);
  json_decref(intent);
  job_go_staged(j, j->attach);
}

void awst_job_go(struct awst_job *j, bool attach)
{
  j->attach = attach;
  j->phase = AWST_J_STAGING;
  if (awst_stage(j, job_staged) == 0) {
    job_go_staged(j, attach);
  }
}

int awst_job_stop(struct target_job *tj, struct smf_error *err)
{
  (void)err;
  struct awst_job *j = (struct awst_job *)tj;
  if (j->phase == AWST_J_DONE) {
    return 0;
  }
  j->stop_requested = true;
  job_send_stop(j);
  return 0;
}
