// cmd_runs.c: `smflow runs [--json]` — the run history of a state directory.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/run_common.h"
#include "smflow/state.h"
#include "smflow/util.h"

static void runs__json(const struct state_run *runs, size_t n)
{
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    const struct state_run *r = &runs[i];
    json_t *j = json_pack("{s:s, s:s?, s:s, s:s?, s:s, s:I}", "id", r->id, "name", r->name,
                          "pipeline", r->pipeline_path, "target", r->target, "status", r->status,
                          "started_at", (json_int_t)r->started_ms);
    json_object_set_new(j, "exit_code",
                        r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
    json_object_set_new(j, "finished_at",
                        r->finished_ms ? json_integer(r->finished_ms) : json_null());
    json_array_append_new(arr, j);
  }
  json_t *doc = json_pack("{s:o}", "runs", arr);
  char *t = json_dumps(doc, JSON_INDENT(2));
  printf("%s\n", t);
  free(t);
  json_decref(doc);
}

int cli_cmd_runs(struct cli_ctx *ctx, int argc, char **argv)
{
  if (argc > 1) {
    return cli_usage_error(ctx, "unexpected argument '%s'", argv[1]);
  }
  char *dir = cli_state_dir(ctx, NULL);
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  int rc = state_open(dir, STATE_OPEN_READ, &st, &err);
  struct state_run *runs = NULL;
  size_t n = 0;
  if (rc == SMF_ENOENT) {
    rc = 0;  // no database yet: no runs
  } else if (rc == 0) {
    rc = state_runs_list(st, &runs, &n, &err);
  }
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    state_close(st);
    free(dir);
    return CLI_EXIT_ENV;
  }
  if (ctx->json) {
    runs__json(runs, n);
  } else {
    printf("%-22s %-24s %-12s %-20s %s\n", "RUN", "NAME", "STATUS", "STARTED", "DURATION");
    for (size_t i = 0; i < n; i++) {
      char t[32], d[32];
      const struct state_run *r = &runs[i];
      printf(
          "%-22s %-24s %-12s %-20s %s\n", r->id, r->name ? r->name : "", r->status,
          cli_time_format(r->started_ms, t, sizeof(t)),
          r->finished_ms ? smf_duration_format(r->finished_ms - r->started_ms, d, sizeof(d)) : "-");
    }
  }
  state_runs_free(runs, n);
  state_close(st);
  free(dir);
  return CLI_EXIT_OK;
}
