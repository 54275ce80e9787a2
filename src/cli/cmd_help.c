// cmd_help.c: `smflow help [COMMAND]` and `smflow version`.
#include <stdio.h>

#include "cli/cli.h"

int cli_cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
  if (argc > 2) {
    return cli_usage_error(ctx, "too many arguments");
  }
  if (argc < 2) {
    cli_print_help(stdout);
    return CLI_EXIT_OK;
  }
  const struct cli_command *c = cli_command_find(argv[1]);
  if (c == NULL) {
    return cli_unknown_command(ctx, argv[1]);
  }
  cli_print_command_help(c, stdout);
  return CLI_EXIT_OK;
}

int cli_cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
  (void)argv;
  if (argc > 1) {
    return cli_usage_error(ctx, "version takes no arguments");
  }
  printf("smflow %s\n", SMF_VERSION);
  return CLI_EXIT_OK;
}
