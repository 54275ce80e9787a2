// cmd_plan.c: `smflow plan PIPELINE.yaml [--param NAME=VALUE]... [--target T] [--json]`
// — what a run would do and the requests each step would send (eng_plan), and
// the outputs of steps whose outputs are known (cached; an upload). No
// side effects: the state directory is read only when its database exists,
// and never created.
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "smflow/dsl.h"
#include "smflow/engine.h"
#include "smflow/state.h"
#include "smflow/util.h"

// "service:operation" of each request, a run of the same one as "...(xN)".
static void plan__ops(json_t *requests, struct smf_buf *b)
{
  size_t n = json_array_size(requests);
  for (size_t k = 0; k < n;) {
    json_t *r = json_array_get(requests, k);
    const char *svc = json_string_value(json_object_get(r, "service"));
    const char *op = json_string_value(json_object_get(r, "operation"));
    size_t same = 1;
    while (k + same < n) {
      json_t *x = json_array_get(requests, k + same);
      if (strcmp(json_string_value(json_object_get(x, "operation")), op) != 0) {
        break;
      }
      same++;
    }
    smf_buf_printf(b, "%s%s:%s", k ? ", " : "", svc, op);
    if (same > 1) {
      smf_buf_printf(b, "(x%zu)", same);
    }
    k += same;
  }
}

// The reason column: plan's reason; for a step whose run would store code,
// where it goes and that it is only stored when absent.
static void plan__why(json_t *s, struct smf_buf *b)
{
  const char *reason = json_string_value(json_object_get(s, "reason"));
  json_t *out = json_object_get(s, "outputs");
  const char *kind = json_string_value(json_object_get(s, "kind"));
  smf_buf_puts(b, reason ? reason : "");
  if (kind && strcmp(kind, "upload") == 0 && json_string_value(json_object_get(out, "uri"))) {
    smf_buf_printf(b, "%s%s (%" JSON_INTEGER_FORMAT " bytes, sha256 %.12s; stored unless it exists)",
                   reason ? "; " : "", json_string_value(json_object_get(out, "uri")),
                   json_integer_value(json_object_get(out, "bytes")),
                   json_string_value(json_object_get(out, "sha256")));
  }
}

static void plan__print_table(json_t *doc)
{
  printf("%-20s %-9s %-8s %-44s %s\n", "STEP", "KIND", "ACTION", "REQUESTS", "REASON");
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(doc, "steps"), i, s)
  {
    struct smf_buf ops = SMF_BUF_INIT, why = SMF_BUF_INIT;
    plan__ops(json_object_get(s, "requests"), &ops);
    plan__why(s, &why);
    printf("%-20s %-9s %-8s %-44s %s\n", json_string_value(json_object_get(s, "id")),
           json_string_value(json_object_get(s, "kind")),
           json_string_value(json_object_get(s, "action")), smf_buf_cstr(&ops),
           smf_buf_cstr(&why));
    smf_buf_free(&ops);
    smf_buf_free(&why);
  }
}

static int plan__show(const struct cli_ctx *ctx, const struct dsl_pipeline *p, const char *target,
                      const char *path)
{
  char *dir = cli_state_dir(ctx, path);
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  int rc = state_open(dir, STATE_OPEN_READ, &st, &err);
  if (rc != 0 && rc != SMF_ENOENT) {
    fprintf(stderr, "warning: %s; cache lookups are left out\n", err.message);
  }
  char *text = NULL;
  rc = eng_plan(p, target, st, &text, &err);
  state_close(st);
  free(dir);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return CLI_EXIT_USAGE;
  }
  json_t *doc = json_loads(text, 0, NULL);
  free(text);
  if (ctx->json) {
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "steps"), i, s)
    {
      json_object_del(s, "reason");
    }
    char *out = json_dumps(doc, JSON_INDENT(2));
    printf("%s\n", out);
    free(out);
  } else {
    plan__print_table(doc);
  }
  json_decref(doc);
  return CLI_EXIT_OK;
}

int cli_cmd_plan(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
      {"param", required_argument, NULL, 'p'},
      {"target", required_argument, NULL, 't'},
      {NULL, 0, NULL, 0},
  };
  struct cli_params params = {0};
  struct dsl_pipeline *p = NULL;
  const char *path = NULL, *target = NULL;
  int rc, c, n_pos = 0;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "-:", opts, NULL)) != -1) {
    if (c == 1) {
      path = path ? path : optarg;
      n_pos++;
    } else if (c == 'p' && cli_params_add(&params, optarg) != 0) {
      rc = cli_usage_error(ctx, "--param needs NAME=VALUE, not '%s'", optarg);
      goto fail;
    } else if (c == 't') {
      target = optarg;
    } else if (c == ':') {
      rc = cli_usage_error(ctx, "%s needs a value", argv[optind - 1]);
      goto fail;
    } else if (c != 'p') {
      rc = cli_usage_error(ctx, "unknown option '%s'", argv[optind - 1]);
      goto fail;
    }
  }
  if (n_pos != 1) {
    rc = cli_usage_error(ctx,
                         n_pos < 1 ? "missing the pipeline file" : "expected one pipeline file");
    goto fail;
  }
  if (target && strcmp(target, "local") != 0 && strcmp(target, "aws") != 0) {
    rc = cli_usage_error(ctx, "--target must be local or aws, not '%s'", target);
    goto fail;
  }
  rc = cli_pipeline_load(ctx, path, params.items, params.n, &p);
  if (rc == CLI_EXIT_OK) {
    rc = plan__show(ctx, p, target, path);
  }
fail:
  dsl_pipeline_free(p);
  cli_params_free(&params);
  return rc;
}
