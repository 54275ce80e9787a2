// test_local_hosting.c: local endpoints with the real model server
// (share/smflow/model_server.py) and the quickstart's inference.py: deploy,
// /ping, /invocations (CSV and JSON, handler errors as 500), replace with a new
// model (the replaced server reaped: no zombie while the target lives),
// describe, delete, a server that cannot load its model, and servers left
// starting by a process that died, stopped by the next deploy or a delete.
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "local_test_util.h"

#define BUCKET "s3://smflow-test"

struct ep_ctx {
  bool done;
  int status;
  char *url, *config, *state;
  int64_t pid;
  char message[1024];
};

static void on_endpoint(void *data, int status, const struct target_endpoint_info *ep,
                        const struct smf_error *err)
{
  struct ep_ctx *c = data;
  c->done = true;
  c->status = status;
  if (ep) {
    c->url = smf_xstrdup(ep->url);
    c->config = smf_xstrdup(ep->config_name);
    c->state = smf_xstrdup(ep->status);
    c->pid = ep->pid;
  }
  if (err) {
    snprintf(c->message, sizeof(c->message), "%s", err->message);
  }
}

static void on_done(void *data, int status, const struct smf_error *err)
{
  struct ep_ctx *c = data;
  c->done = true;
  c->status = status;
  if (err) {
    snprintf(c->message, sizeof(c->message), "%s", err->message);
  }
}

static void ep_ctx_free(struct ep_ctx *c)
{
  free(c->url);
  free(c->config);
  free(c->state);
}

static size_t collect(char *p, size_t size, size_t n, void *data)
{
  smf_buf_append(data, p, size * n);
  return size * n;
}

/// HTTP request with libcurl (blocking: the test's own client). Returns the status, 0 if
/// there was no answer.
static long http(const char *url, const char *path, const char *body, const char *ctype,
                 const char *accept, struct smf_buf *out)
{
  CURL *h = curl_easy_init();
  char *full = smf_xasprintf("%s%s", url, path);
  struct curl_slist *hdrs = NULL;
  char *ct = ctype ? smf_xasprintf("Content-Type: %s", ctype) : NULL;
  char *ac = accept ? smf_xasprintf("Accept: %s", accept) : NULL;
  if (ct) {
    hdrs = curl_slist_append(hdrs, ct);
  }
  if (ac) {
    hdrs = curl_slist_append(hdrs, ac);
  }
  curl_easy_setopt(h, CURLOPT_URL, full);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  }
  long code = 0;
  if (curl_easy_perform(h) == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  }
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  free(full);
  free(ct);
  free(ac);
  return code;
}

static void put_model(const char *state, const char *uri, const char *model_json)
{
  char *dir = smf_xasprintf("%s/model-src", state);
  char *file = smf_xasprintf("%s/model.json", dir);
  char *tgz = smf_xasprintf("%s/model.tar.gz", state);
  struct smf_error err = SMF_ERROR_INIT;
  ltu_rm(dir);
  ASSERT_EQ(smf_mkdir_p(dir, &err), 0);
  if (model_json) {
    ASSERT_EQ(smf_file_write_atomic(file, model_json, strlen(model_json), &err), 0);
  }
  struct smf_pack_spec spec = {.source_dir = dir, .output = tgz};
  struct smf_pack_result res;
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), 0);
  struct local_store st;
  ASSERT_EQ(local_store_init(&st, state, state, &err), 0);
  ASSERT_EQ(local_store_put_file(&st, tgz, uri, &err), 0);
  local_store_close(&st);
  free(dir);
  free(file);
  free(tgz);
}

static void deploy(struct target *t, uv_loop_t *loop, const char *model_uri, const char *config,
                   struct ep_ctx *c)
{
  const char *src = getenv("SMF_SOURCE_DIR");
  char *code = smf_xasprintf("%s/examples/quickstart/code", src ? src : ".");
  struct target_endpoint_spec spec = {.endpoint = "quickstart",
                                      .config_name = config,
                                      .model_data = model_uri,
                                      .entry_point = "inference.py",
                                      .source_dir = code,
                                      .instance_type = "ml.m5.large",
                                      .initial_instance_count = 1};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(target_endpoint_deploy(t, &spec, on_endpoint, c, &err), 0);
  ltu_run_until(loop, &c->done, 60000);
  free(code);
}

// The server we replaced or deleted is not our concern any more, but it must be gone.
static bool stops_answering(const char *url)
{
  for (int i = 0; i < 50; i++) {
    struct smf_buf b = SMF_BUF_INIT;
    long code = http(url, "/ping", NULL, NULL, NULL, &b);
    smf_buf_free(&b);
    if (code == 0) {
      return true;
    }
    usleep(100 * 1000);
  }
  return false;
}

static void on_tick(uv_timer_t *t)
{
  (void)t;
}

// Run the loop for about 10 ms (a timer keeps it alive: the servers' handles
// do not), as smflow's loop runs while it has work.
static void run_a_while(uv_loop_t *loop)
{
  uv_timer_t t;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, on_tick, 10, 0);
  uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

// The process is gone and reaped (not a zombie), running the loop meanwhile.
static bool proc_gone(uv_loop_t *loop, int64_t pid)
{
  for (int i = 0; i < 500; i++) {
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
      return true;
    }
    run_a_while(loop);
  }
  return false;
}

// Whether pid has ended: gone, or a zombie of a parent that is not us.
static bool proc_ended(int64_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
  char *text = NULL;
  if (smf_file_read(path, &text, NULL, NULL) != 0) {
    return true;
  }
  const char *p = strrchr(text, ')');
  bool ended = p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
  free(text);
  return ended;
}

static bool wait_ended(uv_loop_t *loop, int64_t pid)
{
  for (int i = 0; i < 500 && !proc_ended(pid); i++) {
    run_a_while(loop);
  }
  return proc_ended(pid);
}

// A server a dead smflow left starting: a process that is not our child (its
// parent shell exits at once) noted in STATE_DIR/endpoints/quickstart/CONFIG/server.json.
static int64_t stray_server(const char *state, const char *config)
{
  char *dir = smf_xasprintf("%s/endpoints/quickstart/%s", state, config);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_mkdir_p(dir, &err), 0);
  char *cmd = smf_xasprintf("setsid sh -c 'sleep 120 >/dev/null 2>&1 & echo $! > \"%s/pid\"'", dir);
  ASSERT_EQ(system(cmd), 0);
  char *pid_path = smf_xasprintf("%s/pid", dir);
  char *text = NULL;
  ASSERT_EQ(smf_file_read(pid_path, &text, NULL, &err), 0);
  int64_t pid = strtoll(text, NULL, 10);
  ASSERT(pid > 0);
  char *json = smf_xasprintf("{\"pid\": %lld, \"start_time\": %llu}", (long long)pid,
                             (unsigned long long)local_proc_start_time(pid));
  char *path = smf_xasprintf("%s/server.json", dir);
  ASSERT_EQ(smf_file_write_atomic(path, json, strlen(json), &err), 0);
  free(path);
  free(json);
  free(text);
  free(pid_path);
  free(cmd);
  free(dir);
  return pid;
}

#define MODEL_A "{\"weights\": [1.5, -2.0, 0.75, 0.5], \"bias\": -0.25}"
#define MODEL_B "{\"weights\": [0, 0, 0, 0], \"bias\": 5}"

TEST(deploy_invoke_replace_delete)
{
  char *state = ltu_tmpdir();
  put_model(state, BUCKET "/models/a/model.tar.gz", MODEL_A);
  put_model(state, BUCKET "/models/b/model.tar.gz", MODEL_B);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);

  struct ep_ctx a = {0};
  deploy(t, &loop, BUCKET "/models/a/model.tar.gz", "quickstart-config-1", &a);
  if (a.status != 0) {
    fprintf(stderr, "%s\n", a.message);
  }
  ASSERT_EQ(a.status, 0);
  ASSERT(smf_str_startswith(a.url, "http://127.0.0.1:"));
  ASSERT_STREQ(a.state, "InService");
  struct smf_buf b = SMF_BUF_INIT;
  ASSERT_EQ(http(a.url, "/ping", NULL, NULL, NULL, &b), 200);
  smf_buf_reset(&b);
  ASSERT_EQ(
      http(a.url, "/invocations", "1.2,-0.8,0.3,0.1\n-1.0,1.5,-0.2,0.4\n", "text/csv", NULL, &b),
      200);
  ASSERT_STREQ(smf_buf_cstr(&b),
               "{\"predictions\": [{\"label\": 1, \"probability\": 0.968477}, "
               "{\"label\": 0, \"probability\": 0.009013}]}");
  smf_buf_reset(&b);
  ASSERT_EQ(http(a.url, "/invocations", "{\"instances\": [[1.2, -0.8, 0.3, 0.1]]}",
                 "application/json", "text/csv", &b),
            200);
  ASSERT_STREQ(smf_buf_cstr(&b), "1,0.968477\n");
  smf_buf_reset(&b);
  ASSERT_EQ(http(a.url, "/invocations", "1,2\n", "text/csv", NULL, &b), 500);
  ASSERT_CONTAINS(smf_buf_cstr(&b), "expected 4 features, got 2");
  smf_buf_reset(&b);

  // Replace: the new server answers, the old one is stopped.
  struct ep_ctx r = {0};
  deploy(t, &loop, BUCKET "/models/b/model.tar.gz", "quickstart-config-2", &r);
  ASSERT_EQ(r.status, 0);
  ASSERT(r.pid != a.pid);
  ASSERT(strcmp(r.url, a.url) != 0);
  ASSERT_EQ(http(r.url, "/invocations", "-1.0,1.5,-0.2,0.4\n", "text/csv", "text/csv", &b), 200);
  ASSERT_STREQ(smf_buf_cstr(&b), "1,0.993307\n");
  smf_buf_reset(&b);
  ASSERT(stops_answering(a.url));
  ASSERT(proc_gone(&loop, a.pid));  // reaped while this process lives

  struct ep_ctx d = {0};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(target_endpoint_describe(t, "quickstart", on_endpoint, &d, &err), 0);
  ltu_run_until(&loop, &d.done, 10000);
  ASSERT_EQ(d.status, 0);
  ASSERT_STREQ(d.url, r.url);
  ASSERT_STREQ(d.config, "quickstart-config-2");
  ASSERT_STREQ(d.state, "InService");

  struct ep_ctx del = {0};
  ASSERT_EQ(target_endpoint_delete(t, "quickstart", on_done, &del, &err), 0);
  ltu_run_until(&loop, &del.done, 10000);
  ASSERT_EQ(del.status, 0);
  ASSERT(stops_answering(r.url));
  struct ep_ctx gone = {0};
  ASSERT_EQ(target_endpoint_describe(t, "quickstart", on_endpoint, &gone, &err), 0);
  ltu_run_until(&loop, &gone.done, 10000);
  ASSERT_EQ(gone.status, SMF_ENOENT);

  smf_buf_free(&b);
  ltu_finish(&loop, t);
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  ep_ctx_free(&a);
  ep_ctx_free(&r);
  ep_ctx_free(&d);
  ltu_rm(state);
  free(state);
}

TEST(servers_left_starting_are_found_again)
{
  char *state = ltu_tmpdir();
  put_model(state, BUCKET "/models/a/model.tar.gz", MODEL_A);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct smf_error err = SMF_ERROR_INIT;

  // Nothing recorded, only a server that was starting: delete stops it.
  int64_t stray = stray_server(state, "quickstart-config-dead");
  struct ep_ctx del = {0};
  ASSERT_EQ(target_endpoint_delete(t, "quickstart", on_done, &del, &err), 0);
  ltu_run_until(&loop, &del.done, 10000);
  ASSERT_EQ(del.status, 0);
  ASSERT(wait_ended(&loop, stray));

  // A deploy (a resumed run) stops one too, and serves.
  stray = stray_server(state, "quickstart-config-dead");
  struct ep_ctx a = {0};
  deploy(t, &loop, BUCKET "/models/a/model.tar.gz", "quickstart-config-1", &a);
  ASSERT_EQ(a.status, 0);
  ASSERT(wait_ended(&loop, stray));
  struct smf_buf b = SMF_BUF_INIT;
  ASSERT_EQ(http(a.url, "/ping", NULL, NULL, NULL, &b), 200);
  smf_buf_free(&b);
  char *note = smf_xasprintf("%s/endpoints/quickstart/quickstart-config-1/server.json", state);
  ASSERT(access(note, F_OK) == 0);  // the new server was noted when it was spawned
  free(note);

  struct ep_ctx del2 = {0};
  ASSERT_EQ(target_endpoint_delete(t, "quickstart", on_done, &del2, &err), 0);
  ltu_run_until(&loop, &del2.done, 10000);
  ASSERT_EQ(del2.status, 0);
  ASSERT(proc_gone(&loop, a.pid));
  ltu_finish(&loop, t);
  ep_ctx_free(&a);
  ltu_rm(state);
  free(state);
}

TEST(server_that_cannot_load_its_model)
{
  char *state = ltu_tmpdir();
  put_model(state, BUCKET "/models/empty/model.tar.gz", NULL);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct ep_ctx c = {0};
  deploy(t, &loop, BUCKET "/models/empty/model.tar.gz", NULL, &c);
  ASSERT_EQ(c.status, SMF_ECHILD);
  ASSERT_CONTAINS(c.message, "exited before it answered /ping");
  ASSERT_CONTAINS(c.message, "FileNotFoundError");
  struct ep_ctx d = {0};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(target_endpoint_describe(t, "quickstart", on_endpoint, &d, &err), 0);
  ltu_run_until(&loop, &d.done, 10000);
  ASSERT_EQ(d.status, SMF_ENOENT);  // a failed deploy records nothing
  ltu_finish(&loop, t);
  ep_ctx_free(&c);
  ltu_rm(state);
  free(state);
}

TEST(default_handlers)
{
  char *state = ltu_tmpdir();
  put_model(state, BUCKET "/models/a/model.tar.gz", MODEL_A);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  char *code = smf_xasprintf("%s/local", ltu_data_dir());
  struct target_endpoint_spec spec = {.endpoint = "minimal",
                                      .model_data = BUCKET "/models/a/model.tar.gz",
                                      .entry_point = "minimal_inference.py",
                                      .source_dir = code};
  struct ep_ctx c = {0};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(target_endpoint_deploy(t, &spec, on_endpoint, &c, &err), 0);
  ltu_run_until(&loop, &c.done, 60000);
  ASSERT_EQ(c.status, 0);
  struct smf_buf b = SMF_BUF_INIT;
  ASSERT_EQ(http(c.url, "/invocations", "1,2\n3,4\n", "text/csv", NULL, &b), 200);
  ASSERT_STREQ(smf_buf_cstr(&b), "[[2, 4], [6, 8]]");
  smf_buf_reset(&b);
  ASSERT_EQ(http(c.url, "/invocations", "[[1.5, 2]]", "application/json", "text/csv", &b), 200);
  ASSERT_STREQ(smf_buf_cstr(&b), "3.0,4\n");
  smf_buf_reset(&b);
  ASSERT_EQ(http(c.url, "/invocations", "x", "application/x-foo", NULL, &b), 415);
  smf_buf_reset(&b);
  ASSERT_EQ(http(c.url, "/invocations", "1\n", "text/csv", "application/x-bar", &b), 406);
  smf_buf_reset(&b);
  ASSERT_EQ(http(c.url, "/nowhere", NULL, NULL, NULL, &b), 404);
  smf_buf_free(&b);
  struct ep_ctx del = {0};
  ASSERT_EQ(target_endpoint_delete(t, "minimal", on_done, &del, &err), 0);
  ltu_run_until(&loop, &del.done, 10000);
  ASSERT_EQ(del.status, 0);
  ASSERT(stops_answering(c.url));
  ltu_finish(&loop, t);
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  ep_ctx_free(&c);
  ltu_rm(state);
  free(state);
  free(code);
}

TEST(invalid_requests_never_call_back)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  char *state = ltu_tmpdir();
  struct target *t = ltu_target(&loop, state);
  struct ep_ctx c = {0};
  struct smf_error err = SMF_ERROR_INIT;
  struct target_endpoint_spec spec = {.endpoint = "bad/name", .model_data = "x"};
  ASSERT_EQ(target_endpoint_deploy(t, &spec, on_endpoint, &c, &err), SMF_EINVAL);
  ASSERT_EQ(target_endpoint_describe(t, "../x", on_endpoint, &c, &err), SMF_EINVAL);
  ltu_finish(&loop, t);
  ASSERT(!c.done);
  ltu_rm(state);
  free(state);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  RUN_TEST(deploy_invoke_replace_delete);
  RUN_TEST(servers_left_starting_are_found_again);
  RUN_TEST(server_that_cannot_load_its_model);
  RUN_TEST(default_handlers);
  RUN_TEST(invalid_requests_never_call_back);
  curl_global_cleanup();
  return TEST_REPORT();
}
