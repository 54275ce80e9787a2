// test_engine.c: the scheduler without processes. A fake step kind stands in
// for `run`: its command string says what to do ("ok", "fail", "fail2" = fail
// the first two attempts, "hang"), completing on a uv_timer. Checked: order,
// the concurrency limit, retries, failure and skip propagation, timeouts,
// batching of commits, and resume of an attempt left without a result.
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "smflow/engine.h"
#include "smflow/log.h"
#include "smflow/state.h"
#include "smflow/step.h"
#include "smflow/util.h"
#include "test.h"

struct fake {
  uv_timer_t timer;
  struct step_ctx *ctx;
  int status;
};

static int g_in_flight, g_max_in_flight, g_started, g_resumed;
static char g_order[512];
static char g_resume_intent[256];

static void fake_reset(void)
{
  g_in_flight = g_max_in_flight = g_started = g_resumed = 0;
  g_order[0] = '\0';
  g_resume_intent[0] = '\0';
}

static char *fake_intent(struct step_ctx *ctx)
{
  return smf_xasprintf("{\"attempt\":%d}", ctx->attempt);
}

static void fake_timer_cb(uv_timer_t *t)
{
  struct fake *f = t->data;
  g_in_flight--;
  struct smf_error err = SMF_ERROR_INIT;
  if (f->status == 0) {
    struct dsl_node *out = dsl_node_new(f->ctx->arena, DSL_MAP);
    dsl_map_set(f->ctx->arena, out, "attempt", dsl_node_int(f->ctx->arena, f->ctx->attempt));
    step_ctx_done(f->ctx, 0, NULL, out);
    return;
  }
  SMF_ERR_SET(&err, f->status, "fake failure");
  err.klass = f->status == SMF_ECHILD ? SMF_CLASS_ALGORITHM : SMF_CLASS_NONE;
  step_ctx_done(f->ctx, f->status, &err, NULL);
}

static struct fake *fake_new(struct step_ctx *ctx)
{
  struct fake *f = smf_xcalloc(1, sizeof(*f));
  f->ctx = ctx;
  uv_timer_init(ctx->loop, &f->timer);
  f->timer.data = f;
  ctx->kind_data = f;
  return f;
}

static int fake_start(struct step_ctx *ctx, struct smf_error *err)
{
  (void)err;
  const char *cmd = ctx->spec->u.str.s;
  struct fake *f = fake_new(ctx);
  g_started++;
  if (++g_in_flight > g_max_in_flight) {
    g_max_in_flight = g_in_flight;
  }
  strncat(g_order, ctx->step_id, sizeof(g_order) - strlen(g_order) - 2);
  strcat(g_order, " ");
  bool fail = strcmp(cmd, "fail") == 0 || (strcmp(cmd, "fail2") == 0 && ctx->attempt <= 2);
  f->status = fail ? SMF_ECHILD : 0;
  if (strcmp(cmd, "hang") != 0) {
    uv_timer_start(&f->timer, fake_timer_cb, 5, 0);
  }
  return 0;
}

static int fake_resume(struct step_ctx *ctx, const char *intent, struct smf_error *err)
{
  (void)err;
  g_resumed++;
  snprintf(g_resume_intent, sizeof(g_resume_intent), "%s", intent);
  struct fake *f = fake_new(ctx);
  g_in_flight++;
  f->status = SMF_ENOENT;  // the work is gone: the engine starts a new attempt
  uv_timer_start(&f->timer, fake_timer_cb, 1, 0);
  return 0;
}

static void fake_cancel(struct step_ctx *ctx, int reason, bool kill_now)
{
  (void)kill_now;
  struct fake *f = ctx->kind_data;
  f->status = reason;
  uv_timer_start(&f->timer, fake_timer_cb, 0, 0);
}

static void fake_close_cb(uv_handle_t *h)
{
  free(h->data);
}

static void fake_free(struct step_ctx *ctx)
{
  struct fake *f = ctx->kind_data;
  uv_close((uv_handle_t *)&f->timer, fake_close_cb);
}

static const struct step_kind fake_kind = {
    .name = "run",
    .kind = DSL_KIND_RUN,
    .intent = fake_intent,
    .start = fake_start,
    .resume = fake_resume,
    .cancel = fake_cancel,
    .free = fake_free,
};

// ---- helpers ----

static char g_dir[64];

static struct state *open_state(void)
{
  strcpy(g_dir, "/tmp/smf-test-engine-XXXXXX");
  ASSERT(mkdtemp(g_dir) != NULL);
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  ASSERT_EQ(state_open(g_dir, STATE_OPEN_WRITE, &st, &err), 0);
  return st;
}

static void close_state(struct state *st)
{
  state_close(st);
  char *cmd = smf_xasprintf("rm -rf '%s'", g_dir);
  ASSERT(system(cmd) == 0);
  free(cmd);
}

static struct dsl_pipeline *load(const char *yaml)
{
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  char *path = smf_xasprintf("%s/p.yaml", g_dir);
  int rc = dsl_load_buffer(path, yaml, strlen(yaml), NULL, 0, &p, &d);
  if (rc != 0) {
    dsl_diags_print(&d, stderr);
  }
  ASSERT_EQ(rc, 0);
  dsl_diags_free(&d);
  free(path);
  return p;
}

static char *step_state(struct state *st, const char *run_id, const char *id, int *attempts)
{
  struct state_step *steps = NULL;
  size_t n = 0;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(state_steps_list(st, run_id, &steps, &n, &err), 0);
  char *out = NULL;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(steps[i].id, id) == 0) {
      out = smf_xstrdup(steps[i].state);
      if (attempts) {
        *attempts = steps[i].attempts;
      }
    }
  }
  state_steps_free(steps, n);
  ASSERT(out != NULL);
  return out;
}

#define ASSERT_STATE(st, run, id, want)            \
  do {                                             \
    char *test__s = step_state(st, run, id, NULL); \
    ASSERT_STREQ(test__s, want);                   \
    free(test__s);                                 \
  } while (0)

// ---- tests ----

TEST(order_and_concurrency_limit)
{
  fake_reset();
  struct state *st = open_state();
  struct dsl_pipeline *p = load(
      "smflow: 1\nname: t\nconcurrency: 3\nsteps:\n"
      "  top: {run: ok}\n"
      "  w1: {needs: [top], run: ok}\n  w2: {needs: [top], run: ok}\n"
      "  w3: {needs: [top], run: ok}\n  w4: {needs: [top], run: ok}\n"
      "  w5: {needs: [top], run: ok}\n"
      "  bottom: {needs: [w1, w2, w3, w4, w5], run: ok}\n");
  struct eng_options opt = {0};
  struct smf_error err = SMF_ERROR_INIT;
  char id[32];
  ASSERT_EQ(eng_run(st, p, &opt, id, &err), ENG_SUCCEEDED);
  ASSERT_EQ(g_started, 7);
  ASSERT_EQ(g_max_in_flight, 3);
  ASSERT(strncmp(g_order, "top ", 4) == 0);
  ASSERT(strcmp(g_order + strlen(g_order) - 7, "bottom ") == 0);
  ASSERT_STATE(st, id, "bottom", "succeeded");
  // --max-parallel wins over the pipeline's concurrency.
  fake_reset();
  opt.max_parallel = 5;
  ASSERT_EQ(eng_run(st, p, &opt, id, &err), ENG_SUCCEEDED);
  ASSERT_EQ(g_max_in_flight, 5);
  dsl_pipeline_free(p);
  close_state(st);
}

TEST(retries_and_failure_policy)
{
  fake_reset();
  struct state *st = open_state();
  struct dsl_pipeline *p = load(
      "smflow: 1\nname: t\nsteps:\n"
      "  flaky: {run: fail2, retry: {max_attempts: 3, backoff: 1ms}}\n"
      "  bad: {run: fail, retry: {max_attempts: 2, backoff: 1ms}}\n"
      "  child: {needs: [bad], run: ok}\n"
      "  grandchild: {needs: [child, flaky], run: ok}\n"
      "  other: {needs: [flaky], run: ok}\n"
      "  picky: {run: fail, retry: {max_attempts: 3, on: [Timeout]}}\n");
  struct eng_options opt = {0};
  struct smf_error err = SMF_ERROR_INIT;
  char id[32];
  ASSERT_EQ(eng_run(st, p, &opt, id, &err), ENG_FAILED);
  int attempts = 0;
  char *s = step_state(st, id, "flaky", &attempts);
  ASSERT_STREQ(s, "succeeded");
  ASSERT_EQ(attempts, 3);
  free(s);
  s = step_state(st, id, "bad", &attempts);
  ASSERT_STREQ(s, "failed");
  ASSERT_EQ(attempts, 2);
  free(s);
  s = step_state(st, id, "picky", &attempts);
  ASSERT_EQ(attempts, 1);  // AlgorithmError is not in retry.on
  free(s);
  ASSERT_STATE(st, id, "child", "cancelled");
  ASSERT_STATE(st, id, "grandchild", "cancelled");
  ASSERT_STATE(st, id, "other", "succeeded");
  ASSERT(strstr(g_order, "child") == NULL);
  struct state_attempt *att = NULL;
  size_t n = 0;
  ASSERT_EQ(state_attempts_list(st, id, "flaky", &att, &n, &err), 0);
  ASSERT_EQ(n, 3);
  ASSERT_STREQ(att[0].result, "failed");
  ASSERT_STREQ(att[2].result, "succeeded");
  ASSERT_STREQ(att[2].intent_json, "{\"attempt\":3}");
  state_attempts_free(att, n);
  dsl_pipeline_free(p);
  close_state(st);
}

TEST(when_skips_propagate_and_outputs_flow)
{
  fake_reset();
  struct state *st = open_state();
  struct dsl_pipeline *p = load(
      "smflow: 1\nname: t\nsteps:\n"
      "  a: {run: ok}\n"
      "  gated: {needs: [a], when: steps.a.attempt > 1, run: ok}\n"
      "  below: {needs: [gated], run: ok}\n"
      "  open: {needs: [a], when: steps.a.attempt == 1, run: ok}\n");
  struct eng_options opt = {0};
  struct smf_error err = SMF_ERROR_INIT;
  char id[32];
  ASSERT_EQ(eng_run(st, p, &opt, id, &err), ENG_SUCCEEDED);
  ASSERT_STATE(st, id, "gated", "skipped");
  ASSERT_STATE(st, id, "below", "skipped");
  ASSERT_STATE(st, id, "open", "succeeded");
  ASSERT_EQ(g_started, 2);
  dsl_pipeline_free(p);
  close_state(st);
}

TEST(timeout_cancels_the_attempt)
{
  fake_reset();
  struct state *st = open_state();
  struct dsl_pipeline *p = load(
      "smflow: 1\nname: t\nsteps:\n"
      "  stuck: {run: hang, timeout: 20ms}\n");
  struct eng_options opt = {0};
  struct smf_error err = SMF_ERROR_INIT;
  char id[32];
  ASSERT_EQ(eng_run(st, p, &opt, id, &err), ENG_FAILED);
  struct state_step *steps = NULL;
  size_t n = 0;
  ASSERT_EQ(state_steps_list(st, id, &steps, &n, &err), 0);
  ASSERT_STREQ(steps[0].error_class, "Timeout");
  ASSERT_CONTAINS(steps[0].error_message, "timed out");
  state_steps_free(steps, n);
  dsl_pipeline_free(p);
  close_state(st);
}

TEST(many_results_share_commits)
{
  fake_reset();
  struct state *st = open_state();
  struct smf_buf y = SMF_BUF_INIT;
  smf_buf_puts(&y, "smflow: 1\nname: t\nconcurrency: 64\nsteps:\n");
  for (int i = 0; i < 64; i++) {
    smf_buf_printf(&y, "  s%d: {run: ok}\n", i);
  }
  struct dsl_pipeline *p = load(smf_buf_cstr(&y));
  smf_buf_free(&y);
  struct eng_options opt = {0};
  struct smf_error err = SMF_ERROR_INIT;
  char id[32];
  uint64_t c0 = state_commit_count(st);
  ASSERT_EQ(eng_run(st, p, &opt, id, &err), ENG_SUCCEEDED);
  ASSERT_EQ(g_max_in_flight, 64);
  // 64 intents, 64 results and ~200 transitions: a handful of commits, not hundreds.
  uint64_t commits = state_commit_count(st) - c0;
  ASSERT(commits < 16);
  dsl_pipeline_free(p);
  close_state(st);
}

TEST(resume_reconciles_an_attempt_without_result)
{
  fake_reset();
  struct state *st = open_state();
  struct dsl_pipeline *p = load(
      "smflow: 1\nname: t\nsteps:\n"
      "  a: {run: ok}\n  b: {needs: [a], run: ok}\n");
  struct eng_options opt = {0};
  struct smf_error err = SMF_ERROR_INIT;
  char id[32];
  ASSERT_EQ(eng_run(st, p, &opt, id, &err), ENG_SUCCEEDED);
  // Make it look as if smflow died while b's attempt 1 ran.
  struct state_step row = {.run_id = id,
                           .id = (char *)"b",
                           .kind = (char *)"run",
                           .state = (char *)"running",
                           .attempts = 1,
                           .seq = 1};
  ASSERT_EQ(state_step_put(st, &row, &err), 0);
  ASSERT_EQ(state_attempt_intent(st, id, "b", 1, "{\"attempt\":1,\"x\":1}", &err), 0);
  ASSERT_EQ(state_run_set_status(st, id, "interrupted", 3, &err), 0);
  ASSERT_EQ(state_flush(st, &err), 0);
  struct state_run run;
  ASSERT_EQ(state_run_get(st, id, &run, &err), 0);
  fake_reset();
  ASSERT_EQ(eng_resume(st, p, &run, false, &err), ENG_SUCCEEDED);
  state_run_clear(&run);
  ASSERT_EQ(g_resumed, 1);
  ASSERT_STREQ(g_resume_intent, "{\"attempt\":1,\"x\":1}");
  ASSERT_STREQ(g_order, "b ");  // a is not run again; b gets a new attempt
  int attempts = 0;
  char *s = step_state(st, id, "b", &attempts);
  ASSERT_STREQ(s, "succeeded");
  ASSERT_EQ(attempts, 2);
  free(s);
  struct state_attempt *att = NULL;
  size_t n = 0;
  ASSERT_EQ(state_attempts_list(st, id, "b", &att, &n, &err), 0);
  ASSERT_EQ(n, 2);
  ASSERT_STREQ(att[0].result, "lost");
  state_attempts_free(att, n);
  dsl_pipeline_free(p);
  close_state(st);
}

TEST(options_roundtrip)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct eng_options o;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(eng_options_from_json("{\"only\":[\"x\",\"y\"],\"from\":\"z\",\"max_parallel\":4,"
                                  "\"params\":[[\"n\",\"5\"]]}",
                                  &a, &o, &err),
            0);
  ASSERT_EQ(o.n_only, 2);
  ASSERT_STREQ(o.only[1], "y");
  ASSERT_STREQ(o.from, "z");
  ASSERT_EQ(o.max_parallel, 4);
  ASSERT_EQ(o.n_params, 1);
  ASSERT_STREQ(o.params[0].value, "5");
  ASSERT_EQ(eng_options_from_json("[", &a, &o, &err), SMF_ESTATE);
  smf_arena_free(&a);
  char id[32];
  eng_run_id_new(id);
  ASSERT_EQ(strlen(id), 20);
  ASSERT_EQ(id[8], '-');
  ASSERT_EQ(id[15], '-');
}

int main(void)
{
  smf_log_set_level(SMF_LOG_ERROR);
  step_kind_override(DSL_KIND_RUN, &fake_kind);
  RUN_TEST(order_and_concurrency_limit);
  RUN_TEST(retries_and_failure_policy);
  RUN_TEST(when_skips_propagate_and_outputs_flow);
  RUN_TEST(timeout_cancels_the_attempt);
  RUN_TEST(many_results_share_commits);
  RUN_TEST(resume_reconciles_an_attempt_without_result);
  RUN_TEST(options_roundtrip);
  return TEST_REPORT();
}
