// cmd_resume.c: `smflow resume [RUN_ID] [--allow-changed]` (SPEC §6).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_common.h"
#include "smflow/crypto_lib.h"
#include "smflow/engine.h"
#include "smflow/state.h"
#include "smflow/util.h"

static int resume__go(struct cli_ctx *ctx, struct state *st, const char *dir,
                      const struct state_run *run, bool allow_changed)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct eng_options opt;
  struct smf_error err = SMF_ERROR_INIT;
  if (eng_options_from_json(run->options_json, &a, &opt, &err) != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    smf_arena_free(&a);
    return CLI_EXIT_ENV;
  }
  struct dsl_pipeline *p = NULL;
  int rc = cli_pipeline_load(ctx, run->pipeline_path, opt.params, opt.n_params, &p);
  char sha256[65] = "";
  if (rc == 0 && smf_crypto_load(&err) != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    rc = CLI_EXIT_ENV;
  }
  if (rc == 0) {
    dsl_pipeline_sha256(p, sha256);
  }
  if (rc == 0 && strcmp(sha256, run->pipeline_sha256) != 0 && !allow_changed) {
    fprintf(stderr,
            "error: %s changed since run %s started (sha256 %.12s, now %.12s); "
            "resume it anyway with --allow-changed\n",
            run->pipeline_path, run->id, run->pipeline_sha256, sha256);
    rc = CLI_EXIT_USAGE;
  }
  if (rc == 0) {
    // --json is not persisted with the run: this command line decides.
    rc = eng_resume(st, p, run, ctx->json, &err);
    rc = cli_run_report(ctx, dir, run->id, rc, &err);
  }
  dsl_pipeline_free(p);
  smf_arena_free(&a);
  return rc;
}

int cli_cmd_resume(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *id = NULL;
  bool allow_changed = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--allow-changed") == 0) {
      allow_changed = true;
    } else if (argv[i][0] == '-') {
      return cli_usage_error(ctx, "unknown option '%s'", argv[i]);
    } else if (id == NULL) {
      id = argv[i];
    } else {
      return cli_usage_error(ctx, "unexpected argument '%s'", argv[i]);
    }
  }
  char *dir = cli_state_dir(ctx, NULL);
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  char *db = smf_xasprintf("%s/state.db", dir);
  bool exists = access(db, F_OK) == 0;
  free(db);
  if (!exists) {  // nothing to resume: create nothing
    fprintf(stderr, "error: no run to resume: %s holds no smflow state (see --state-dir)\n", dir);
    free(dir);
    return CLI_EXIT_USAGE;
  }
  if (state_open(dir, STATE_OPEN_WRITE, &st, &err) != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    free(dir);
    return CLI_EXIT_ENV;
  }
  struct state_run run;
  int rc = id ? state_run_get(st, id, &run, &err) : state_run_latest_unfinished(st, &run, &err);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    rc = rc == SMF_ENOENT ? CLI_EXIT_USAGE : CLI_EXIT_ENV;
  } else if (strcmp(run.status, "succeeded") == 0 || strcmp(run.status, "cancelled") == 0) {
    fprintf(stderr, "run %s already %s; nothing to resume\n", run.id, run.status);
    rc = strcmp(run.status, "succeeded") == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    state_run_clear(&run);
  } else {
    rc = resume__go(ctx, st, dir, &run, allow_changed);
    state_run_clear(&run);
  }
  state_close(st);
  free(dir);
  return rc;
}
