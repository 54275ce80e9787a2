// aws_it_faults.c: the client through mitmproxy with tests/tools/faults.py in
// front of moto: throttling and 5xx answers, connection resets, an answer
// dropped after moto acted (the ambiguous outcome), the retry quota, clock skew.
#include <jansson.h>
#include <string.h>

#include "aws_it.h"

struct it_res {
  int done, code, attempts;
  bool resolved;
  struct smf_error err;
};

static void it_res_cb(struct aws_result *res, void *data)
{
  struct it_res *r = data;
  r->done = 1;
  r->code = res->code;
  r->attempts = res->attempts;
  r->resolved = res->resolved;
  if (res->code) {
    r->err = res->err;
  }
}

static struct it_res put(struct aws_client *c, const char *key)
{
  struct it_res r = {0};
  struct smf_error e = SMF_ERROR_INIT;
  struct aws_kv hs[] = {{"Content-Type", "text/plain"}};
  struct aws_request q = AWS_REQUEST_INIT;
  q.service = AWS_SVC_S3;
  q.op = "PutObject";
  q.method = "PUT";
  q.bucket = "smf-it";
  char path[128];
  snprintf(path, sizeof path, "/%s", key);
  q.path = path;
  q.headers = hs;
  q.n_headers = 1;
  q.body = "payload";
  q.body_len = 7;
  q.checksum = true;
  q.idempotent = true;
  CHECK_OK(aws_call_start(c, &q, it_res_cb, &r, NULL, &e), &e);
  it_wait(&r.done);
  return r;
}

static struct it_res head(struct aws_client *c, const char *key)
{
  struct it_res r = {0};
  struct smf_error e = SMF_ERROR_INIT;
  char path[128];
  snprintf(path, sizeof path, "/%s", key);
  struct aws_request q = AWS_REQUEST_INIT;
  q.service = AWS_SVC_S3;
  q.op = "HeadObject";
  q.method = "HEAD";
  q.bucket = "smf-it";
  q.path = path;
  q.idempotent = true;
  CHECK_OK(aws_call_start(c, &q, it_res_cb, &r, NULL, &e), &e);
  it_wait(&r.done);
  return r;
}

struct ambiguous {
  struct aws_client *c;
  int hook_calls;
  struct aws_call *call;
};

static void ambiguous_describe_done(json_t *res, const struct smf_error *err, void *data)
{
  struct ambiguous *a = data;
  // The job exists: moto created it before its answer was dropped.
  if (res && json_object_get(res, "TrainingJobArn")) {
    aws_call_resolve(a->call, AWS_VERDICT_DONE);
  } else if (err && err->http_status == 400) {
    aws_call_resolve(a->call, AWS_VERDICT_RETRY);
  } else {
    aws_call_resolve(a->call, AWS_VERDICT_FAIL);
  }
}

static void on_ambiguous(struct aws_call *call, void *data)
{
  struct ambiguous *a = data;
  a->hook_calls++;
  a->call = call;
  printf("ambiguous outcome of %s: describing by name\n", aws_call_op(call));
  struct smf_error e = SMF_ERROR_INIT;
  json_t *b = json_pack("{s:s}", "TrainingJobName", "fault-drop");
  if (aws_sagemaker_describe_training_job(a->c, b, NULL, ambiguous_describe_done, a, &e) != 0) {
    aws_call_resolve(call, AWS_VERDICT_FAIL);
  }
  json_decref(b);
}

static int count_jobs(struct aws_client *c, const char *name)
{
  struct smf_error e = SMF_ERROR_INIT;
  json_t *r = it_sm(c, "ListTrainingJobs", json_pack("{s:s}", "NameContains", name), &e);
  CHECK_OK(r ? 0 : -1, &e);
  int n = 0;
  json_t *s;
  size_t i;
  json_array_foreach(json_object_get(r, "TrainingJobSummaries"), i, s) {
    n += strcmp(json_string_value(json_object_get(s, "TrainingJobName")), name) == 0;
  }
  json_decref(r);
  return n;
}

int it_faults(const char *proxy)
{
  struct aws_client *c = it_client(proxy);
  struct smf_error e = SMF_ERROR_INIT;
  // 503 SlowDown twice, then through: three attempts, two retries paid from the quota.
  struct it_res r = put(c, "fault-slowdown");
  CHECK(r.code == 0 && r.attempts == 3);
  // Two retries took 5 each; success gives back the last acquisition only (botocore).
  CHECK(aws_client_retry_quota(c) == 495);
  printf("slowdown: recovered after %d attempts\n", r.attempts);
  // A reset connection on an idempotent HeadObject: retried.
  CHECK(put(c, "fault-reset").code == 0);
  r = head(c, "fault-reset");
  CHECK(r.code == 0 && r.attempts == 2);
  printf("reset: recovered after %d attempts\n", r.attempts);
  // ThrottlingException (JSON __type) on DescribeTrainingJob: retried.
  json_t *j = it_sm(c, "CreateTrainingJob", it_training_body("fault-throttle"), &e);
  CHECK_OK(j ? 0 : -1, &e);
  json_decref(j);
  uint64_t before = aws_client_attempts(c);
  j = it_sm(c, "DescribeTrainingJob", json_pack("{s:s}", "TrainingJobName", "fault-throttle"), &e);
  CHECK_OK(j ? 0 : -1, &e);
  json_decref(j);
  CHECK(aws_client_attempts(c) - before == 2);
  printf("throttling: recovered\n");
  // Always 503: gives up after max attempts (3) with the service's error.
  int quota = aws_client_retry_quota(c);
  r = put(c, "fault-always");
  CHECK(r.code == SMF_EAWS && r.attempts == 3 && strcmp(r.err.aws_code, "SlowDown") == 0);
  CHECK(r.err.http_status == 503 && strcmp(r.err.request_id, "FAULT-SlowDown") == 0);
  CHECK(aws_client_retry_quota(c) == quota - 10);
  printf("always 503: %s\n", r.err.message);
  // The answer to CreateTrainingJob is dropped after moto created the job: no
  // blind resend; the hook finds the job and the call completes as done.
  struct ambiguous a = {.c = c};
  struct it_json jr = {0};
  struct aws_json_opts opts = {.on_ambiguous = on_ambiguous, .ambiguous_data = &a};
  json_t *body = it_training_body("fault-drop");
  CHECK_OK(aws_sagemaker_create_training_job(c, body, &opts, it_json_cb, &jr, &e), &e);
  json_decref(body);
  it_wait(&jr.done);
  if (!jr.res) {
    fprintf(stderr, "create (dropped answer): %s [hook calls %d]\n", jr.err.message, a.hook_calls);
  }
  CHECK(jr.res != NULL && a.hook_calls == 1);
  json_decref(jr.res);
  CHECK(count_jobs(c, "fault-drop") == 1);
  printf("dropped answer: resolved by the hook, exactly one job\n");
  // Without a hook, a non-idempotent call with an unknown outcome fails at once.
  before = aws_client_attempts(c);
  json_t *m = it_sm(c, "CreateModel",
                    json_pack("{s:s, s:{s:s}, s:s}", "ModelName", "fault-drop-model",
                              "PrimaryContainer", "Image", "x:1", "ExecutionRoleArn",
                              "arn:aws:iam::123456789012:role/smflow-test"),
                    &e);
  CHECK(m == NULL && e.code == SMF_EHTTP && strstr(e.message, "outcome is unknown"));
  CHECK(aws_client_attempts(c) - before == 1);
  printf("dropped answer without hook: %s\n", e.message);
  it_close(c);
  return 0;
}

int it_skew(const char *proxy)
{
  struct aws_client *c = it_client(proxy);
  struct it_res r = head(c, "fault-reset");
  if (r.code || r.attempts != 2) {
    fprintf(stderr, "skew: %s (%d attempts)\n", r.err.message, r.attempts);
  }
  CHECK(r.code == 0 && r.attempts == 2);
  int64_t skew = aws_client_clock_skew_ms(c);
  printf("skew: corrected by %lld ms after %d attempts\n", (long long)skew, r.attempts);
  CHECK(skew > 10 * 60 * 1000 || skew < -10 * 60 * 1000);
  r = head(c, "fault-reset");  // signed at the corrected time from the start
  CHECK(r.code == 0 && r.attempts == 1);
  it_close(c);
  return 0;
}
