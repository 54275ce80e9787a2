// cmd_validate.c: `smflow validate PIPELINE.yaml [--param NAME=VALUE]...` —
// parse and check a pipeline file; print every problem; no side effects.
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "smflow/dsl.h"

int cli_cmd_validate(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
      {"param", required_argument, NULL, 'p'},
      {NULL, 0, NULL, 0},
  };
  struct cli_params params = {0};
  struct dsl_pipeline *p = NULL;
  const char *path = NULL;
  int rc, c, n_pos = 0;
  optind = 0;  // glibc: full re-initialisation, as commands may run more than once in tests
  opterr = 0;
  while ((c = getopt_long(argc, argv, "-:", opts, NULL)) != -1) {
    if (c == 1) {  // "-" in optstring: operands come in order, whatever POSIXLY_CORRECT says
      path = path ? path : optarg;
      n_pos++;
    } else if (c == 'p') {
      if (cli_params_add(&params, optarg) != 0) {
        rc = cli_usage_error(ctx, "--param needs NAME=VALUE, not '%s'", optarg);
        goto fail;
      }
    } else if (c == ':') {
      rc = cli_usage_error(ctx, "%s needs a value", argv[optind - 1]);
      goto fail;
    } else {
      rc = cli_usage_error(ctx, "unknown option '%s'", argv[optind - 1]);
      goto fail;
    }
  }
  for (; optind < argc; optind++) {  // operands after `--`
    path = path ? path : argv[optind];
    n_pos++;
  }
  if (n_pos != 1) {
    rc = cli_usage_error(ctx,
                         n_pos < 1 ? "missing the pipeline file" : "expected one pipeline file");
    goto fail;
  }
  rc = cli_pipeline_load(ctx, path, params.items, params.n, &p);
  if (rc == CLI_EXIT_OK && !ctx->quiet) {
    printf("ok: %zu step%s\n", p->n_steps, p->n_steps == 1 ? "" : "s");
  }
fail:
  dsl_pipeline_free(p);
  cli_params_free(&params);
  return rc;
}
