// cli.c: global options (before or after the command), dispatch through the
// command table, help and usage errors.
//
// Global options are taken out of argv wherever they stand; what is left goes to
// the command with argv[0] = its name. The command's own options that take a
// separate value are known from the table, so that a value such as
// `--param -v=1` is never mistaken for a global option. After `--` nothing is
// scanned.
#include "cli/cli.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/hash.h"
#include "smflow/log.h"
#include "smflow/util.h"

enum cli__color { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

/// What the scan of the whole command line found.
struct cli__scan {
  const struct cli_command *cmd;
  const char *cmd_name;  ///< as typed, also when unknown
  char **args;           ///< the command's argv (args[0] = name); pointers into argv
  int n_args;
  enum cli__color color;
  bool help, version, json;
};

static void cli__print_usage_line(FILE *f)
{
  fputs("usage: smflow [GLOBAL OPTIONS] COMMAND [ARGS]\n", f);
}

void cli_print_help(FILE *f)
{
  size_t n;
  const struct cli_command *t = cli_commands(&n);
  cli__print_usage_line(f);
  fputs("\nCommands:\n", f);
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "  %-10s %s\n", t[i].name, t[i].summary);
  }
  fputs(
      "\nGlobal options (before or after the command):\n"
      "  --state-dir DIR        state directory (env SMFLOW_STATE_DIR; default: .smflow/\n"
      "                         beside the pipeline file, or ./.smflow/)\n"
      "  -v, --verbose          more detail (repeatable)\n"
      "  -q, --quiet            errors only\n"
      "  --color WHEN           auto|always|never (auto: when stderr is a terminal and\n"
      "                         NO_COLOR is unset)\n"
      "  -h, --help             show help (of the command, after one)\n"
      "  --version              print the version\n"
      "\nExit codes: 0 success, 1 the run failed, 2 usage or validation error,\n"
      "3 interrupted or detached (resumable), 4 environment error.\n"
      "\nRun 'smflow help COMMAND' for the options of a command.\n",
      f);
}

void cli_print_command_help(const struct cli_command *c, FILE *f)
{
  fprintf(f, "usage: %s", c->usage);
  if (strchr(c->usage, '\n') == strrchr(c->usage, '\n')) {
    fprintf(f, "\n%s.\n", c->summary);  // a one-line usage: add the summary
  }
  fputs("\nGlobal options: see 'smflow help'.\n", f);
}

int cli_usage_error(const struct cli_ctx *ctx, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "smflow%s%s: ", ctx->cmd ? " " : "", ctx->cmd ? ctx->cmd->name : "");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (ctx->cmd != NULL) {
    // The synopsis only (up to the first blank line); the rest is in `help COMMAND`.
    const char *u = ctx->cmd->usage;
    const char *end = strstr(u, "\n\n");
    int len = end != NULL ? (int)(end - u + 1) : (int)strlen(u);
    fprintf(stderr, "usage: %.*s", len, u);
    if (end != NULL) {
      fprintf(stderr, "Run 'smflow help %s' for details.\n", ctx->cmd->name);
    }
  } else {
    cli__print_usage_line(stderr);
    fputs("Run 'smflow help' for the list of commands and options.\n", stderr);
  }
  return CLI_EXIT_USAGE;
}

// "--name=value" or "--name value": returns the value (advancing *i past a
// separate one) or NULL when it is missing. `name` is the option without value.
static const char *cli__opt_value(int argc, char **argv, int *i, const char *name)
{
  const char *a = argv[*i];
  size_t len = strlen(name);
  if (a[len] == '=') {
    return a + len + 1;
  }
  if (*i + 1 >= argc) {
    return NULL;
  }
  return argv[++*i];
}

static bool cli__is_opt(const char *a, const char *name)
{
  size_t len = strlen(name);
  return strncmp(a, name, len) == 0 && (a[len] == '\0' || a[len] == '=');
}

// -v, -vv, -q, -vq...: a cluster made only of global short flags.
static bool cli__short_flags(struct cli_ctx *ctx, const char *a)
{
  if (a[0] != '-' || a[1] == '-' || a[1] == '\0') {
    return false;
  }
  for (const char *p = a + 1; *p; p++) {
    if (*p != 'v' && *p != 'q') {
      return false;
    }
  }
  for (const char *p = a + 1; *p; p++) {
    // The last of -v / -q wins, so a later flag overrides an earlier one.
    if (*p == 'v') {
      ctx->verbose++;
      ctx->quiet = false;
    } else {
      ctx->quiet = true;
      ctx->verbose = 0;
    }
  }
  return true;
}

// One global option at argv[*i]: 1 = consumed, 0 = not a global option,
// CLI_EXIT_USAGE (after printing) = malformed.
static int cli__global_opt(struct cli_ctx *ctx, struct cli__scan *s, int argc, char **argv, int *i)
{
  const char *a = argv[*i];
  if (cli__short_flags(ctx, a)) {
    return 1;
  }
  if (strcmp(a, "--verbose") == 0) {
    ctx->verbose++;
    ctx->quiet = false;
  } else if (strcmp(a, "--quiet") == 0) {
    ctx->quiet = true;
    ctx->verbose = 0;
  } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
    s->help = true;
  } else if (strcmp(a, "--version") == 0) {
    s->version = true;
  } else if (strcmp(a, "--json") == 0) {
    s->json = true;
  } else if (cli__is_opt(a, "--state-dir")) {
    const char *v = cli__opt_value(argc, argv, i, "--state-dir");
    if (v == NULL || *v == '\0') {
      return cli_usage_error(ctx, "--state-dir needs a directory");
    }
    ctx->state_dir = v;
  } else if (cli__is_opt(a, "--color") || cli__is_opt(a, "--colour")) {
    const char *v =
        cli__opt_value(argc, argv, i, cli__is_opt(a, "--colour") ? "--colour" : "--color");
    if (v == NULL) {
      return cli_usage_error(ctx, "--color needs a value: auto, always or never");
    }
    if (strcmp(v, "auto") == 0) {
      s->color = CLI_COLOR_AUTO;
    } else if (strcmp(v, "always") == 0) {
      s->color = CLI_COLOR_ALWAYS;
    } else if (strcmp(v, "never") == 0) {
      s->color = CLI_COLOR_NEVER;
    } else {
      return cli_usage_error(ctx, "--color must be auto, always or never, not '%s'", v);
    }
  } else {
    return 0;
  }
  return 1;
}

int cli_unknown_command(const struct cli_ctx *ctx, const char *name)
{
  size_t n;
  const struct cli_command *t = cli_commands(&n);
  const char *names[32];
  size_t k = 0;
  for (size_t i = 0; i < n && k < SMF_ARRAY_LEN(names); i++) {
    names[k++] = t[i].name;
  }
  const char *hint = smf_str_suggest(name, names, k);
  if (hint != NULL) {
    return cli_usage_error(ctx, "unknown command '%s' (did you mean '%s'?)", name, hint);
  }
  return cli_usage_error(ctx, "unknown command '%s'", name);
}

// Walk the whole command line once. Returns 0 or CLI_EXIT_USAGE (printed).
static int cli__scan(struct cli_ctx *ctx, struct cli__scan *s, int argc, char **argv)
{
  s->args = smf_xcalloc((size_t)argc + 1, sizeof(*s->args));
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0 && s->cmd != NULL) {
      while (i < argc) {
        s->args[s->n_args++] = argv[i++];
      }
      break;
    }
    int rc = cli__global_opt(ctx, s, argc, argv, &i);
    if (rc == 1) {
      continue;
    }
    if (rc != 0) {
      return rc;
    }
    if (s->cmd == NULL) {
      if (a[0] == '-' && a[1] != '\0') {
        return cli_usage_error(ctx, "unknown option '%s'", a);
      }
      s->cmd_name = a;
      s->cmd = cli_command_find(a);
      if (s->cmd == NULL) {
        return cli_unknown_command(ctx, a);
      }
      ctx->cmd = s->cmd;
      s->args[s->n_args++] = argv[i];
      continue;
    }
    s->args[s->n_args++] = argv[i];
    // A command option that takes a separate value: keep the value unscanned.
    if (a[0] == '-' && a[1] == '-' && strchr(a, '=') == NULL && i + 1 < argc) {
      char key[64];
      int len = snprintf(key, sizeof(key), " %s ", a);
      if (len > 0 && (size_t)len < sizeof(key) && strstr(s->cmd->value_opts, key) != NULL) {
        s->args[s->n_args++] = argv[++i];
      }
    }
  }
  return 0;
}

static bool cli__resolve_color(enum cli__color c)
{
  if (c != CLI_COLOR_AUTO) {
    return c == CLI_COLOR_ALWAYS;
  }
  const char *no = getenv("NO_COLOR");
  const char *term = getenv("TERM");
  if ((no != NULL && *no != '\0') || (term != NULL && strcmp(term, "dumb") == 0)) {
    return false;
  }
  return isatty(STDERR_FILENO) != 0;
}

static void cli__apply(struct cli_ctx *ctx, const struct cli__scan *s)
{
  if (ctx->state_dir == NULL) {
    const char *env = getenv("SMFLOW_STATE_DIR");
    if (env != NULL && *env != '\0') {
      ctx->state_dir = env;
    }
  }
  ctx->color = cli__resolve_color(s->color);
  ctx->json = s->json;
  smf_log_set_color(ctx->color);
  smf_log_set_level(ctx->quiet ? SMF_LOG_ERROR : ctx->verbose > 0 ? SMF_LOG_DEBUG : SMF_LOG_INFO);
}

int cli_main(int argc, char **argv)
{
  // A reader that goes away (`smflow run p.yaml | head`, a closed CI log) must not
  // kill a run half-way: writes then fail with EPIPE and the run goes on. Step
  // processes get the default disposition back when they are spawned.
  signal(SIGPIPE, SIG_IGN);
  struct cli_ctx ctx = {0};
  struct cli__scan s = {0};
  int rc = cli__scan(&ctx, &s, argc, argv);
  if (rc != 0) {
    goto done;
  }
  cli__apply(&ctx, &s);
  if (s.help) {
    if (s.cmd != NULL && s.cmd->fn != cli_cmd_help) {
      cli_print_command_help(s.cmd, stdout);
    } else {
      cli_print_help(stdout);
    }
    goto done;
  }
  if (s.version || (s.cmd != NULL && s.cmd->fn == cli_cmd_version)) {
    rc = cli_cmd_version(&ctx, s.n_args, s.args);
    goto done;
  }
  if (s.cmd == NULL) {
    fputs("smflow: no command given\n", stderr);
    cli_print_help(stderr);
    rc = CLI_EXIT_USAGE;
    goto done;
  }
  if (s.json && !s.cmd->json) {
    rc = cli_usage_error(&ctx, "--json is not an option of this command");
    goto done;
  }
  if (s.cmd->fn == cli_cmd_run || s.cmd->fn == cli_cmd_resume) {
    smf_hash_warm_start();  // while the pipeline is read and parsed (joined on load)
  }
  rc = s.cmd->fn(&ctx, s.n_args, s.args);
done:
  smf_hash_warm_wait();
  free(s.args);
  fflush(stdout);
  return rc;
}
