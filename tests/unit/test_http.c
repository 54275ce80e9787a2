// test_http.c: the curl-multi-on-libuv HTTP client against a real local server
// (tests/tools/http_test_server.py on a free loopback port).
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "aws/http.h"
#include "test.h"
#include "test_server.h"

static struct test_server server;
static uv_loop_t loop;
static struct aws_http *http;
static int closed_count;

static char *url(const char *path)
{
  return smf_xasprintf("http://127.0.0.1:%d%s", server.port, path);
}

static void on_closed(void *data)
{
  (void)data;
  closed_count++;
}

static void client_open(void)
{
  ASSERT_EQ(uv_loop_init(&loop), 0);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_http_new(&loop, &http, &err), 0);
}

static void client_close(void)
{
  int before = closed_count;
  aws_http_close(http, on_closed, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(closed_count, before + 1);
  ASSERT_EQ(uv_loop_close(&loop), 0);
}

struct done {
  int calls;
};

static void on_done(struct aws_http_req *req, void *data)
{
  (void)req;
  struct done *d = data;
  d->calls++;
}

static void start(struct aws_http_req *req, struct done *d)
{
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_http_req_start(http, req, on_done, d, &err), 0);
}

static void run_one(struct aws_http_req *req)
{
  struct done d = {0};
  start(req, &d);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(d.calls, 1);
}

TEST(get_headers_and_keepalive)
{
  client_open();
  struct aws_http_req req;
  aws_http_req_init(&req);
  char *u = url("/echo?a=b%2Fc");
  for (int i = 0; i < 20; i++) {
    aws_http_req_reset(&req);
    aws_http_req_set(&req, "GET", u);
    aws_http_req_header(&req, "X-Amz-Date", "20260101T000000Z");
    run_one(&req);
    ASSERT_EQ(req.result, 0);
    ASSERT_EQ(req.status, 200);
    ASSERT_CONTAINS(req.body.data, "\"method\": \"GET\"");
    ASSERT_CONTAINS(req.body.data, "\"x-amz-date\": \"20260101T000000Z\"");
    ASSERT_CONTAINS(req.body.data, "/echo?a=b%2Fc");
    ASSERT_STREQ(aws_http_req_header_get(&req, "X-AMZ-REQUEST-ID"), "REQ-200");
    ASSERT(aws_http_req_header_get(&req, "date") != NULL);
  }
  // Twenty exchanges over one kept-alive connection.
  ASSERT_EQ(aws_http_connects(http), 1);
  aws_http_req_cleanup(&req);
  free(u);
  client_close();
}

TEST(put_file_range_and_post_memory)
{
  client_open();
  char path[] = "/tmp/smf_http_XXXXXX";
  int fd = mkstemp(path);
  ASSERT(fd >= 0);
  char data[100000];
  for (size_t i = 0; i < sizeof data; i++) {
    data[i] = (char)('a' + i % 26);
  }
  ASSERT_EQ(write(fd, data, sizeof data), (long long)sizeof data);
  struct aws_http_req req;
  aws_http_req_init(&req);
  char *u = url("/echo");
  aws_http_req_set(&req, "PUT", u);
  aws_http_req_body_fd(&req, fd, 1000, 50000);
  run_one(&req);
  ASSERT_EQ(req.result, 0);
  ASSERT_CONTAINS(req.body.data, "\"length\": 50000");
  // sha256 of 50000 bytes starting at offset 1000, computed by the server.
  ASSERT_CONTAINS(req.body.data, "\"method\": \"PUT\"");
  ASSERT(strstr(req.body.data, "\"expect\"") == NULL);
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "POST", u);
  aws_http_req_header(&req, "Content-Type", "application/x-amz-json-1.1");
  aws_http_req_body_mem(&req, "{\"a\":1}", 7);
  run_one(&req);
  ASSERT_EQ(req.status, 200);
  ASSERT_CONTAINS(req.body.data, "\"length\": 7");
  ASSERT_CONTAINS(req.body.data, "application/x-amz-json-1.1");
  // POST without a body or content type: no form-encoded default slips in.
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "POST", u);
  run_one(&req);
  ASSERT_CONTAINS(req.body.data, "\"length\": 0");
  ASSERT(strstr(req.body.data, "x-www-form-urlencoded") == NULL);
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "DELETE", u);
  run_one(&req);
  ASSERT_CONTAINS(req.body.data, "\"method\": \"DELETE\"");
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "HEAD", u);
  run_one(&req);
  ASSERT_EQ(req.status, 200);
  ASSERT_EQ(req.body_bytes, 0);
  aws_http_req_cleanup(&req);
  close(fd);
  unlink(path);
  free(u);
  client_close();
}

TEST(response_to_file_and_cap)
{
  client_open();
  char path[] = "/tmp/smf_http_out_XXXXXX";
  int fd = mkstemp(path);
  ASSERT(fd >= 0);
  close(fd);
  struct aws_http_req req;
  aws_http_req_init(&req);
  char *u = url("/bytes?n=3000000");
  aws_http_req_set(&req, "GET", u);
  aws_http_req_output_file(&req, path);
  run_one(&req);
  ASSERT_EQ(req.result, 0);
  struct stat st;
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, 3000000);
  ASSERT_EQ(req.body.len, 0);
  // An empty 2xx body still gives an (empty) file.
  aws_http_req_reset(&req);
  char *u0 = url("/bytes?n=0");
  aws_http_req_set(&req, "GET", u0);
  char path0[] = "/tmp/smf_http_empty_XXXXXX";
  int fd0 = mkstemp(path0);
  ASSERT(fd0 >= 0);
  close(fd0);
  unlink(path0);
  aws_http_req_output_file(&req, path0);
  run_one(&req);
  ASSERT_EQ(req.result, 0);
  ASSERT_EQ(stat(path0, &st), 0);
  ASSERT_EQ(st.st_size, 0);
  unlink(path0);
  free(u0);
  // An error answer goes to memory, not to the file.
  aws_http_req_reset(&req);
  char *u2 = url("/status?code=503");
  aws_http_req_set(&req, "GET", u2);
  aws_http_req_output_file(&req, path);
  run_one(&req);
  ASSERT_EQ(req.result, 0);
  ASSERT_EQ(req.status, 503);
  ASSERT_CONTAINS(req.body.data, "<Code>SlowDown</Code>");
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, 3000000);
  // Over the in-memory cap: a transport error, not a truncated body.
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "GET", u);
  aws_http_req_max_response(&req, 100000);
  run_one(&req);
  ASSERT_EQ(req.result, SMF_EHTTP);
  ASSERT_EQ(req.curl_code, CURLE_WRITE_ERROR);
  ASSERT_CONTAINS(req.curl_error, "over 100000 bytes");
  aws_http_req_cleanup(&req);
  unlink(path);
  free(u);
  free(u2);
  client_close();
}

TEST(timeouts_refused_and_dropped)
{
  client_open();
  struct aws_http_req req;
  aws_http_req_init(&req);
  char *u = url("/sleep?ms=3000");
  aws_http_req_set(&req, "GET", u);
  aws_http_req_timeouts(&req, 1000, 300);
  uint64_t t0 = uv_hrtime();
  run_one(&req);
  ASSERT_EQ(req.result, SMF_ETIMEOUT);
  ASSERT(req.sent);
  ASSERT((uv_hrtime() - t0) / 1000000 < 2500);
  // A stalled answer: nothing arrives for over a second.
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "GET", u);
  aws_http_req_stall_timeout(&req, 1000);
  t0 = uv_hrtime();
  run_one(&req);
  ASSERT_EQ(req.result, SMF_ETIMEOUT);
  ASSERT((uv_hrtime() - t0) / 1000000 < 2900);
  // Nothing listens on port 1: refused before anything was sent.
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "GET", "http://127.0.0.1:1/");
  run_one(&req);
  ASSERT_EQ(req.result, SMF_EHTTP);
  ASSERT_EQ(req.curl_code, CURLE_COULDNT_CONNECT);
  ASSERT(!req.sent);
  // The server read the request and hung up: the outcome is unknown.
  aws_http_req_reset(&req);
  char *u2 = url("/drop");
  aws_http_req_set(&req, "POST", u2);
  aws_http_req_body_mem(&req, "x", 1);
  run_one(&req);
  ASSERT_EQ(req.result, SMF_EHTTP);
  ASSERT(req.sent);
  aws_http_req_cleanup(&req);
  free(u);
  free(u2);
  client_close();
}

static struct aws_http_req *cancel_target;

static void on_done_cancel_other(struct aws_http_req *req, void *data)
{
  struct done *d = data;
  d->calls++;
  ASSERT_EQ(req->result, 0);
  aws_http_req_cancel(cancel_target);
}

TEST(proxy_from_environment)
{
  // curl honours http_proxy: the request goes to the proxy in absolute form.
  char *proxy = url("");
  setenv("http_proxy", proxy, 1);
  client_open();
  struct aws_http_req req;
  aws_http_req_init(&req);
  aws_http_req_set(&req, "GET", "http://bucket.example.invalid/key/echo");
  run_one(&req);
  ASSERT_EQ(req.result, 0);
  ASSERT_EQ(req.status, 200);
  ASSERT_CONTAINS(req.body.data, "\"path\": \"http://bucket.example.invalid/key/echo\"");
  aws_http_req_cleanup(&req);
  client_close();
  unsetenv("http_proxy");
  free(proxy);
}

TEST(tls_verification)
{
  char dir[] = "/tmp/smf_tls_XXXXXX";
  ASSERT(mkdtemp(dir) != NULL);
  char *cmd = smf_xasprintf(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem "
      ">/dev/null 2>&1",
      dir, dir);
  ASSERT_EQ(system(cmd), 0);
  char *cert = smf_xasprintf("%s/cert.pem", dir);
  char *key = smf_xasprintf("%s/key.pem", dir);
  struct test_server tls;
  test_server_start_tls(&tls, cert, key);
  char *u = smf_xasprintf("https://localhost:%d/echo", tls.port);
  client_open();
  struct aws_http_req req;
  aws_http_req_init(&req);
  // A certificate nobody vouches for is refused...
  aws_http_req_set(&req, "GET", u);
  run_one(&req);
  ASSERT_EQ(req.result, SMF_EHTTP);
  ASSERT_EQ(req.curl_code, CURLE_PEER_FAILED_VERIFICATION);
  // ...and accepted with the CA bundle that signed it.
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "GET", u);
  aws_http_req_ca_bundle(&req, cert);
  run_one(&req);
  ASSERT_EQ(req.result, 0);
  ASSERT_EQ(req.status, 200);
  // The client keeps one CA store: switching bundles must not leak trust from
  // one request to the next, either way.
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "GET", u);
  aws_http_req_fresh_connect(&req, true);
  run_one(&req);
  ASSERT_EQ(req.curl_code, CURLE_PEER_FAILED_VERIFICATION);
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "GET", u);
  aws_http_req_ca_bundle(&req, cert);
  aws_http_req_fresh_connect(&req, true);
  run_one(&req);
  ASSERT_EQ(req.result, 0);
  // A bundle that cannot be read is named in the error.
  aws_http_req_reset(&req);
  aws_http_req_set(&req, "GET", u);
  aws_http_req_ca_bundle(&req, "/nonexistent/ca.pem");
  aws_http_req_fresh_connect(&req, true);
  run_one(&req);
  ASSERT_EQ(req.result, SMF_EHTTP);
  ASSERT_CONTAINS(req.curl_error, "/nonexistent/ca.pem");
  aws_http_req_cleanup(&req);
  client_close();
  test_server_stop(&tls);
  free(cmd);
  cmd = smf_xasprintf("rm -rf %s", dir);
  ASSERT_EQ(system(cmd), 0);
  free(cmd);
  free(cert);
  free(key);
  free(u);
}

TEST(cancel_and_close_with_active)
{
  client_open();
  struct aws_http_req slow, fast;
  aws_http_req_init(&slow);
  aws_http_req_init(&fast);
  char *us = url("/sleep?ms=5000");
  char *uf = url("/echo");
  aws_http_req_set(&slow, "GET", us);
  aws_http_req_set(&fast, "GET", uf);
  struct done ds = {0}, df = {0};
  start(&slow, &ds);
  cancel_target = &slow;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_http_req_start(http, &fast, on_done_cancel_other, &df, &err), 0);
  uint64_t t0 = uv_hrtime();
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT((uv_hrtime() - t0) / 1000000 < 3000);
  ASSERT_EQ(df.calls, 1);
  ASSERT_EQ(ds.calls, 1);
  ASSERT_EQ(slow.result, SMF_ECANCELLED);
  ASSERT_EQ(aws_http_active(http), 0);
  // Closing with a request in flight: it completes as cancelled, then the client closes.
  aws_http_req_reset(&slow);
  aws_http_req_set(&slow, "GET", us);
  start(&slow, &ds);
  uv_run(&loop, UV_RUN_NOWAIT);
  client_close();
  ASSERT_EQ(ds.calls, 2);
  ASSERT_EQ(slow.result, SMF_ECANCELLED);
  aws_http_req_cleanup(&slow);
  aws_http_req_cleanup(&fast);
  free(us);
  free(uf);
}

TEST(many_in_flight)
{
  client_open();
  enum { N = 200 };
  struct aws_http_req *reqs = smf_xcalloc(N, sizeof *reqs);
  struct done d = {0};
  char *u = url("/sleep?ms=200");
  for (int i = 0; i < N; i++) {
    aws_http_req_init(&reqs[i]);
    aws_http_req_set(&reqs[i], "GET", u);
    start(&reqs[i], &d);
  }
  ASSERT_EQ(aws_http_active(http), N);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(d.calls, N);
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(reqs[i].result, 0);
    ASSERT_EQ(reqs[i].status, 200);
    aws_http_req_cleanup(&reqs[i]);
  }
  free(reqs);
  free(u);
  client_close();
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  unsetenv("all_proxy");
  unsetenv("ALL_PROXY");
  test_server_start(&server);
  RUN_TEST(get_headers_and_keepalive);
  RUN_TEST(put_file_range_and_post_memory);
  RUN_TEST(response_to_file_and_cap);
  RUN_TEST(timeouts_refused_and_dropped);
  RUN_TEST(proxy_from_environment);
  RUN_TEST(tls_verification);
  RUN_TEST(cancel_and_close_with_active);
  RUN_TEST(many_in_flight);
  test_server_stop(&server);
  return TEST_REPORT();
}
