// cli.h: shared by the command files of the command line. Only cli/ prints for humans.
#pragma once

#include <stdbool.h>

/// Global options, parsed before and after the command name.
struct cli_ctx {
  const char *state_dir;  ///< --state-dir or SMFLOW_STATE_DIR; NULL = default for the command
  int verbose;            ///< count of -v
  bool quiet;             ///< -q
  bool color;             ///< resolved from --color auto|always|never, NO_COLOR and isatty
  bool json;              ///< --json (for the commands that support it)
};

/// Exit codes of SPEC §2.
enum cli_exit {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILED = 1,
  CLI_EXIT_USAGE = 2,
  CLI_EXIT_INTERRUPTED = 3,
  CLI_EXIT_ENV = 4,
};

/// One command: argv[0] is the command name; global options are already removed.
typedef int (*cli_cmd_fn)(struct cli_ctx *ctx, int argc, char **argv);
