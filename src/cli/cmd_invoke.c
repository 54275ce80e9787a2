// cmd_invoke.c: `smflow invoke ENDPOINT [--body FILE|-] [--content-type T]
// [--accept T]` — POST the body to the endpoint's /invocations (the SageMaker
// serving contract). The response body goes to stdout; exit 0 on 2xx, else 1
// with the status and the body on stderr. The endpoint's URL comes from the
// state database's endpoint records. A local endpoint needs no event loop:
// one blocking POST is enough (aws_http_post_sync). An aws endpoint (its record names the
// target and region) is called with InvokeEndpoint through the aws target, on
// a loop of this command, with the credentials a run would use.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "aws/http.h"
#include "cli/cli.h"
#include "smflow/state.h"
#include "smflow/util.h"
#include "target/target.h"

static int invoke__read_body(const char *arg, char **body, size_t *len, struct smf_error *err)
{
  if (arg == NULL) {
    *body = smf_xstrdup("");
    *len = 0;
    return 0;
  }
  if (strcmp(arg, "-") != 0) {
    return smf_file_read(arg, body, len, err);
  }
  struct smf_buf b = SMF_BUF_INIT;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
    smf_buf_append(&b, chunk, n);
  }
  *len = b.len;
  smf_buf_cstr(&b);
  *body = smf_buf_steal(&b);
  return 0;
}

// The endpoint's URL from the state database. Caller frees.
static int invoke__url(struct cli_ctx *ctx, const char *name, char **url, struct smf_error *err)
{
  char *dir = cli_state_dir(ctx, NULL);
  struct state *st = NULL;
  struct state_endpoint ep = {0};
  int rc = cli_state_open_any(dir, false, &st, err);
  if (rc == 0) {
    rc = state_endpoint_get(st, name, &ep, err);
  }
  state_close(st);
  free(dir);
  if (rc == 0 && ep.url == NULL) {
    rc = SMF_ERR_SET(err, SMF_ENOENT, "endpoint '%s' has no URL", name);
  }
  *url = rc == 0 ? smf_xasprintf("%s/invocations", ep.url) : NULL;
  state_endpoint_clear(&ep);
  return rc;
}

// The region of the endpoint when an aws deploy recorded it (1), else 0.
static int invoke__aws_region(struct cli_ctx *ctx, const char *name, char **region)
{
  char *dir = cli_state_dir(ctx, NULL);
  struct state *st = NULL;
  struct state_endpoint ep = {0};
  struct smf_error err = SMF_ERROR_INIT;
  int aws = 0;
  if (cli_state_open_any(dir, false, &st, &err) == 0 &&
      state_endpoint_get(st, name, &ep, &err) == 0) {
    aws = cli_endpoint_aws_region(&ep, region);
  }
  state_endpoint_clear(&ep);
  state_close(st);
  free(dir);
  return aws;
}

struct invoke__aws_call {
  int status;
  long http_status;
  struct smf_buf *resp;
  struct smf_error err;
};

static void invoke__aws_cb(void *data, int status, const struct target_invoke_result *res,
                           const struct smf_error *err)
{
  struct invoke__aws_call *c = data;
  c->status = status;
  c->http_status = res ? res->http_status : 0;
  if (res && res->len > 0) {
    smf_buf_append(c->resp, res->body, res->len);
  }
  if (err) {
    c->err = *err;
  }
}

// InvokeEndpoint in `region`. Exit code as for a local endpoint; a failure
// prints the HTTP status, the AWS error code, its message and the request id.
static int invoke__aws(const char *name, const char *region, const struct target_invoke *req,
                       struct smf_buf *resp)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  char *cwd = realpath(".", NULL);
  struct target_config cfg = {.loop = &loop, .state_dir = cwd ? cwd : ".", .region = region};
  struct target *t = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  struct invoke__aws_call c = {.status = SMF_EINTERNAL, .resp = resp};
  int rc = target_new("aws", &cfg, &t, &err);
  int code = CLI_EXIT_ENV;
  if (rc == 0 && (rc = target_endpoint_invoke(t, req, invoke__aws_cb, &c, &err)) == 0) {
    uv_run(&loop, UV_RUN_DEFAULT);
    code = CLI_EXIT_OK;
  }
  target_free(t);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(cwd);
  if (rc != 0) {
    fprintf(stderr, "error: endpoint %s: %s\n", name, err.message);
    return code;
  }
  if (c.status != 0) {
    fprintf(stderr, "error: endpoint %s: HTTP %ld%s%s: %s", name, c.http_status,
            c.err.aws_code[0] ? " " : "", c.err.aws_code, c.err.message);
    if (c.err.request_id[0]) {
      fprintf(stderr, " (request id %s)", c.err.request_id);
    }
    fputc('\n', stderr);
    return CLI_EXIT_FAILED;
  }
  fwrite(resp->data ? resp->data : "", 1, resp->len, stdout);
  if (resp->len > 0 && resp->data[resp->len - 1] != '\n' && isatty(STDOUT_FILENO)) {
    fputc('\n', stdout);
  }
  return CLI_EXIT_OK;
}

// POST, and when the connection fails, read the record again and retry for up
// to 2 s: a redeploy replaces the server (and its port) between two calls.
static int invoke__call(struct cli_ctx *ctx, const char *name, const char *body, size_t len,
                        const char *ctype, const char *accept, long *status, struct smf_buf *resp,
                        struct smf_error *err)
{
  char why[256] = "";
  char *url = NULL;
  int rc = 0;
  for (int tries = 0; tries < 20; tries++) {
    if (tries > 0) {
      usleep(100 * 1000);
    }
    free(url);
    if ((rc = invoke__url(ctx, name, &url, err)) != 0) {
      return rc;
    }
    why[0] = '\0';
    smf_buf_reset(resp);
    if ((rc = aws_http_post_sync(url, body, len, ctype, accept, status, resp, why,
                                 sizeof(why))) == 0) {
      break;
    }
  }
  if (rc != 0) {
    SMF_ERR_SET(err, rc, "endpoint %s (%s): %s", name, url, why);
  }
  free(url);
  return rc;
}

int cli_cmd_invoke(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *name = NULL, *body_arg = NULL, *ctype = "application/json", *accept = NULL;
  for (int i = 1; i < argc; i++) {
    bool has_value = i + 1 < argc;
    if (strcmp(argv[i], "--body") == 0 && has_value) {
      body_arg = argv[++i];
    } else if (strcmp(argv[i], "--content-type") == 0 && has_value) {
      ctype = argv[++i];
    } else if (strcmp(argv[i], "--accept") == 0 && has_value) {
      accept = argv[++i];
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return cli_usage_error(ctx, "unknown option '%s'", argv[i]);
    } else if (name == NULL) {
      name = argv[i];
    } else {
      return cli_usage_error(ctx, "unexpected argument '%s'", argv[i]);
    }
  }
  if (name == NULL) {
    return cli_usage_error(ctx, "missing ENDPOINT");
  }
  struct smf_error err = SMF_ERROR_INIT;
  char *body = NULL;
  size_t len = 0;
  struct smf_buf resp = SMF_BUF_INIT;
  long status = 0;
  int rc = invoke__read_body(body_arg, &body, &len, &err);
  char *region = NULL;
  if (rc == 0 && invoke__aws_region(ctx, name, &region)) {
    struct target_invoke req = {
        .endpoint = name, .content_type = ctype, .accept = accept, .body = body, .len = len};
    int code = invoke__aws(name, region, &req, &resp);
    free(region);
    smf_buf_free(&resp);
    free(body);
    return code;
  }
  if (rc == 0) {
    rc = invoke__call(ctx, name, body, len, ctype, accept, &status, &resp, &err);
  }
  int exit_code = CLI_EXIT_OK;
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    exit_code = rc == SMF_ENOENT || rc == SMF_EHTTP ? CLI_EXIT_FAILED : CLI_EXIT_ENV;
  } else if (status < 200 || status > 299) {
    fprintf(stderr, "error: endpoint %s answered HTTP %ld\n", name, status);
    fwrite(resp.data ? resp.data : "", 1, resp.len, stderr);
    fputc('\n', stderr);
    exit_code = CLI_EXIT_FAILED;
  } else {
    fwrite(resp.data ? resp.data : "", 1, resp.len, stdout);
    if (resp.len > 0 && resp.data[resp.len - 1] != '\n' && isatty(STDOUT_FILENO)) {
      fputc('\n', stdout);
    }
  }
  smf_buf_free(&resp);
  free(body);
  return exit_code;
}
