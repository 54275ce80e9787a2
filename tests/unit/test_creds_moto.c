// test_creds_moto.c: STS AssumeRole and AssumeRoleWithWebIdentity through the
// credentials provider against moto_server, which re-signs every request with
// botocore and rejects a wrong signature (INITIAL_NO_AUTH_ACTION_COUNT=3: the
// first three requests, the IAM set-up, pass unsigned).
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "aws/http.h"
#include "smflow/aws.h"
#include "test.h"

extern char **environ;

static pid_t moto_pid;
static int moto_port;
static char g_dir[256];
static uv_loop_t loop;
static struct aws_http *http;
static char g_key_id[64], g_secret[128];

static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
  socklen_t len = sizeof(a);
  ASSERT(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

static bool port_open(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  close(fd);
  return ok;
}

static void moto_start(void)
{
  for (int attempt = 0; attempt < 3; attempt++) {
    moto_port = free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", moto_port);
    setenv("INITIAL_NO_AUTH_ACTION_COUNT", "3", 1);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char a0[] = "moto_server", a1[] = "-H", a2[] = "127.0.0.1", a3[] = "-p";
    char *argv[] = {a0, a1, a2, a3, port, NULL};
    ASSERT(posix_spawnp(&moto_pid, "moto_server", &fa, NULL, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    unsetenv("INITIAL_NO_AUTH_ACTION_COUNT");
    for (int i = 0; i < 300; i++) {
      if (port_open(moto_port)) {
        return;
      }
      int st;
      if (waitpid(moto_pid, &st, WNOHANG) == moto_pid) {
        break;  // exited (port taken?): try another port
      }
      usleep(50 * 1000);
    }
    kill(moto_pid, SIGTERM);
    waitpid(moto_pid, NULL, 0);
  }
  ASSERT(!"moto_server did not start");
}

// An ASSERT aborts: do not leave the server running.
static void on_abort(int sig)
{
  if (moto_pid > 0) {
    kill(moto_pid, SIGTERM);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void moto_stop(void)
{
  kill(moto_pid, SIGTERM);
  int st;
  waitpid(moto_pid, &st, 0);
}

// Run an aws CLI command against moto (signed with the test user's key once it
// exists) and return its JSON output (caller decrefs).
static json_t *aws_cli(const char *args)
{
  char *cmd = smf_xasprintf(
      "AWS_ACCESS_KEY_ID='%s' AWS_SECRET_ACCESS_KEY='%s' "
      "AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null "
      "AWS_SHARED_CREDENTIALS_FILE=/dev/null "
      "aws --endpoint-url http://127.0.0.1:%d --output json %s",
      g_key_id[0] ? g_key_id : "setup", g_secret[0] ? g_secret : "setup", moto_port, args);
  FILE *p = popen(cmd, "r");
  ASSERT(p != NULL);
  struct smf_buf out = SMF_BUF_INIT;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
    smf_buf_append(&out, chunk, n);
  }
  ASSERT_EQ(pclose(p), 0);
  free(cmd);
  json_t *j = out.len ? json_loads(out.data, 0, NULL) : json_object();
  smf_buf_free(&out);
  ASSERT(j != NULL);
  return j;
}

static void iam_setup(void)
{
  json_decref(aws_cli("iam create-user --user-name smflow-test"));
  json_decref(
      aws_cli("iam put-user-policy --user-name smflow-test --policy-name all "
              "--policy-document "
              "'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
              "\"Action\":\"*\",\"Resource\":\"*\"}]}'"));
  json_t *k = aws_cli("iam create-access-key --user-name smflow-test");
  json_t *ak = json_object_get(k, "AccessKey");
  snprintf(g_key_id, sizeof(g_key_id), "%s", json_string_value(json_object_get(ak, "AccessKeyId")));
  snprintf(g_secret, sizeof(g_secret), "%s",
           json_string_value(json_object_get(ak, "SecretAccessKey")));
  json_decref(k);
  ASSERT(g_key_id[0] != '\0' && g_secret[0] != '\0');
  // moto only accepts an assumed role's keys when the role exists: create the
  // first role of the chain (signed, as the user).
  json_decref(
      aws_cli("iam create-role --role-name app --assume-role-policy-document "
              "'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
              "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}]}'"));
  json_decref(
      aws_cli("iam put-role-policy --role-name app --policy-name all "
              "--policy-document "
              "'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
              "\"Action\":\"*\",\"Resource\":\"*\"}]}'"));
}

struct outcome {
  bool done;
  int code;
  char message[1024];
  struct aws_creds creds;
};

static void on_creds(const struct aws_creds *creds, const struct smf_error *err, void *data)
{
  struct outcome *o = data;
  o->done = true;
  if (creds) {
    aws_creds_copy(&o->creds, creds);
  } else {
    o->code = err->code;
    snprintf(o->message, sizeof(o->message), "%s", err->message);
  }
}

static void resolve_profile(const char *profile, struct outcome *o)
{
  memset(o, 0, sizeof(*o));
  struct aws_shared_config *c = NULL;
  struct aws_creds_plan *plan = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_shared_config_load(profile, &c, &err), 0);
  ASSERT_EQ(aws_creds_plan_resolve(c, &plan, &err), 0);
  aws_shared_config_free(c);
  struct aws_creds_provider *p = NULL;
  ASSERT_EQ(aws_creds_provider_new(http, plan, NULL, &p, &err), 0);
  ASSERT_EQ(aws_creds_provider_get(p, &o->creds, on_creds, o, &err), AWS_CREDS_PENDING);
  while (!o->done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  aws_creds_provider_close(p);
}

TEST(moto_assume_role)
{
  char *cfg = smf_xasprintf(
      "[profile base]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
      "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\n"
      "role_session_name = smflow-moto\nduration_seconds = 900\n"
      "[profile chain]\nrole_arn = arn:aws:iam::123456789012:role/next\nsource_profile = role\n"
      "[profile badsecret]\naws_access_key_id = %s\naws_secret_access_key = wrong\n"
      "[profile wrong]\nrole_arn = arn:aws:iam::123456789012:role/app\n"
      "source_profile = badsecret\n"
      "[profile unknownkey]\naws_access_key_id = AKIAUNKNOWNKEY000000\n"
      "aws_secret_access_key = x\n"
      "[profile unknown]\nrole_arn = arn:aws:iam::123456789012:role/app\n"
      "source_profile = unknownkey\n"
      "[profile web]\nrole_arn = arn:aws:iam::123456789012:role/ci\n"
      "web_identity_token_file = %s/token\nrole_session_name = ci-run\n",
      g_key_id, g_secret, g_key_id, g_dir);
  char *path = smf_xasprintf("%s/config", g_dir);
  ASSERT_EQ(smf_file_write_atomic(path, cfg, strlen(cfg), NULL), 0);
  setenv("AWS_CONFIG_FILE", path, 1);
  free(path);
  free(cfg);
  path = smf_xasprintf("%s/token", g_dir);
  ASSERT_EQ(smf_file_write_atomic(path, "eyJhbGciOi.test.token", 21, NULL), 0);
  free(path);
  char *ep = smf_xasprintf("http://127.0.0.1:%d", moto_port);
  setenv("AWS_ENDPOINT_URL_STS", ep, 1);
  free(ep);

  struct outcome o;
  const char *ok[] = {"role", "chain"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(ok); i++) {
    resolve_profile(ok[i], &o);
    if (o.code != 0) fprintf(stderr, "%s: %s\n", ok[i], o.message);
    ASSERT_EQ(o.code, 0);
    ASSERT(smf_str_startswith(o.creds.access_key_id, "ASIA"));
    ASSERT(o.creds.session_token != NULL && o.creds.expiration_ms > smf_time_now_ms());
    aws_creds_clear(&o.creds);
  }
  resolve_profile("wrong", &o);
  ASSERT_EQ(o.code, SMF_ECREDS);
  ASSERT_CONTAINS(o.message, "SignatureDoesNotMatch");
  resolve_profile("unknown", &o);
  ASSERT_EQ(o.code, SMF_ECREDS);
  ASSERT_CONTAINS(o.message, "InvalidClientTokenId");

  // AssumeRoleWithWebIdentity is unsigned; moto's signature checking cannot
  // authenticate it, so let exactly one request through unauthenticated.
  resolve_profile("web", &o);
  ASSERT_EQ(o.code, SMF_ECREDS);  // with checking on, moto refuses the unsigned call
  char *cmd = smf_xasprintf(
      "curl -sf -o /dev/null -X POST -H 'Content-Type: text/plain' --data 1 "
      "http://127.0.0.1:%d/moto-api/reset-auth",
      moto_port);
  ASSERT_EQ(system(cmd), 0);
  free(cmd);
  resolve_profile("web", &o);
  if (o.code != 0) fprintf(stderr, "web: %s\n", o.message);
  ASSERT_EQ(o.code, 0);
  ASSERT(smf_str_startswith(o.creds.access_key_id, "ASIA"));
  aws_creds_clear(&o.creds);
}

static void on_http_closed(void *data)
{
  *(bool *)data = true;
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  snprintf(g_dir, sizeof(g_dir), "/tmp/smf-test-moto-XXXXXX");
  ASSERT(mkdtemp(g_dir) != NULL);
  const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "AWS_PROFILE",       "AWS_DEFAULT_PROFILE",   "AWS_WEB_IDENTITY_TOKEN_FILE",
                        "AWS_ROLE_ARN",      "AWS_ENDPOINT_URL"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(vars); i++) {
    unsetenv(vars[i]);
  }
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
  setenv("AWS_REGION", "eu-west-1", 1);
  signal(SIGABRT, on_abort);
  moto_start();
  iam_setup();
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(aws_http_new(&loop, &http, NULL), 0);
  RUN_TEST(moto_assume_role);
  bool closed = false;
  aws_http_close(http, on_http_closed, &closed);
  while (!closed) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  moto_stop();
  char *cmd = smf_xasprintf("rm -rf '%s'", g_dir);
  ASSERT_EQ(system(cmd), 0);
  free(cmd);
  return TEST_REPORT();
}
