// cmd_endpoints.c: `smflow endpoints [list | delete NAME] [--json]` — the
// endpoints this state directory deployed (recorded in the state database by
// the local and the aws target). A local server whose process is gone shows as
// Stopped; an aws endpoint shows its status as of its deploy (the list reads
// the database only). delete stops a local server through the target (its
// whole process group), or deletes an aws endpoint with its config and models
// (in the record's region, with the credentials of a run), and removes the
// record.
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/cli.h"
#include "cli/run_common.h"
#include "smflow/state.h"
#include "smflow/util.h"
#include "steps/kinds.h"
#include "target/target.h"

int cli_endpoint_aws_region(const struct state_endpoint *rec, char **region)
{
  *region = NULL;
  json_t *o = rec->spec_json ? json_loads(rec->spec_json, 0, NULL) : NULL;
  const char *t = json_string_value(json_object_get(o, "target"));
  const char *r = json_string_value(json_object_get(o, "region"));
  int aws = t && strcmp(t, "aws") == 0;
  if (aws) {
    *region = smf_xstrdup(r && *r ? r : "us-east-1");
  }
  json_decref(o);
  return aws;
}

static const char *endpoints__status(const struct state_endpoint *e)
{
  char *region = NULL;
  if (cli_endpoint_aws_region(e, &region)) {
    free(region);
    return "InService";  // when it was deployed; SageMaker knows more
  }
  bool alive = e->pid > 0 && step_proc_start_time((pid_t)e->pid) != 0 &&
               (e->start_time == 0 ||
                step_proc_start_time((pid_t)e->pid) == (unsigned long long)e->start_time);
  return alive ? "InService" : "Stopped";
}

static int endpoints__list(struct cli_ctx *ctx, const char *dir)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  struct state_endpoint *v = NULL;
  size_t n = 0;
  int rc = cli_state_open_any(dir, false, &st, &err);
  if (rc == SMF_ENOENT) {
    rc = 0;
  } else if (rc == 0) {
    rc = state_endpoints_list(st, &v, &n, &err);
  }
  state_close(st);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return CLI_EXIT_ENV;
  }
  if (ctx->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:s?, s:I, s:s?, s:s?, s:s?, s:I, s:I}", "name", v[i].name,
                         "status", endpoints__status(&v[i]), "url", v[i].url, "pid",
                         (json_int_t)v[i].pid, "model_name", v[i].model_name, "model_data",
                         v[i].model_data, "config", v[i].config_name, "created_at",
                         (json_int_t)v[i].created_ms, "updated_at", (json_int_t)v[i].updated_ms));
    }
    json_t *doc = json_pack("{s:o}", "endpoints", arr);
    char *t = json_dumps(doc, JSON_INDENT(2));
    printf("%s\n", t);
    free(t);
    json_decref(doc);
  } else {
    printf("%-24s %-10s %-24s %-8s %-20s %s\n", "ENDPOINT", "STATUS", "URL", "PID", "UPDATED",
           "MODEL");
    for (size_t i = 0; i < n; i++) {
      char t[32];
      printf("%-24s %-10s %-24s %-8lld %-20s %s\n", v[i].name, endpoints__status(&v[i]),
             v[i].url ? v[i].url : "", (long long)v[i].pid,
             cli_time_format(v[i].updated_ms, t, sizeof(t)),
             v[i].model_data ? v[i].model_data : "");
    }
  }
  state_endpoints_free(v, n);
  return CLI_EXIT_OK;
}

struct endpoints__del {
  int status;
  struct smf_error err;
};

static void endpoints__on_removed(void *data, int status, const struct smf_error *err)
{
  struct endpoints__del *d = data;
  d->status = status;
  if (err) {
    d->err = *err;
  }
}

static int endpoints__delete(struct cli_ctx *ctx, const char *dir, const char *name)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  char abs[PATH_MAX];
  int rc = cli_state_open_any(dir, true, &st, &err);
  struct state_endpoint rec = {0};
  bool recorded = true;
  if (rc == 0) {
    rc = state_endpoint_get(st, name, &rec, &err);
  }
  if (rc == SMF_ENOENT && st) {
    // Not recorded: the target may still know a server left starting by a run that died.
    recorded = false;
    smf_error_clear(&err);
    rc = 0;
  }
  if (rc != 0) {
    state_close(st);
    fprintf(stderr, "error: %s\n", err.message);
    return rc == SMF_ENOENT ? CLI_EXIT_FAILED : CLI_EXIT_ENV;
  }
  char *region = NULL;
  bool aws = recorded && cli_endpoint_aws_region(&rec, &region);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target_config cfg = {
      .loop = &loop, .state_dir = realpath(dir, abs) ? abs : dir, .state = st, .region = region};
  struct target *t = NULL;
  struct endpoints__del d = {.status = 1};
  rc = target_new(aws ? "aws" : "local", &cfg, &t, &err);
  if (rc != 0 && aws) {
    fprintf(stderr, "error: %s\n", err.message);
    uv_loop_close(&loop);
    state_close(st);
    state_endpoint_clear(&rec);
    free(region);
    return CLI_EXIT_ENV;
  }
  if (rc == 0) {
    rc = target_endpoint_delete(t, name, endpoints__on_removed, &d, &err);
  }
  if (rc == 0) {
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = d.status;
    err = d.err;
  }
  target_free(t);
  uv_run(&loop, UV_RUN_DEFAULT);  // the aws client's last closes
  uv_loop_close(&loop);
  free(region);
  if (rc == SMF_ENOENT && !recorded) {
    // Neither recorded nor found by the target: no such endpoint.
  } else if (rc == SMF_ENOENT) {  // the server's own record was gone: drop ours too
    rc = state_endpoint_delete(st, name, &err);
    rc = rc == 0 ? state_flush(st, &err) : rc;
  }
  state_close(st);
  state_endpoint_clear(&rec);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return CLI_EXIT_FAILED;
  }
  if (!ctx->quiet) {
    printf("endpoint %s deleted\n", name);
  }
  return CLI_EXIT_OK;
}

int cli_cmd_endpoints(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : "list";
  char *dir = cli_state_dir(ctx, NULL);
  int rc;
  if (strcmp(sub, "list") == 0 && argc <= 2) {
    rc = endpoints__list(ctx, dir);
  } else if (strcmp(sub, "delete") == 0 && argc == 3) {
    rc = endpoints__delete(ctx, dir, argv[2]);
  } else if (strcmp(sub, "list") == 0 || strcmp(sub, "delete") == 0) {
    rc = cli_usage_error(ctx, "wrong number of arguments for '%s'", sub);
  } else {
    rc = cli_usage_error(ctx, "unknown subcommand '%s' (expected list or delete)", sub);
  }
  free(dir);
  return rc;
}
