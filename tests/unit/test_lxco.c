// test_lxco.c: coroutines of `lua` steps (src/lua/async.c) without an event
// loop: the test plays the host — it reads what the coroutine waits for,
// answers or raises, and resumes — and checks the caps per slice and in total.
#include <unistd.h>

#include "lx_test_util.h"

static const char HOOKS[] =
    "local shared = 0\n"
    "function steps_fn(step, args)\n"
    "  shared = shared + 1\n"
    "  smflow.sleep(args.s)\n"
    "  local r = smflow.http.request{url = 'http://127.0.0.1:9/x', method = 'PUT', body = 'b'}\n"
    "  local ok, e = pcall(smflow.aws.call, 'sagemaker', 'DescribeTrainingJob', {TrainingJobName = "
    "'j'})\n"
    "  return {id = step.id, status = r.status, code = e.code, text = tostring(e), shared = "
    "shared}\n"
    "end\n"
    "function raises_string(step)\n"
    "  smflow.sleep(0)\n"
    "  return {}\n"
    "end\n"
    "function spins(step)\n"
    "  while true do for i = 1, 1000 do end smflow.sleep(0) end\n"
    "end\n"
    "function loops(step) while true do end end\n"
    "function raw(step) coroutine.yield(1) end\n"
    "function fails(step) smflow.sleep(0) smflow.fail('nope') end\n"
    "function nothing(step) end\n"
    "function in_hook() smflow.sleep(1) end\n"
    "function reg(step) local m = smflow.registry.latest('churn') return {v = m and m.version} "
    "end\n";

static struct lx *X;
static char *DIR_;

static struct lx *setup(void)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  char tmpl[] = "/tmp/smf-lxco-XXXXXX";
  ASSERT(mkdtemp(tmpl) != NULL);
  DIR_ = smf_xstrdup(tmpl);
  char *path = smf_xasprintf("%s/hooks.lua", DIR_);
  ASSERT_EQ(smf_file_write_atomic(path, HOOKS, strlen(HOOKS), &err), 0);
  ASSERT_EQ(lx_load_hooks(x, path, &err), 0);
  unlink(path);
  rmdir(DIR_);
  free(path);
  free(DIR_);
  return x;
}

TEST(co_sleep_http_aws)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct lx_co *co = NULL;
  const struct dsl_node *args[2] = {map("id", str("s1"), NULL), map("s", fnum(0.25), NULL)};
  ASSERT_EQ(lx_co_new(X, "steps_fn", args, 2, &co, &err), 0);
  struct lx_wait w;
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), LX_CO_YIELDED);
  ASSERT_EQ(w.kind, LX_WAIT_SLEEP);
  ASSERT(w.seconds == 0.25);
  lx_co_answer(co, NULL);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), LX_CO_YIELDED);
  ASSERT_EQ(w.kind, LX_WAIT_HTTP);
  ASSERT_STREQ(get(w.request, "url")->u.str.s, "http://127.0.0.1:9/x");
  ASSERT_STREQ(get(w.request, "method")->u.str.s, "PUT");
  // Another sandbox call between slices (an expression of another step) is fine.
  ASSERT_STREQ(eval_str(X, "params.bucket"), "my-bucket");
  lx_co_answer(co, map("status", inum(204), "body", str(""), NULL));
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), LX_CO_YIELDED);
  ASSERT_EQ(w.kind, LX_WAIT_AWS);
  ASSERT_STREQ(get(w.request, "operation")->u.str.s, "DescribeTrainingJob");
  ASSERT_STREQ(get(get(w.request, "params"), "TrainingJobName")->u.str.s, "j");
  lx_co_raise(co, map("code", str("ValidationException"), "message", str("no such job"), NULL),
              NULL);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), 0);
  struct dsl_node *out = lx_co_result(co);
  ASSERT_STREQ(get(out, "id")->u.str.s, "s1");
  ASSERT_EQ(get(out, "status")->u.i, 204);
  ASSERT_STREQ(get(out, "code")->u.str.s, "ValidationException");
  ASSERT_STREQ(get(out, "text")->u.str.s, "ValidationException: no such job");
  ASSERT_EQ(get(out, "shared")->u.i, 1);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), SMF_EINVAL);  // ended
  lx_co_free(co);
}

TEST(co_raise_message_has_position)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct lx_co *co = NULL;
  ASSERT_EQ(lx_co_new(X, "raises_string", NULL, 0, &co, &err), 0);
  struct lx_wait w;
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), LX_CO_YIELDED);
  lx_co_raise(co, NULL, "smflow.sleep: the loop is closing");
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), SMF_ELUA);
  ASSERT_EQ(err.klass, SMF_CLASS_HOOK);
  ASSERT_CONTAINS(err.message, "hooks.lua:10: smflow.sleep: the loop is closing");
  ASSERT_CONTAINS(err.message, "stack traceback");
  ASSERT_CONTAINS(err.message, "in function 'raises_string'");
  lx_co_free(co);
}

TEST(co_caps)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct lx_co *co = NULL;
  struct lx_wait w;
  // Per slice: an endless loop with no yield.
  ASSERT_EQ(lx_co_new(X, "loops", NULL, 0, &co, &err), 0);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "hooks.lua:16: instruction limit of 5000000 exceeded");
  lx_co_free(co);
  // In total: short slices forever.
  ASSERT_EQ(lx_co_new(X, "spins", NULL, 0, &co, &err), 0);
  lx_co_set_limits(co, 0, 200000);
  int rc = 0, slices = 0;
  while ((rc = lx_co_resume(co, &A, &w, &err)) == LX_CO_YIELDED) {
    lx_co_answer(co, NULL);
    slices++;
  }
  ASSERT_EQ(rc, SMF_ELUA);
  ASSERT(slices > 10);
  ASSERT_CONTAINS(err.message, "hooks.lua:14: total instruction limit of 200000 for the lua step");
  ASSERT(lx_co_instructions(co) <= 200000 + 2000);
  lx_co_free(co);
  // The sandbox is still usable.
  ASSERT_STREQ(eval_str(X, "tostring(params.epochs)"), "10");
}

TEST(co_misuse)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct lx_co *co = NULL;
  struct lx_wait w;
  ASSERT_EQ(lx_co_new(X, "raw", NULL, 0, &co, &err), 0);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "yielded with coroutine.yield");
  lx_co_free(co);
  ASSERT_EQ(lx_co_new(X, "fails", NULL, 0, &co, &err), 0);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), LX_CO_YIELDED);
  lx_co_answer(co, NULL);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), SMF_ELUA);
  ASSERT_STREQ(err.message, "nope");
  lx_co_free(co);
  ASSERT_EQ(lx_co_new(X, "nothing", NULL, 0, &co, &err), 0);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), 0);
  ASSERT(lx_co_result(co) == NULL);
  lx_co_free(co);
  ASSERT_EQ(lx_co_new(X, "undefined_fn", NULL, 0, &co, &err), SMF_ENOENT);
  ASSERT(co == NULL);
  // Outside a step: a hook call and an expression.
  ASSERT_EQ(lx_call(X, "in_hook", NULL, 0, &A, NULL, &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "smflow.sleep is only available inside a lua step");
  ASSERT_CONTAINS(eval_err(X, "smflow.http.request{url = 'http://x/'}"),
                  "smflow.http.request is only available inside a lua step");
  // A suspended coroutine may be dropped.
  ASSERT_EQ(lx_co_new(X, "spins", NULL, 0, &co, &err), 0);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), LX_CO_YIELDED);
  lx_co_free(co);
}

TEST(co_registry)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct lx_co *co = NULL;
  struct lx_wait w;
  ASSERT_EQ(lx_co_new(X, "reg", NULL, 0, &co, &err), 0);
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), LX_CO_YIELDED);
  ASSERT_EQ(w.kind, LX_WAIT_REGISTRY);
  ASSERT_STREQ(get(w.request, "group")->u.str.s, "churn");
  ASSERT_STREQ(get(w.request, "approval")->u.str.s, "Approved");
  lx_co_answer(co, map("version", inum(3), NULL));
  ASSERT_EQ(lx_co_resume(co, &A, &w, &err), 0);
  ASSERT_EQ(get(lx_co_result(co), "v")->u.i, 3);
  lx_co_free(co);
  ASSERT_CONTAINS(eval_err(X, "smflow.registry.latest('churn')"),
                  "smflow.registry.latest is only available inside a lua step");
}

int main(void)
{
  X = setup();
  RUN_TEST(co_sleep_http_aws);
  RUN_TEST(co_raise_message_has_position);
  RUN_TEST(co_caps);
  RUN_TEST(co_misuse);
  RUN_TEST(co_registry);
  lx_free(X);
  smf_arena_free(&A);
  return TEST_REPORT();
}
