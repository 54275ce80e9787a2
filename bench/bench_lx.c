// bench_lx.c: what the Lua sandbox costs. Prints CPU time per operation for
// interpolation, `when:` conditions, hook calls and sandbox creation, and the
// count hook's overhead on a tight loop against a bare lua_State.
//
// Usage: bench_lx [iterations]   (default 200000)
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smflow/lx.h"

static double cpu_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct dsl_node *str_node(struct smf_arena *a, const char *s)
{
  struct dsl_node *n = smf_arena_alloc(a, sizeof(*n));
  n->type = DSL_STR;
  n->u.str.s = s;
  n->u.str.len = strlen(s);
  n->mark.line = 1;
  n->mark.col = 1;
  return n;
}

static void die(const char *what, const struct smf_error *err)
{
  fprintf(stderr, "bench_lx: %s: %s\n", what, err->message);
  exit(1);
}

static const char LOOP[] = "local s = 0 for i = 1, 2e7 do s = s + i % 7 end return s";

// The same loop in a bare state (no hook, no cap): the baseline.
static double bare_loop(void)
{
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  double t0 = cpu_now();
  if (luaL_dostring(L, LOOP) != LUA_OK) {
    fprintf(stderr, "bench_lx: %s\n", lua_tostring(L, -1));
    exit(1);
  }
  double t = cpu_now() - t0;
  lua_close(L);
  return t;
}

static double sandbox_loop(struct lx *x, struct smf_arena *a)
{
  struct smf_error err = SMF_ERROR_INIT;
  char *expr = smf_xasprintf("${ (function() %s end)() }", LOOP);
  struct dsl_node *out = NULL;
  double t0 = cpu_now();
  if (lx_interpolate(x, str_node(a, expr), "bench", a, &out, &err) != 0) {
    die("loop", &err);
  }
  double t = cpu_now() - t0;
  free(expr);
  return t;
}

static void bench_calls(struct lx *x, struct smf_arena *a, int n)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *tmpl = str_node(a, "s3://${params.bucket}/models/${run.timestamp}/model.tar.gz");
  struct dsl_node *out = NULL;
  double t0 = cpu_now();
  for (int i = 0; i < n; i++) {
    struct smf_arena tmp = SMF_ARENA_INIT;
    if (lx_interpolate(x, tmpl, "bench", &tmp, &out, &err) != 0) {
      die("interpolate", &err);
    }
    smf_arena_free(&tmp);
  }
  double t = cpu_now() - t0;
  printf("interpolate, 2 expressions spliced : %8.2f us/op  (%.0f op/s)\n", t / n * 1e6, n / t);

  struct dsl_node *cond = str_node(a, "params.min_accuracy <= 0.95 and run.id ~= nil");
  bool b = false;
  t0 = cpu_now();
  for (int i = 0; i < n; i++) {
    if (lx_eval_bool(x, cond, "bench", &b, &err) != 0) {
      die("eval_bool", &err);
    }
  }
  t = cpu_now() - t0;
  printf("when: condition                     : %8.2f us/op\n", t / n * 1e6);

  t0 = cpu_now();
  for (int i = 0; i < n; i++) {
    struct smf_arena tmp = SMF_ARENA_INIT;
    struct dsl_node *ret = NULL;
    const struct dsl_node *arg = tmpl;
    if (lx_call(x, "before", &arg, 1, &tmp, &ret, &err) != 0) {
      die("lx_call", &err);
    }
    smf_arena_free(&tmp);
  }
  t = cpu_now() - t0;
  printf("hook call returning a small table   : %8.2f us/op\n", t / n * 1e6);
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 200000;
  struct smf_error err = SMF_ERROR_INIT;
  struct smf_arena a = SMF_ARENA_INIT;
  struct lx_config cfg = {.instr_limit = 1000000000};
  struct lx *x = lx_new(&cfg, &err);
  if (x == NULL) {
    die("lx_new", &err);
  }
  char path[] = "/tmp/bench-lx-XXXXXX";
  int fd = mkstemp(path);
  const char hooks[] = "function before(step) return {hp = {epochs = 2}, n = #step} end\n";
  if (fd < 0 || write(fd, hooks, sizeof(hooks) - 1) != (ssize_t)(sizeof(hooks) - 1)) {
    perror("bench_lx: hooks file");
    return 1;
  }
  close(fd);
  if (lx_load_hooks(x, path, &err) != 0) {
    die("hooks", &err);
  }
  unlink(path);
  const char *params_src = "${ {bucket = 'my-bucket', min_accuracy = 0.9} }";
  struct dsl_node *params = NULL;
  if (lx_interpolate(x, str_node(&a, params_src), "bench", &a, &params, &err) != 0 ||
      lx_set_global(x, "params", params, &err) != 0 ||
      lx_interpolate(x, str_node(&a, "${ {id = 'r-1', timestamp = '20260101-000000'} }"), "bench",
                     &a, &params, &err) != 0 ||
      lx_set_global(x, "run", params, &err) != 0) {
    die("globals", &err);
  }
  bench_calls(x, &a, n);

  double t0 = cpu_now();
  for (int i = 0; i < 1000; i++) {
    struct lx *y = lx_new(NULL, &err);
    lx_free(y);
  }
  printf("lx_new + lx_free                    : %8.2f us/op  (%zu bytes of Lua state)\n",
         (cpu_now() - t0) / 1000 * 1e6, lx_mem_used(x));

  double bare = bare_loop(), capped = sandbox_loop(x, &a);
  printf("2e7-iteration loop, bare lua_State  : %8.3f s\n", bare);
  printf("same loop in the sandbox (capped)   : %8.3f s  (%+.1f%%)\n", capped,
         (capped / bare - 1) * 100);
  lx_free(x);
  smf_arena_free(&a);
  return 0;
}
