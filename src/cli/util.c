// util.c: helpers shared by the commands: colour, --param values, the state directory.
#include "smflow/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "smflow/dsl.h"
#include "smflow/error.h"
#include "smflow/state.h"

const char *cli_sgr(const struct cli_ctx *ctx, const char *code)
{
  if (!ctx->color) {
    return "";
  }
  if (strcmp(code, CLI_SGR_BOLD) == 0) {
    return "\033[1m";
  }
  if (strcmp(code, CLI_SGR_RED) == 0) {
    return "\033[1;31m";
  }
  if (strcmp(code, CLI_SGR_GREEN) == 0) {
    return "\033[32m";
  }
  return "\033[0m";
}

int cli_params_add(struct cli_params *p, const char *arg)
{
  const char *eq = strchr(arg, '=');
  if (eq == NULL || eq == arg) {
    return SMF_EINVAL;
  }
  p->items = smf_xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
  p->items[p->n].name = smf_xstrndup(arg, (size_t)(eq - arg));
  p->items[p->n].value = smf_xstrdup(eq + 1);
  p->n++;
  return 0;
}

void cli_params_free(struct cli_params *p)
{
  for (size_t i = 0; i < p->n; i++) {
    free((char *)p->items[i].name);
    free((char *)p->items[i].value);
  }
  free(p->items);
  p->items = NULL;
  p->n = 0;
}

char *cli_state_dir(const struct cli_ctx *ctx, const char *pipeline_path)
{
  if (ctx->state_dir != NULL) {
    return smf_xstrdup(ctx->state_dir);
  }
  if (pipeline_path == NULL) {
    return smf_xstrdup("./.smflow");
  }
  const char *slash = strrchr(pipeline_path, '/');
  if (slash == NULL) {
    return smf_xstrdup("./.smflow");
  }
  if (slash == pipeline_path) {
    return smf_xstrdup("/.smflow");
  }
  return smf_xasprintf("%.*s/.smflow", (int)(slash - pipeline_path), pipeline_path);
}

int cli_state_open_read(const struct cli_ctx *ctx, struct state **st)
{
  char *dir = cli_state_dir(ctx, NULL);
  struct smf_error err = SMF_ERROR_INIT;
  int rc = state_open(dir, STATE_OPEN_READ, st, &err);
  free(dir);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    return rc == SMF_ENOENT ? CLI_EXIT_USAGE : CLI_EXIT_ENV;
  }
  return CLI_EXIT_OK;
}
