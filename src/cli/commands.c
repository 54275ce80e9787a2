// commands.c: the command table — name, function, summary, usage. `smflow help`
// lists exactly these entries, in this order (SPEC §2's order).
//
// Each command of SPEC §2 has its own slot below, separated by blank lines so
// that enabling one is a change of its own lines only. Enable a slot once its
// src/cli/cmd_NAME.c exists.
#include <string.h>

#include "cli/cli.h"

// The blank lines between slots are kept on purpose.
// clang-format off
static const struct cli_command cli__table[] = {
    // run: src/cli/cmd_run.c
    {"run", cli_cmd_run, "Run a pipeline",
     "smflow run PIPELINE.yaml [--param NAME=VALUE]... [--target local|aws] [--max-parallel N]\n"
     "                         [--only STEP]... [--from STEP] [--dry-run] [--detach] [--json]\n"
     "\n"
     "Check PIPELINE.yaml, then run its steps in dependency order. Every state change\n"
     "is recorded in the state directory first, so an interrupted run can be resumed.\n"
     "\n"
     "Options:\n"
     "  --param NAME=VALUE   override a parameter's default (repeatable)\n"
     "  --target local|aws   where the steps run (wins over the file's 'target:')\n"
     "  --max-parallel N     at most N steps in flight (wins over 'concurrency:')\n"
     "  --only STEP          run only this step (repeatable); the outputs of the\n"
     "                       other steps come from the newest earlier run\n"
     "  --from STEP          run STEP and every step downstream of it\n"
     "  --dry-run            print what would run; nothing is started or written\n"
     "  --detach             continue in the background; print the run id and exit 3\n"
     "  --json               print the run's events as JSON lines on stdout\n"
     "\n"
     "Exit status: 0 succeeded, 1 a step failed, 2 usage or validation error,\n"
     "3 interrupted or detached (resume with 'smflow resume'), 4 environment error.\n",
     " --param --target --max-parallel --only --from ", true},

    // resume: src/cli/cmd_resume.c
    {"resume", cli_cmd_resume, "Resume an interrupted run",
     "smflow resume [RUN_ID] [--allow-changed] [--json]\n"
     "\n"
     "Continue a run that was interrupted or whose smflow was killed: succeeded steps\n"
     "are kept, running remote jobs are re-attached, failed steps are tried again.\n"
     "Without RUN_ID, the newest unfinished run of the state directory.\n"
     "\n"
     "Options:\n"
     "  --allow-changed      resume even though the pipeline file changed since the\n"
     "                       run started (refused otherwise)\n"
     "  --json               print the run's events as JSON lines on stdout\n",
     "", true},

    {"validate", cli_cmd_validate, "Check a pipeline file; nothing is run or written",
     "smflow validate PIPELINE.yaml [--param NAME=VALUE]...\n"
     "\n"
     "Parse and check PIPELINE.yaml. Every problem is printed as PATH:LINE:COL: message\n"
     "on stderr; the exit code is 2 when there is any, else 0.\n"
     "\n"
     "Options:\n"
     "  --param NAME=VALUE   override a parameter's default (repeatable)\n",
     " --param ", false},

    // plan: src/cli/cmd_plan.c
    {"plan", cli_cmd_plan, "Show what a run would do, and the exact requests",
     "smflow plan PIPELINE.yaml [--param NAME=VALUE]... [--target local|aws] [--json]\n"
     "\n"
     "Evaluate the pipeline without running anything, and print per step its action\n"
     "(run, cached, skipped, or unknown: it needs outputs of earlier steps) and the\n"
     "requests it would send (values that need outputs shown as ${...}; secret-looking\n"
     "environment values as ***). An upload step's code is packed as a run packs it,\n"
     "in a temporary directory that is removed, to show its key, size and SHA-256 and\n"
     "the calls that store it; its outputs are then known to later steps. Nothing is\n"
     "written; the state directory is only read.\n"
     "\n"
     "Options:\n"
     "  --param NAME=VALUE   override a parameter's default (repeatable)\n"
     "  --target local|aws   the target whose requests are shown (wins over 'target:')\n"
     "  --json               print one JSON document {\"steps\": [...]}\n",
     " --param --target ", true},

    {"graph", cli_cmd_graph, "Print the step graph (Graphviz dot or Mermaid)",
     "smflow graph PIPELINE.yaml [--format dot|mermaid] [--param NAME=VALUE]...\n"
     "\n"
     "Print the steps as a graph on stdout: nodes labelled \"id (kind)\", an edge from\n"
     "each need to the step that needs it; steps with `when:` are drawn dashed.\n"
     "\n"
     "Options:\n"
     "  --format dot|mermaid  output format (default: dot)\n"
     "  --param NAME=VALUE    override a parameter's default (repeatable)\n",
     " --format --param ", false},

    // status: src/cli/cmd_status.c
    {"status", cli_cmd_status, "Show the steps of a run",
     "smflow status [RUN_ID] [--json]\n"
     "\n"
     "Show a run (default: the newest of the state directory) and each of its steps:\n"
     "state, attempts, duration, and its outputs or error.\n"
     "\n"
     "Options:\n"
     "  --json               print one JSON document {\"run\": {...}, \"steps\": [...]}\n",
     "", true},

    // runs: src/cli/cmd_runs.c
    {"runs", cli_cmd_runs, "List the runs of the state directory",
     "smflow runs [--json]\n"
     "\n"
     "List the runs recorded in the state directory, newest first.\n"
     "\n"
     "Options:\n"
     "  --json               print one JSON document {\"runs\": [...]}\n",
     "", true},

    // logs: src/cli/cmd_logs.c
    {"logs", cli_cmd_logs, "Print a step's log",
     "smflow logs RUN_ID STEP [--follow] [--attempt N]\n"
     "\n"
     "Print the log of a step's attempt (default: the newest). --follow keeps printing\n"
     "new lines until that attempt ends.\n"
     "\n"
     "Options:\n"
     "  --follow             keep printing new lines until the attempt has a result\n"
     "  --attempt N          the log of attempt N (default: the newest)\n",
     " --attempt ", false},

    // cancel: src/cli/cmd_cancel.c
    {"cancel", cli_cmd_cancel, "Stop a run's remote jobs and mark it cancelled",
     "smflow cancel RUN_ID\n"
     "\n"
     "Stop a run: the smflow running it (if any) is asked to stop (SIGTERM), then\n"
     "every job of an attempt without a result is stopped, and the run is marked\n"
     "cancelled. A cancelled run cannot be resumed.\n",
     "", false},

    // invoke: src/cli/cmd_invoke.c
    {"invoke", cli_cmd_invoke, "Call a deployed endpoint",
     "smflow invoke ENDPOINT [--body FILE|-] [--content-type T] [--accept T]\n"
     "\n"
     "POST the body to the endpoint's /invocations. The response body goes to stdout;\n"
     "exit 0 on a 2xx answer, else 1 with the status and the body on stderr.\n"
     "\n"
     "Options:\n"
     "  --body FILE|-         request body from FILE or standard input (default: empty)\n"
     "  --content-type T      Content-Type of the request (default: application/json)\n"
     "  --accept T            Accept header\n",
     " --body --content-type --accept ", false},

    // endpoints: src/cli/cmd_endpoints.c
    {"endpoints", cli_cmd_endpoints, "List or delete the endpoints this state dir deployed",
     "smflow endpoints [list | delete NAME] [--json]\n"
     "\n"
     "list (the default): name, status (InService while the server runs), URL, pid,\n"
     "last update and model of every endpoint. delete NAME: stop its server and\n"
     "remove it.\n"
     "\n"
     "Options:\n"
     "  --json               list as one JSON document {\"endpoints\": [...]}\n",
     "", true},

    // models: src/cli/cmd_models.c
    {"models", cli_cmd_models, "The local model registry",
     "smflow models list [GROUP] [--json] | approve GROUP VERSION | reject GROUP VERSION\n"
     "\n"
     "The model package versions registered by `register` steps, and their approval.\n"
     "approve/reject work while a run waits for the approval (wait_for_approval).\n"
     "\n"
     "Options:\n"
     "  --json               list as one JSON document {\"models\": [...]}\n",
     "", true},

    {"version", cli_cmd_version, "Print the version", "smflow version\n", "", false},

    {"help", cli_cmd_help, "Show help for smflow or one command", "smflow help [COMMAND]\n", "",
     false},
};
// clang-format on

const struct cli_command *cli_commands(size_t *n)
{
  *n = sizeof(cli__table) / sizeof(cli__table[0]);
  return cli__table;
}

const struct cli_command *cli_command_find(const char *name)
{
  size_t n;
  const struct cli_command *t = cli_commands(&n);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(t[i].name, name) == 0) {
      return &t[i];
    }
  }
  return NULL;
}
