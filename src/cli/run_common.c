// run_common.c: reporting a run's end, and what run, resume, status and runs share.
#include "cli/run_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "smflow/engine.h"
#include "smflow/state.h"

static void cli__resume_hint(const struct cli_ctx *ctx, const char *state_dir, const char *run_id)
{
  (void)ctx;
  fprintf(stderr, "resume with: smflow resume %s --state-dir %s\n", run_id, state_dir);
}

// Whether the run is unfinished in state.db (it is, unless its end was
// recorded and only a later sync failed). Unknown counts as unfinished.
static bool cli__run_unfinished(const char *state_dir, const char *run_id)
{
  struct state *st = NULL;
  struct state_run r;
  struct smf_error err = SMF_ERROR_INIT;
  if (state_open(state_dir, STATE_OPEN_READ, &st, &err) != 0) {
    return true;
  }
  bool unfinished = true;
  if (state_run_get(st, run_id, &r, &err) == 0) {
    unfinished = r.status == NULL ||
                 (strcmp(r.status, "succeeded") != 0 && strcmp(r.status, "failed") != 0);
    state_run_clear(&r);
  }
  state_close(st);
  return unfinished;
}

int cli_run_report(const struct cli_ctx *ctx, const char *state_dir, const char *run_id,
                   int outcome, const struct smf_error *err)
{
  int code;
  const char *status;
  switch (outcome) {
  case ENG_SUCCEEDED:
    code = CLI_EXIT_OK;
    status = "succeeded";
    if (!ctx->quiet) {
      fprintf(stderr, "run %s succeeded\n", run_id);
    }
    break;
  case ENG_FAILED:
    code = CLI_EXIT_FAILED;
    status = "failed";
    fprintf(stderr, "run %s failed; see: smflow status %s --state-dir %s\n", run_id, run_id,
            state_dir);
    break;
  case ENG_INTERRUPTED:
    code = CLI_EXIT_INTERRUPTED;
    status = "interrupted";
    fprintf(stderr, "run %s interrupted\n", run_id);
    cli__resume_hint(ctx, state_dir, run_id);
    fprintf(stderr, "or stop its jobs left running with: smflow cancel %s --state-dir %s\n", run_id,
            state_dir);
    break;
  case SMF_EVALIDATE:
    code = CLI_EXIT_USAGE;
    status = "failed";
    fprintf(stderr, "error: %s\n", err->message);
    break;
  default:
    code = CLI_EXIT_ENV;
    status = "interrupted";
    fprintf(stderr, "error: %s\n", err->message);
    if (run_id[0] && cli__run_unfinished(state_dir, run_id)) {
      fprintf(stderr, "run %s stopped\n", run_id);
      cli__resume_hint(ctx, state_dir, run_id);
    }
    break;
  }
  if (ctx->json && run_id[0]) {
    printf("{\"event\":\"run\",\"run_id\":\"%s\",\"status\":\"%s\",\"exit_code\":%d}\n", run_id,
           status, code);
    fflush(stdout);
  }
  return code;
}

const char *cli_time_format(int64_t ms, char *buf, size_t n)
{
  if (ms <= 0) {
    snprintf(buf, n, "-");
    return buf;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void cli_run_stats(const struct state *st)
{
  if (getenv("SMFLOW_STATS") == NULL) {
    return;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long cpu_ms = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
                     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
  fprintf(stderr, "stats: self_cpu_ms=%lld max_rss_kb=%ld commits=%llu syncs=%llu\n", cpu_ms,
          ru.ru_maxrss, (unsigned long long)state_commit_count(st),
          (unsigned long long)state_sync_count(st));
}
