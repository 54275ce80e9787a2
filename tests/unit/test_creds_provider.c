// test_creds_provider.c: the asynchronous credential providers (IMDSv2,
// container endpoint, STS AssumeRole / AssumeRoleWithWebIdentity, chains),
// caching and refresh, against tests/tools/fake_creds_server.py on loopback.
// The fake STS checks AssumeRole signatures with botocore's SigV4 code.
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "aws/http.h"
#include "smflow/aws.h"
#include "test.h"

extern char **environ;

static pid_t server_pid;
static int server_stdin = -1;
static int server_port;
static char g_dir[256];
static uv_loop_t loop;
static struct aws_http *http;
static int64_t g_now_ms;

// 2029-12-31T00:00:00Z: the fake's credentials expire a day later.
#define T_FAR 1893369600000LL
#define T_EXPIRY 1893456000000LL

static void server_start(void)
{
  const char *src = getenv("SMF_SOURCE_DIR");
  ASSERT(src != NULL);
  char *script = smf_xasprintf("%s/tests/tools/fake_creds_server.py", src);
  int in[2], out[2];
  ASSERT(pipe(in) == 0 && pipe(out) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  char py[] = "python3";
  char *argv[] = {py, script, NULL};
  ASSERT(posix_spawnp(&server_pid, "python3", &fa, NULL, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  server_stdin = in[1];
  char line[32] = {0};
  size_t n = 0;
  while (n < sizeof line - 1 && read(out[0], line + n, 1) == 1 && line[n] != '\n') {
    n++;
  }
  close(out[0]);
  server_port = atoi(line);
  ASSERT(server_port > 0);
  free(script);
}

static void server_stop(void)
{
  close(server_stdin);
  int st;
  waitpid(server_pid, &st, 0);
}

static int64_t test_now(void *data)
{
  (void)data;
  return g_now_ms;
}

static void write_file(const char *name, const char *text)
{
  char *p = smf_xasprintf("%s/%s", g_dir, name);
  ASSERT_EQ(smf_file_write_atomic(p, text, strlen(text), NULL), 0);
  free(p);
}

// A clean AWS environment pointing every endpoint at the fake server.
static void env_reset(const char *config)
{
  const char *vars[] = {"AWS_ACCESS_KEY_ID",
                        "AWS_SECRET_ACCESS_KEY",
                        "AWS_SESSION_TOKEN",
                        "AWS_PROFILE",
                        "AWS_DEFAULT_PROFILE",
                        "AWS_REGION",
                        "AWS_DEFAULT_REGION",
                        "AWS_WEB_IDENTITY_TOKEN_FILE",
                        "AWS_ROLE_ARN",
                        "AWS_ROLE_SESSION_NAME",
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                        "AWS_EC2_METADATA_DISABLED",
                        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                        "AWS_ENDPOINT_URL"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(vars); i++) {
    unsetenv(vars[i]);
  }
  write_file("config", config ? config : "");
  char *p = smf_xasprintf("%s/config", g_dir);
  setenv("AWS_CONFIG_FILE", p, 1);
  free(p);
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
  char *sts = smf_xasprintf("http://127.0.0.1:%d/sts", server_port);
  setenv("AWS_ENDPOINT_URL_STS", sts, 1);
  free(sts);
  char *imds = smf_xasprintf("http://127.0.0.1:%d", server_port);
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds, 1);
  free(imds);
  setenv("AWS_REGION", "eu-west-1", 1);
}

static struct aws_creds_provider *provider_for(const char *profile)
{
  struct aws_shared_config *c = NULL;
  struct aws_creds_plan *plan = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_shared_config_load(profile, &c, &err), 0);
  ASSERT_EQ(aws_creds_plan_resolve(c, &plan, &err), 0);
  aws_shared_config_free(c);
  struct aws_creds_provider_opts opts = {.now_ms = test_now};
  struct aws_creds_provider *p = NULL;
  ASSERT_EQ(aws_creds_provider_new(http, plan, &opts, &p, &err), 0);
  return p;
}

struct outcome {
  bool done;
  int code;
  char message[1024];
  int http_status;
  struct aws_creds creds;
};

static void on_creds(const struct aws_creds *creds, const struct smf_error *err, void *data)
{
  struct outcome *o = data;
  ASSERT(!o->done);
  o->done = true;
  if (creds) {
    aws_creds_copy(&o->creds, creds);
  } else {
    o->code = err->code;
    o->http_status = err->http_status;
    snprintf(o->message, sizeof(o->message), "%s", err->message);
  }
}

// get() and run the loop until the outcome arrives.
static void get_wait(struct aws_creds_provider *p, struct outcome *o)
{
  memset(o, 0, sizeof(*o));
  struct smf_error err = SMF_ERROR_INIT;
  int rc = aws_creds_provider_get(p, &o->creds, on_creds, o, &err);
  if (rc == 0) {
    o->done = true;
    return;
  }
  ASSERT_EQ(rc, AWS_CREDS_PENDING);
  ASSERT(!o->done);  // never synchronously
  while (!o->done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
}

TEST(imds_fetch_cache_refresh)
{
  env_reset(NULL);
  g_now_ms = T_FAR;
  struct aws_creds_provider *p = provider_for(NULL);
  struct outcome o;
  get_wait(p, &o);
  ASSERT_EQ(o.code, 0);
  ASSERT_STREQ(o.creds.access_key_id, "ASIAIMDS1");
  ASSERT_STREQ(o.creds.secret_access_key, "secret-ASIAIMDS1");
  ASSERT_STREQ(o.creds.session_token, "token-ASIAIMDS1");
  ASSERT_EQ(o.creds.expiration_ms, T_EXPIRY);
  ASSERT_EQ(aws_creds_provider_fetches(p), 3);  // token, role, credentials
  aws_creds_clear(&o.creds);

  g_now_ms = T_EXPIRY - 6 * 60 * 1000;  // 6 minutes left: still cached
  struct aws_creds c = AWS_CREDS_INIT;
  ASSERT_EQ(aws_creds_provider_get(p, &c, on_creds, &o, NULL), 0);
  ASSERT_STREQ(c.access_key_id, "ASIAIMDS1");
  aws_creds_clear(&c);
  ASSERT_EQ(aws_creds_provider_fetches(p), 3);

  g_now_ms = T_EXPIRY - 4 * 60 * 1000;  // 4 minutes left: refreshed
  get_wait(p, &o);
  ASSERT_STREQ(o.creds.access_key_id, "ASIAIMDS2");
  ASSERT_EQ(aws_creds_provider_fetches(p), 6);
  aws_creds_clear(&o.creds);
  aws_creds_provider_close(p);
}

TEST(concurrent_gets_share_one_fetch)
{
  env_reset(NULL);
  g_now_ms = T_FAR;
  struct aws_creds_provider *p = provider_for(NULL);
  struct outcome a = {0}, b = {0};
  struct aws_creds unused = AWS_CREDS_INIT;
  ASSERT_EQ(aws_creds_provider_get(p, &unused, on_creds, &a, NULL), AWS_CREDS_PENDING);
  ASSERT_EQ(aws_creds_provider_get(p, &unused, on_creds, &b, NULL), AWS_CREDS_PENDING);
  while (!a.done || !b.done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  ASSERT_STREQ(a.creds.access_key_id, b.creds.access_key_id);
  ASSERT_EQ(aws_creds_provider_fetches(p), 3);
  aws_creds_clear(&a.creds);
  aws_creds_clear(&b.creds);
  aws_creds_provider_close(p);
}

TEST(container_endpoint)
{
  env_reset(NULL);
  g_now_ms = T_FAR;
  char *u = smf_xasprintf("http://127.0.0.1:%d/creds", server_port);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", u, 1);
  free(u);
  write_file("ctoken", "Bearer good\n");
  char *tf = smf_xasprintf("%s/ctoken", g_dir);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
  struct aws_creds_provider *p = provider_for(NULL);
  struct outcome o;
  get_wait(p, &o);
  ASSERT_EQ(o.code, 0);
  ASSERT(smf_str_startswith(o.creds.access_key_id, "ASIACONT"));
  ASSERT_EQ(o.creds.expiration_ms, T_EXPIRY);
  aws_creds_clear(&o.creds);
  aws_creds_provider_close(p);

  unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer bad", 1);
  p = provider_for(NULL);
  get_wait(p, &o);
  ASSERT_EQ(o.code, SMF_ECREDS);
  ASSERT_EQ(o.http_status, 401);
  ASSERT_CONTAINS(o.message, "container credentials: HTTP 401");
  aws_creds_provider_close(p);
  free(tf);
}

TEST(web_identity_unsigned)
{
  env_reset(NULL);
  g_now_ms = T_FAR;
  write_file("oidc", "oidc-token\n");
  char *tf = smf_xasprintf("%s/oidc", g_dir);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tf, 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci", 1);
  struct aws_creds_provider *p = provider_for(NULL);
  struct outcome o;
  get_wait(p, &o);
  ASSERT_EQ(o.code, 0);
  ASSERT(smf_str_startswith(o.creds.access_key_id, "ASIAWEB"));
  ASSERT_EQ(o.creds.expiration_ms, T_EXPIRY);
  aws_creds_clear(&o.creds);
  aws_creds_provider_close(p);

  write_file("oidc", "wrong-token");
  p = provider_for(NULL);
  get_wait(p, &o);
  ASSERT_EQ(o.code, SMF_ECREDS);
  ASSERT_CONTAINS(o.message, "InvalidIdentityToken");
  aws_creds_provider_close(p);

  unlink(tf);  // a missing token file fails at once; the callback never runs
  p = provider_for(NULL);
  struct aws_creds c = AWS_CREDS_INIT;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT(aws_creds_provider_get(p, &c, on_creds, &o, &err) < 0);
  ASSERT_CONTAINS(err.message, "oidc");
  aws_creds_provider_close(p);
  free(tf);
}

TEST(assume_role_signed_and_chained)
{
  char *cfg = smf_xasprintf(
      "[profile base]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = sourcesecret\n"
      "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\n"
      "external_id = ext-1\nduration_seconds = 900\n"
      "[profile denied]\nrole_arn = arn:aws:iam::123456789012:role/denied\n"
      "source_profile = base\n"
      "[profile wrongkey]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = bad\n"
      "[profile bad]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = not-it\n"
      "[profile web]\nrole_arn = arn:aws:iam::123456789012:role/web\n"
      "web_identity_token_file = %s/oidc\n"
      "[profile chain]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = web\n"
      "[profile chain2]\nrole_arn = arn:aws:iam::123456789012:role/top2\n"
      "source_profile = chain\n"
      "[profile imdsrole]\nrole_arn = arn:aws:iam::123456789012:role/i\n"
      "credential_source = Ec2InstanceMetadata\n",
      g_dir);
  env_reset(cfg);
  free(cfg);
  write_file("oidc", "oidc-token");
  g_now_ms = smf_time_now_ms();
  struct outcome o;
  const char *ok_profiles[] = {"role", "chain", "chain2", "imdsrole"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(ok_profiles); i++) {
    struct aws_creds_provider *p = provider_for(ok_profiles[i]);
    get_wait(p, &o);
    if (o.code != 0) fprintf(stderr, "%s: %s\n", ok_profiles[i], o.message);
    ASSERT_EQ(o.code, 0);
    ASSERT(smf_str_startswith(o.creds.access_key_id, "ASIAROLE"));
    ASSERT(o.creds.session_token != NULL);
    aws_creds_clear(&o.creds);
    aws_creds_provider_close(p);
  }
  struct aws_creds_provider *p = provider_for("denied");
  get_wait(p, &o);
  ASSERT_EQ(o.code, SMF_ECREDS);
  ASSERT_EQ(o.http_status, 403);
  ASSERT_CONTAINS(o.message,
                  "sts:AssumeRole arn:aws:iam::123456789012:role/denied: HTTP 403 "
                  "AccessDenied: not allowed");
  aws_creds_provider_close(p);
  p = provider_for("wrongkey");
  get_wait(p, &o);
  ASSERT_EQ(o.code, SMF_ECREDS);
  ASSERT_CONTAINS(o.message, "SignatureDoesNotMatch");
  aws_creds_provider_close(p);
}

TEST(default_chain_static)
{
  env_reset("[default]\nregion = ap-south-1\n");
  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  unsetenv("AWS_REGION");
  struct aws_creds_provider *p = NULL;
  char region[32];
  ASSERT_EQ(aws_creds_provider_default(http, NULL, NULL, &p, region, sizeof(region), NULL), 0);
  ASSERT_STREQ(region, "ap-south-1");
  struct aws_creds c = AWS_CREDS_INIT;
  ASSERT_EQ(aws_creds_provider_get(p, &c, on_creds, NULL, NULL), 0);  // static: at once
  ASSERT_STREQ(c.access_key_id, "AKIDENV");
  ASSERT_EQ(aws_creds_provider_fetches(p), 0);
  aws_creds_clear(&c);
  aws_creds_provider_close(p);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_creds_provider_default(http, "missing", NULL, &p, NULL, 0, &err), SMF_ECREDS);
  ASSERT(p == NULL);
}

TEST(close_while_pending)
{
  env_reset(NULL);
  g_now_ms = T_FAR;
  struct aws_creds_provider *p = provider_for(NULL);
  struct outcome o = {0};
  struct aws_creds unused = AWS_CREDS_INIT;
  ASSERT_EQ(aws_creds_provider_get(p, &unused, on_creds, &o, NULL), AWS_CREDS_PENDING);
  aws_creds_provider_close(p);
  ASSERT(!o.done);
  while (!o.done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  ASSERT_EQ(o.code, SMF_ECANCELLED);
}

static void on_http_closed(void *data)
{
  *(bool *)data = true;
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  snprintf(g_dir, sizeof(g_dir), "/tmp/smf-test-credsp-XXXXXX");
  ASSERT(mkdtemp(g_dir) != NULL);
  server_start();
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(aws_http_new(&loop, &http, NULL), 0);
  RUN_TEST(imds_fetch_cache_refresh);
  RUN_TEST(concurrent_gets_share_one_fetch);
  RUN_TEST(container_endpoint);
  RUN_TEST(web_identity_unsigned);
  RUN_TEST(assume_role_signed_and_chained);
  RUN_TEST(default_chain_static);
  RUN_TEST(close_while_pending);
  bool closed = false;
  aws_http_close(http, on_http_closed, &closed);
  while (!closed) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  server_stop();
  char *cmd = smf_xasprintf("rm -rf '%s'", g_dir);
  ASSERT_EQ(system(cmd), 0);
  free(cmd);
  return TEST_REPORT();
}
