// bench_state.c: state-database commits per second, (a) one step result per
// commit (a step finishing alone: transition + event + attempt result), (b) many
// results per commit (steps finishing in the same loop turn), (c) intents, each
// committed on its own before its side effect.
// usage: bench_state [DIR] [N]  (default: a temporary directory, 2000)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/state.h"
#include "smflow/util.h"

static void die(const struct smf_error *err)
{
  fprintf(stderr, "bench_state: %s\n", err->message);
  exit(1);
}

static void one_result(struct state *s, int i, struct smf_error *err)
{
  char id[32];
  snprintf(id, sizeof(id), "s%d", i);
  struct state_step st = {.run_id = (char *)"r",
                          .id = id,
                          .kind = (char *)"run",
                          .state = (char *)"succeeded",
                          .attempts = 1,
                          .outputs_json = (char *)"{\"k\":\"v\"}",
                          .seq = i};
  if (state_step_put(s, &st, err) != 0 ||
      state_event_add(s, "r", id, "state", "{\"to\":\"succeeded\"}", err) != 0 ||
      state_attempt_result(s, "r", id, 1, "succeeded", "{\"status\":\"ok\"}", err) != 0) {
    die(err);
  }
}

static void report(const char *what, int n, uint64_t commits, int64_t ms)
{
  double sec = (double)(ms > 0 ? ms : 1) / 1000.0;
  printf("%-44s %8.0f results/s %8.0f commits/s\n", what, n / sec, (double)commits / sec);
}

int main(int argc, char **argv)
{
  char tmpl[] = "/tmp/smf-bench-state-XXXXXX";
  const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
  int n = argc > 2 ? atoi(argv[2]) : 2000;
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  if (dir == NULL || state_open(dir, STATE_OPEN_WRITE, &s, &err) != 0) {
    die(&err);
  }
  struct state_run r = {.id = (char *)"r",
                        .pipeline_path = (char *)"/p.yaml",
                        .pipeline_sha256 = (char *)"x",
                        .name = (char *)"bench"};
  if (state_run_create(s, &r, &err) != 0 || state_flush(s, &err) != 0) {
    die(&err);
  }
  // (c) intents: one durable commit each.
  uint64_t c0 = state_commit_count(s);
  int64_t t0 = smf_time_now_ms();
  for (int i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof(id), "s%d", i);
    if (state_attempt_intent(s, "r", id, 1, "{\"attempt\":1}", &err) != 0) {
      die(&err);
    }
  }
  report("intents, one commit each", n, state_commit_count(s) - c0, smf_time_now_ms() - t0);
  // (a) results alone.
  c0 = state_commit_count(s);
  t0 = smf_time_now_ms();
  for (int i = 0; i < n; i++) {
    one_result(s, i, &err);
    if (state_flush(s, &err) != 0) {
      die(&err);
    }
  }
  report("step results, one per commit", n, state_commit_count(s) - c0, smf_time_now_ms() - t0);
  // (b) 64 results per loop turn.
  c0 = state_commit_count(s);
  t0 = smf_time_now_ms();
  for (int i = 0; i < n; i++) {
    one_result(s, i, &err);
    if ((i + 1) % 64 == 0 && state_flush(s, &err) != 0) {
      die(&err);
    }
  }
  if (state_flush(s, &err) != 0) {
    die(&err);
  }
  report("step results, 64 finishing together", n, state_commit_count(s) - c0,
         smf_time_now_ms() - t0);
  state_close(s);
  if (argc <= 1) {
    char *cmd = smf_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0) {
      fprintf(stderr, "bench_state: could not remove %s\n", dir);
    }
    free(cmd);
  }
  return 0;
}
