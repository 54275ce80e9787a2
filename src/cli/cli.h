// cli.h: shared by the command files of the command line. Only cli/ prints for humans.
//
// Adding a command: write `int cli_cmd_NAME(struct cli_ctx *, int, char **)` in
// src/cli/cmd_NAME.c (declared below), then enable its entry in the table in
// src/cli/commands.c (summary, usage, options that take a value). `smflow help`
// lists exactly the commands of that table.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct dsl_diags;
struct dsl_pipeline;
struct dsl_param_override;
struct cli_command;
struct state;

/// Global options, parsed before and after the command name.
struct cli_ctx {
  const char *state_dir;  ///< --state-dir or SMFLOW_STATE_DIR; NULL = default for the command
  int verbose;            ///< count of -v
  bool quiet;             ///< -q
  bool color;             ///< resolved from --color auto|always|never, NO_COLOR and isatty
  bool json;              ///< --json (for the commands that support it)
  const struct cli_command *cmd;  ///< the command being run (borrowed from the table)
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
/// Returns the process exit code (enum cli_exit).
typedef int (*cli_cmd_fn)(struct cli_ctx *ctx, int argc, char **argv);

/// One entry of the command table.
struct cli_command {
  const char *name;
  cli_cmd_fn fn;
  const char *summary;     ///< one line, for `smflow help`
  const char *usage;       ///< "smflow NAME ARGS..." and its options, for `smflow help NAME`
  const char *value_opts;  ///< the command's options that take a separate value, e.g.
                           ///< " --param --format " (so global-option scanning skips values)
  bool json;               ///< accepts --json
};

/// The command table, in the order help lists it. Borrowed, static.
const struct cli_command *cli_commands(size_t *n);
/// Command by name, or NULL.
const struct cli_command *cli_command_find(const char *name);

/// The whole command line: global options, dispatch, exit code. main() calls it.
int cli_main(int argc, char **argv);

/// Print the general help (stdout for `help`, stderr after a usage error).
void cli_print_help(FILE *f);
/// Print one command's help.
void cli_print_command_help(const struct cli_command *c, FILE *f);
/// Report a usage error of the current command on stderr ("smflow CMD: message"
/// and the command's usage). Returns CLI_EXIT_USAGE.
int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/// Usage error for an unknown command name, with "did you mean" when one is close.
int cli_unknown_command(const struct cli_ctx *ctx, const char *name);

// ---- helpers shared by commands (src/cli/util.c) ----

/// SGR colour sequences, empty strings when ctx->color is off.
const char *cli_sgr(const struct cli_ctx *ctx, const char *code);
#define CLI_SGR_BOLD "1"
#define CLI_SGR_RED "1;31"
#define CLI_SGR_GREEN "32"
#define CLI_SGR_RESET "0"

/// `--param NAME=VALUE` values collected by a command. Strings are owned.
struct cli_params {
  struct dsl_param_override *items;
  size_t n;
};
/// Add one NAME=VALUE. Returns 0, or SMF_EINVAL when there is no '=' or no name.
int cli_params_add(struct cli_params *p, const char *arg);
void cli_params_free(struct cli_params *p);

/// Print every diagnostic "PATH:LINE:COL: message" to `f` (the position bold when
/// ctx->color), then, if any, a one-line red "error:" summary naming `path`.
void cli_diags_print(const struct cli_ctx *ctx, const struct dsl_diags *d, const char *path,
                     FILE *f);
/// The one pipeline loader of every command (validate, graph, run, resume): dsl_load
/// with `n_ov` --param overrides (ov may be NULL when n_ov is 0) and the diagnostics
/// printed to stderr by cli_diags_print. Returns CLI_EXIT_OK with *out set (caller
/// frees with dsl_pipeline_free), or CLI_EXIT_USAGE with *out NULL.
int cli_pipeline_load(const struct cli_ctx *ctx, const char *path,
                      const struct dsl_param_override *ov, size_t n_ov, struct dsl_pipeline **out);
/// The state directory of SPEC §2: --state-dir / SMFLOW_STATE_DIR, else `.smflow`
/// beside `pipeline_path`, else `./.smflow` when pipeline_path is NULL. Caller frees.
char *cli_state_dir(const struct cli_ctx *ctx, const char *pipeline_path);
/// Open the state directory's database read-only for a command about earlier
/// runs. Returns CLI_EXIT_OK with *st set, else prints why and returns
/// CLI_EXIT_USAGE (no database there) or CLI_EXIT_ENV.
int cli_state_open_read(const struct cli_ctx *ctx, struct state **st);

// ---- the commands (src/cli/cmd_NAME.c) ----
// Implemented:
int cli_cmd_help(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_version(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_validate(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_graph(struct cli_ctx *ctx, int argc, char **argv);
// Of SPEC §2, to be written in their own files (enable each in commands.c once it exists):
int cli_cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_resume(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_plan(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_runs(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_logs(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_cancel(struct cli_ctx *ctx, int argc, char **argv);
struct state_endpoint;
/// The region of an endpoint record that an aws deploy wrote (spec_json
/// {"target": "aws", "region": R}) in *region (caller frees), 1; 0 for a local one.
int cli_endpoint_aws_region(const struct state_endpoint *rec, char **region);
int cli_cmd_invoke(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_endpoints(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_models(struct cli_ctx *ctx, int argc, char **argv);

struct smf_error;
/// Open STATE_DIR/state.db for the registry and endpoint commands, never with
/// the writer lock (a run may hold it, or start meanwhile): STATE_OPEN_SHARED
/// when `write`, else STATE_OPEN_READ. SMF_ENOENT when there is no database.
/// Caller closes with state_close.
int cli_state_open_any(const char *dir, bool write, struct state **st, struct smf_error *err);
int cli_cmd_invoke(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_endpoints(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_models(struct cli_ctx *ctx, int argc, char **argv);
