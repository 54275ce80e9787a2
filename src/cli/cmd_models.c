// cmd_models.c: `smflow models list [GROUP] [--json] | approve GROUP VERSION |
// reject GROUP VERSION` — the local model registry in the state database.
//
// Approving while a run holds the state directory (a register step waiting for
// approval) is the point of the command: then the database is opened without
// the single-writer lock (STATE_OPEN_SHARED) and SQLite serialises the write.
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run_common.h"
#include "smflow/state.h"
#include "smflow/util.h"

int cli_state_open_any(const char *dir, bool write, struct state **st, struct smf_error *err)
{
  // Never the writer lock: a run starting meanwhile must not find it taken.
  return state_open(dir, write ? STATE_OPEN_SHARED : STATE_OPEN_READ, st, err);
}

static void models__json(const struct state_model_package *v, size_t n)
{
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *meta = v[i].metadata_json ? json_loads(v[i].metadata_json, 0, NULL) : NULL;
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:o?, s:I}", "group",
                          v[i].group, "version", v[i].version, "arn", v[i].arn, "approval",
                          v[i].approval, "model_data", v[i].model_data, "image_uri", v[i].image_uri,
                          "description", v[i].description, "metrics", v[i].metrics_uri, "metadata",
                          meta, "created_at", (json_int_t)v[i].created_ms);
    json_array_append_new(arr, j);
  }
  json_t *doc = json_pack("{s:o}", "models", arr);
  char *t = json_dumps(doc, JSON_INDENT(2));
  printf("%s\n", t);
  free(t);
  json_decref(doc);
}

static int models__list(struct cli_ctx *ctx, const char *dir, const char *group)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  struct state_model_package *v = NULL;
  size_t n = 0;
  int rc = cli_state_open_any(dir, false, &st, &err);
  if (rc == SMF_ENOENT) {
    rc = 0;
  } else if (rc == 0) {
    rc = state_registry_list(st, group, &v, &n, &err);
  }
  state_close(st);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return CLI_EXIT_ENV;
  }
  if (ctx->json) {
    models__json(v, n);
  } else {
    printf("%-28s %-7s %-22s %-20s %s\n", "GROUP", "VERSION", "APPROVAL", "CREATED", "MODEL");
    for (size_t i = 0; i < n; i++) {
      char t[32];
      printf("%-28s %-7d %-22s %-20s %s\n", v[i].group, v[i].version, v[i].approval,
             cli_time_format(v[i].created_ms, t, sizeof(t)),
             v[i].model_data ? v[i].model_data : "");
    }
  }
  state_model_packages_free(v, n);
  return CLI_EXIT_OK;
}

static int models__set(struct cli_ctx *ctx, const char *dir, const char *group, const char *version,
                       const char *approval)
{
  char *end = NULL;
  errno = 0;
  long v = strtol(version, &end, 10);
  if (errno != 0 || end == version || *end != '\0' || v < 1 || v > 1000000000) {
    return cli_usage_error(ctx, "VERSION must be a positive number, got '%s'", version);
  }
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  int rc = cli_state_open_any(dir, true, &st, &err);
  if (rc == 0) {
    rc = state_registry_set_approval(st, group, (int)v, approval, &err);
  }
  if (rc == 0) {
    rc = state_flush(st, &err);
  }
  state_close(st);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return rc == SMF_ENOENT ? CLI_EXIT_FAILED : CLI_EXIT_ENV;
  }
  if (!ctx->quiet) {
    printf("%s version %ld: %s\n", group, v, approval);
  }
  return CLI_EXIT_OK;
}

int cli_cmd_models(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : "list";
  char *dir = cli_state_dir(ctx, NULL);
  int rc;
  if (strcmp(sub, "list") == 0 && argc <= 3) {
    rc = models__list(ctx, dir, argc > 2 ? argv[2] : NULL);
  } else if ((strcmp(sub, "approve") == 0 || strcmp(sub, "reject") == 0) && argc == 4) {
    rc = models__set(ctx, dir, argv[2], argv[3],
                     strcmp(sub, "approve") == 0 ? "Approved" : "Rejected");
  } else if (strcmp(sub, "list") == 0 || strcmp(sub, "approve") == 0 ||
             strcmp(sub, "reject") == 0) {
    rc = cli_usage_error(ctx, "wrong number of arguments for '%s'", sub);
  } else {
    rc = cli_usage_error(ctx, "unknown subcommand '%s' (expected list, approve or reject)", sub);
  }
  free(dir);
  return rc;
}
