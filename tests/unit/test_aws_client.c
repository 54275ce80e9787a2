// test_aws_client.c: the AWS client's call machinery (signing, retries, the
// retry quota, rate limits, ambiguous outcomes, cancel and close) against a
// real local HTTP server (tests/tools/http_test_server.py).
#include <jansson.h>
#include <signal.h>
#include <uv.h>

#include "smflow/aws.h"
#include "test.h"
#include "test_server.h"

static struct test_server server;
static uv_loop_t loop;

struct res {
  int done, code, attempts;
  long status;
  struct smf_error err;
  char body[512];
  uint64_t at_ms;
};

static void on_res(struct aws_result *r, void *data)
{
  struct res *x = data;
  x->done++;
  x->code = r->code;
  x->attempts = r->attempts;
  x->status = r->status;
  x->err = r->err;
  snprintf(x->body, sizeof x->body, "%.500s", r->body);
  x->at_ms = uv_now(&loop);
}

static struct aws_client *client(int max_attempts)
{
  char *ep = smf_xasprintf("http://127.0.0.1:%d", server.port);
  struct aws_client_config cfg = {
      .region = "eu-west-1", .endpoint_url = ep, .max_attempts = max_attempts, .random_seed = 7};
  struct aws_client *c = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_client_new(&loop, &cfg, &c, &err), 0);
  free(ep);
  struct aws_creds cr = AWS_CREDS_INIT;
  aws_creds_set(&cr, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN1", 0, "test");
  aws_client_set_creds(c, &cr);
  aws_creds_clear(&cr);
  return c;
}

static void on_closed(void *data)
{
  (*(int *)data)++;
}

static void close_client(struct aws_client *c)
{
  int closed = 0;
  aws_client_close(c, on_closed, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(closed, 1);
}

static struct aws_request s3_req(const char *method, const char *path)
{
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_S3;
  r.op = "GetObject";
  r.method = method;
  r.bucket = "bkt";
  r.path = path;
  r.idempotent = true;
  return r;
}

static void start(struct aws_client *c, const struct aws_request *r, struct res *x,
                  struct aws_call **out)
{
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_call_start(c, r, on_res, x, out, &err), 0);
}

TEST(signed_request)
{
  struct aws_client *c = client(0);
  struct res x = {0};
  struct aws_kv q[] = {{"prefix", "a b/c"}, {"list-type", "2"}};
  struct aws_request r = s3_req("GET", "/echo");
  r.query = q;
  r.n_query = 2;
  start(c, &r, &x, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(x.code, 0);
  ASSERT_EQ(x.attempts, 1);
  // Path-style on a loopback endpoint; the query is encoded strictly.
  ASSERT_CONTAINS(x.body, "\"path\": \"/bkt/echo?prefix=a%20b%2Fc&list-type=2\"");
  ASSERT_CONTAINS(x.body, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/");
  ASSERT_CONTAINS(x.body, "/eu-west-1/s3/aws4_request");
  ASSERT_CONTAINS(x.body, "\"x-amz-security-token\": \"TOKEN1\"");
  ASSERT_CONTAINS(x.body, "\"x-amz-content-sha256\": \"e3b0c44298fc1c149afbf4c8996fb924");
  ASSERT(strstr(x.body, "wJalrXUtnFEMI") == NULL);  // the secret never travels
  close_client(c);
}

TEST(virtual_hosted)
{
  // curl resolves every *.localhost name to the loopback address.
  char *ep = smf_xasprintf("http://localhost:%d", server.port);
  struct aws_client_config cfg = {.region = "eu-west-1", .endpoint_url = ep,
                                  .s3_virtual_style = true};
  struct aws_client *c = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_client_new(&loop, &cfg, &c, &err), 0);
  free(ep);
  struct aws_creds cr = AWS_CREDS_INIT;
  aws_creds_set(&cr, "AKIDEXAMPLE", "secret", NULL, 0, "test");
  aws_client_set_creds(c, &cr);
  aws_creds_clear(&cr);
  struct res x = {0};
  struct aws_request r = s3_req("GET", "/key/echo");
  start(c, &r, &x, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(x.code, 0);
  char host[64];
  snprintf(host, sizeof host, "\"host\": \"bkt.localhost:%d\"", server.port);
  ASSERT_CONTAINS(x.body, host);
  ASSERT_CONTAINS(x.body, "\"path\": \"/key/echo\"");
  // A bucket name with a dot cannot be a host label: path-style.
  memset(&x, 0, sizeof x);
  r.bucket = "my.bucket";
  start(c, &r, &x, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_CONTAINS(x.body, "\"path\": \"/my.bucket/key/echo\"");
  close_client(c);
}

TEST(retries_and_quota)
{
  struct aws_client *c = client(3);
  struct res x = {0};
  struct aws_request r = s3_req("GET", "/status?code=503");
  r.path = "/status";
  struct aws_kv q[] = {{"code", "503"}};
  r.query = q;
  r.n_query = 1;
  start(c, &r, &x, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(x.code, SMF_EAWS);
  ASSERT_EQ(x.attempts, 3);
  ASSERT_EQ(x.err.http_status, 503);
  ASSERT_STREQ(x.err.aws_code, "SlowDown");
  ASSERT_STREQ(x.err.request_id, "REQ-503");
  ASSERT_EQ(x.err.klass, SMF_CLASS_THROTTLING);
  ASSERT_CONTAINS(x.err.message,
                  "S3 GetObject: HTTP 503 SlowDown: Please reduce your request rate");
  ASSERT_CONTAINS(x.err.message, "(request id REQ-503)");
  ASSERT_EQ(aws_client_retry_quota(c), 490);
  // A 400 is final at once; a success without retry refunds one token.
  struct res y = {0};
  struct aws_request bad = s3_req("GET", "/jsonerr");
  start(c, &bad, &y, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(y.attempts, 1);
  ASSERT_EQ(y.err.http_status, 400);
  struct res z = {0};
  struct aws_request ok = s3_req("GET", "/echo");
  start(c, &ok, &z, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(z.code, 0);
  ASSERT_EQ(aws_client_retry_quota(c), 491);
  close_client(c);
  // AWS_MAX_ATTEMPTS applies when the configuration does not say.
  setenv("AWS_MAX_ATTEMPTS", "1", 1);
  c = client(0);
  memset(&x, 0, sizeof x);
  q[0].value = "500";
  start(c, &r, &x, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(x.attempts, 1);
  ASSERT_EQ(x.err.http_status, 500);
  unsetenv("AWS_MAX_ATTEMPTS");
  close_client(c);
}

TEST(json_errors_and_ambiguous)
{
  struct aws_client *c = client(3);
  struct res x = {0};
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_SAGEMAKER;
  r.op = "CreateTrainingJob";
  r.method = "POST";
  r.path = "/jsonerr";
  r.body = "{}";
  r.body_len = 2;
  start(c, &r, &x, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(x.err.http_status, 400);
  ASSERT_STREQ(x.err.aws_code, "ValidationException");
  // "Service Operation: HTTP status Code: message", the operation named once
  ASSERT_CONTAINS(x.err.message,
                  "SageMaker CreateTrainingJob: HTTP 400 ValidationException: bad value");
  ASSERT(strstr(x.err.message, ": :") == NULL);
  ASSERT_EQ(x.err.klass, SMF_CLASS_CLIENT);
  // The server hangs up after reading: a non-idempotent call is not resent...
  struct res y = {0};
  r.path = "/drop";
  start(c, &r, &y, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(y.code, SMF_EHTTP);
  ASSERT_EQ(y.attempts, 1);
  ASSERT_CONTAINS(y.err.message, "outcome is unknown");
  // ...an idempotent one is.
  struct res z = {0};
  r.idempotent = true;
  start(c, &r, &z, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(z.code, SMF_EHTTP);
  ASSERT_EQ(z.attempts, 3);
  close_client(c);
}

static int verdicts;

static void resolve_retry_then_done(struct aws_call *call, void *data)
{
  (void)data;
  verdicts++;
  aws_call_resolve(call, verdicts == 1 ? AWS_VERDICT_RETRY : AWS_VERDICT_DONE);
}

TEST(ambiguous_hook)
{
  struct aws_client *c = client(3);
  struct res x = {0};
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_SAGEMAKER;
  r.op = "CreateModel";
  r.method = "POST";
  r.path = "/drop";
  r.body = "{}";
  r.body_len = 2;
  r.on_ambiguous = resolve_retry_then_done;
  start(c, &r, &x, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(verdicts, 2);
  ASSERT_EQ(x.code, 0);
  ASSERT_EQ(x.attempts, 2);
  close_client(c);
}

TEST(rate_limit)
{
  struct aws_client *c = client(0);
  aws_client_set_rate(c, AWS_SVC_S3, "Head", 20.0, 1.0);
  enum { N = 10 };
  struct res xs[N];
  memset(xs, 0, sizeof xs);
  uint64_t t0 = uv_now(&loop);
  for (int i = 0; i < N; i++) {
    struct aws_request r = s3_req("HEAD", "/echo");
    r.op = "HeadObject";
    start(c, &r, &xs[i], NULL);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uint64_t last = 0;
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(xs[i].code, 0);
    last = xs[i].at_ms > last ? xs[i].at_ms : last;
  }
  // Nine waits of 1/20 s: the last starts 450 ms after the first.
  ASSERT(last - t0 >= 440);
  close_client(c);
}

TEST(cancel_and_close)
{
  struct aws_client *c = client(0);
  struct res a = {0}, b = {0}, d = {0};
  struct aws_call *call = NULL;
  struct aws_request r = s3_req("GET", "/sleep");
  struct aws_kv q[] = {{"ms", "5000"}};
  r.query = q;
  r.n_query = 1;
  start(c, &r, &a, &call);
  start(c, &r, &b, NULL);
  struct aws_request back = s3_req("GET", "/status");
  struct aws_kv q2[] = {{"code", "503"}};
  back.query = q2;
  back.n_query = 1;
  start(c, &back, &d, NULL);  // soon waiting in backoff
  uint64_t t0 = uv_hrtime();
  aws_call_cancel(call);
  ASSERT_EQ(a.done, 0);  // never from inside the cancel
  while (!a.done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  ASSERT_EQ(a.code, SMF_ECANCELLED);
  while (!d.attempts && !d.done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  int closed = 0;
  aws_client_close(c, on_closed, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(closed, 1);
  ASSERT_EQ(b.done, 1);
  ASSERT_EQ(b.code, SMF_ECANCELLED);
  ASSERT_EQ(d.done, 1);
  ASSERT((uv_hrtime() - t0) / 1000000 < 3000);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  unsetenv("AWS_MAX_ATTEMPTS");
  test_server_start(&server);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  RUN_TEST(signed_request);
  RUN_TEST(virtual_hosted);
  RUN_TEST(retries_and_quota);
  RUN_TEST(json_errors_and_ambiguous);
  RUN_TEST(ambiguous_hook);
  RUN_TEST(rate_limit);
  RUN_TEST(cancel_and_close);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_server_stop(&server);
  return TEST_REPORT();
}
