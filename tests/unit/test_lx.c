// test_lx.c: the Lua sandbox: interpolation, conditions, conversions, the caps,
// escape attempts, the smflow library, its Lua helpers and hook calls.
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/lx.h"
#include "test.h"

static struct smf_arena A;

// ---- tree builders (the test builds trees by hand, as the YAML loader would) ----

static struct dsl_node *node(enum dsl_type t)
{
  struct dsl_node *n = smf_arena_alloc(&A, sizeof(*n));
  n->type = t;
  return n;
}

static struct dsl_node *str_at(const char *s, unsigned line, unsigned col, bool quoted)
{
  struct dsl_node *n = node(DSL_STR);
  n->u.str.s = smf_arena_strdup(&A, s);
  n->u.str.len = strlen(s);
  n->text = n->u.str.s;
  n->mark.line = line;
  n->mark.col = col;
  n->quoted = quoted;
  n->has_expr = strstr(s, "${") != NULL;
  return n;
}

static struct dsl_node *str(const char *s)
{
  return str_at(s, 1, 1, false);
}

static struct dsl_node *inum(int64_t v)
{
  struct dsl_node *n = node(DSL_INT);
  n->u.i = v;
  return n;
}

static struct dsl_node *fnum(double v)
{
  struct dsl_node *n = node(DSL_FLOAT);
  n->u.f = v;
  return n;
}

static struct dsl_node *boolean(bool v)
{
  struct dsl_node *n = node(DSL_BOOL);
  n->u.b = v;
  return n;
}

// map("k1", v1, "k2", v2, ..., NULL)
static struct dsl_node *map(const char *k, ...)
{
  struct dsl_node *n = node(DSL_MAP);
  n->u.map.pairs = smf_arena_alloc(&A, 32 * sizeof(struct dsl_pair));
  va_list ap;
  va_start(ap, k);
  for (; k != NULL; k = va_arg(ap, const char *)) {
    n->u.map.pairs[n->u.map.n].key = k;
    n->u.map.pairs[n->u.map.n++].value = va_arg(ap, struct dsl_node *);
  }
  va_end(ap);
  return n;
}

// seq(n, item1, ..., itemN)
static struct dsl_node *seq(size_t count, ...)
{
  struct dsl_node *n = node(DSL_SEQ);
  n->u.seq.items = smf_arena_alloc(&A, (count + 1) * sizeof(struct dsl_node *));
  va_list ap;
  va_start(ap, count);
  for (size_t i = 0; i < count; i++) {
    n->u.seq.items[n->u.seq.n++] = va_arg(ap, struct dsl_node *);
  }
  va_end(ap);
  return n;
}

static const struct dsl_node *get(const struct dsl_node *m, const char *key)
{
  ASSERT(m != NULL && m->type == DSL_MAP);
  for (size_t i = 0; i < m->u.map.n; i++) {
    if (strcmp(m->u.map.pairs[i].key, key) == 0) {
      return m->u.map.pairs[i].value;
    }
  }
  return NULL;
}

static char *lua_dir(void)
{
  const char *src = getenv("SMF_SOURCE_DIR");
  return smf_xasprintf("%s/lua", src != NULL ? src : ".");
}

static struct lx *sandbox(void)
{
  struct smf_error err = SMF_ERROR_INIT;
  char *dir = lua_dir();
  struct lx_config cfg = {.mem_limit = 16u << 20, .instr_limit = 5000000, .lua_path = dir};
  struct lx *x = lx_new(&cfg, &err);
  free(dir);
  if (x == NULL) {
    fprintf(stderr, "lx_new: %s\n", err.message);
  }
  ASSERT(x != NULL);
  ASSERT_EQ(lx_set_global(x, "params",
                          map("epochs", inum(10), "lr", fnum(0.5), "bucket", str("my-bucket"),
                              "min_accuracy", fnum(0.9), "flag", boolean(true), NULL),
                          &err),
            0);
  ASSERT_EQ(lx_set_global(x, "run", map("id", str("r-1"), "timestamp", str("20260101-000000"),
                                        NULL),
                          &err),
            0);
  return x;
}

// Interpolate one scalar; returns the result node (in A) or NULL with *err set.
static struct dsl_node *interp(struct lx *x, struct dsl_node *in, struct smf_error *err)
{
  struct dsl_node *out = NULL;
  smf_error_clear(err);
  int rc = lx_interpolate(x, in, "p.yaml", &A, &out, err);
  if (rc != 0) {
    ASSERT(out == NULL);
    ASSERT(err->code != 0);
    return NULL;
  }
  ASSERT(out != NULL);
  return out;
}

// Evaluate a bare expression as the whole value of a scalar.
static struct dsl_node *eval(struct lx *x, const char *expr, struct smf_error *err)
{
  char *s = smf_arena_printf(&A, "${%s}", expr);
  return interp(x, str(s), err);
}

static const char *eval_str(struct lx *x, const char *expr)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *n = eval(x, expr, &err);
  if (n == NULL) {
    fprintf(stderr, "eval %s: %s\n", expr, err.message);
  }
  ASSERT(n != NULL);
  ASSERT_EQ(n->type, DSL_STR);
  return n->u.str.s;
}

static const char *eval_err(struct lx *x, const char *expr)
{
  static struct smf_error err;
  struct dsl_node *n = eval(x, expr, &err);
  ASSERT(n == NULL);
  return err.message;
}

// ---------------------------------------------------------------------------

TEST(interpolate_keeps_types)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *n = interp(x, str("${params.epochs}"), &err);
  ASSERT_EQ(n->type, DSL_INT);
  ASSERT_EQ(n->u.i, 10);
  n = interp(x, str("${ params.epochs * 2 }"), &err);
  ASSERT_EQ(n->type, DSL_INT);
  ASSERT_EQ(n->u.i, 20);
  n = interp(x, str("${params.lr * 2}"), &err);
  ASSERT_EQ(n->type, DSL_FLOAT);
  ASSERT(n->u.f == 1.0);
  n = interp(x, str("${params.epochs / 2}"), &err);  // Lua's / always gives a float
  ASSERT_EQ(n->type, DSL_FLOAT);
  n = interp(x, str("${params.flag and not false}"), &err);
  ASSERT_EQ(n->type, DSL_BOOL);
  ASSERT(n->u.b);
  n = interp(x, str("${nil}"), &err);
  ASSERT_EQ(n->type, DSL_NULL);
  n = interp(x, str("${ {a = 1, b = {2, 3}} }"), &err);
  ASSERT_EQ(n->type, DSL_MAP);
  ASSERT_EQ(get(n, "a")->u.i, 1);
  ASSERT_EQ(get(n, "b")->type, DSL_SEQ);
  ASSERT_EQ(get(n, "b")->u.seq.n, 2);
  ASSERT_EQ(get(n, "b")->u.seq.items[1]->u.i, 3);
  n = interp(x, str("${params.bucket}"), &err);
  ASSERT_EQ(n->type, DSL_STR);
  ASSERT_STREQ(n->u.str.s, "my-bucket");
  lx_free(x);
}

TEST(interpolate_splices)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *n = interp(x, str("s3://${params.bucket}/models/${run.timestamp}/"), &err);
  ASSERT_STREQ(n->u.str.s, "s3://my-bucket/models/20260101-000000/");
  ASSERT_EQ(n->u.str.len, strlen(n->u.str.s));
  n = interp(x, str("e=${params.epochs} lr=${params.lr} x=${1e15} f=${params.flag} i=${2^53}"),
             &err);
  ASSERT_STREQ(n->u.str.s, "e=10 lr=0.5 x=1e+15 f=true i=9.007199254741e+15");
  n = interp(x, str(" ${params.epochs}"), &err);  // not exactly one: spliced
  ASSERT_EQ(n->type, DSL_STR);
  ASSERT_STREQ(n->u.str.s, " 10");
  n = interp(x, str("no expressions, $ alone, $5 and {braces}"), &err);
  ASSERT_STREQ(n->u.str.s, "no expressions, $ alone, $5 and {braces}");
  lx_free(x);
}

TEST(interpolate_nested_braces_and_strings)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_STREQ(eval_str(x, " ({a='}'})['a'] "), "}");
  ASSERT_STREQ(eval_str(x, " ({['}'] = 'x'})[\"}\"] "), "x");
  ASSERT_STREQ(eval_str(x, " '${' .. \"}\" "), "${}");
  ASSERT_STREQ(eval_str(x, " [[a}b]] .. [==[c]]}]==] "), "a}bc]]}");
  ASSERT_STREQ(eval_str(x, " 'q\\'}' "), "q'}");
  ASSERT_STREQ(eval_str(x, " 'a' --[[ } ]] .. 'b' "), "ab");
  struct dsl_node *n = interp(x, str("<${ #{1, 2, {3}} }>"), &err);
  ASSERT_STREQ(n->u.str.s, "<3>");
  n = interp(x, str("${ 'x' -- trailing comment\n}"), &err);
  ASSERT_STREQ(n->u.str.s, "x");
  lx_free(x);
}

TEST(interpolate_escapes)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *n = interp(x, str("$${params.epochs} is ${params.epochs}"), &err);
  ASSERT_STREQ(n->u.str.s, "${params.epochs} is 10");
  n = interp(x, str("$${not lua at all"), &err);
  ASSERT_STREQ(n->u.str.s, "${not lua at all");
  n = interp(x, str("cost: $$5"), &err);
  ASSERT_STREQ(n->u.str.s, "cost: $$5");
  lx_free(x);
}

TEST(interpolate_walks_trees)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *in = map("hp", map("epochs", str("${params.epochs + 1}"), "keep", inum(7), NULL),
                            "list", seq(3, str("${1}"), str("a${'b'}c"), boolean(false)), NULL);
  struct dsl_node *n = interp(x, in, &err);
  ASSERT_EQ(get(get(n, "hp"), "epochs")->u.i, 11);
  ASSERT_EQ(get(get(n, "hp"), "keep")->u.i, 7);
  const struct dsl_node *l = get(n, "list");
  ASSERT_EQ(l->u.seq.n, 3);
  ASSERT_EQ(l->u.seq.items[0]->type, DSL_INT);
  ASSERT_STREQ(l->u.seq.items[1]->u.str.s, "abc");
  ASSERT_EQ(l->u.seq.items[2]->type, DSL_BOOL);
  // The input is untouched.
  ASSERT_STREQ(get(get(in, "hp"), "epochs")->u.str.s, "${params.epochs + 1}");
  lx_free(x);
}

TEST(interpolate_errors_have_positions)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  // Plain scalar starting at 3:9: the second `${` is at byte 22 -> column 31.
  ASSERT(interp(x, str_at("s3://${params.bucket}/${params.nope.x}", 3, 9, false), &err) == NULL);
  ASSERT_CONTAINS(err.message, "p.yaml:3:31: in ${params.nope.x}: ");
  ASSERT_CONTAINS(err.message, "attempt to index a nil value (field 'nope')");
  ASSERT(strstr(err.message, "expression:") == NULL);
  ASSERT_STREQ(err.path, "p.yaml");
  ASSERT_EQ(err.line, 3);
  ASSERT_EQ(err.col, 31);
  // Quoted: one more for the quote.
  ASSERT(interp(x, str_at("${ 1 + }", 5, 12, true), &err) == NULL);
  ASSERT_CONTAINS(err.message, "p.yaml:5:13: in ${ 1 + }: unexpected symbol");
  // Multi-line: the scalar's mark.
  ASSERT(interp(x, str_at("line one\nand ${ error('boom', 0) }\n", 7, 5, true), &err) == NULL);
  ASSERT_CONTAINS(err.message, "p.yaml:7:5: in ${ error('boom', 0) }: boom");
  // Unterminated.
  ASSERT(interp(x, str_at("ab ${ {x=1} ", 2, 3, false), &err) == NULL);
  ASSERT_CONTAINS(err.message, "p.yaml:2:6: ");
  ASSERT_CONTAINS(err.message, "no closing '}'");
  // Empty, splicing a table, splicing nil, a function value.
  ASSERT_CONTAINS(eval_err(x, " "), "empty expression");
  ASSERT(interp(x, str("a ${ {1} } b"), &err) == NULL);
  ASSERT_CONTAINS(err.message, "in ${ {1} }: a table cannot be put into a string");
  ASSERT(interp(x, str("a ${ params.nope } b"), &err) == NULL);
  ASSERT_CONTAINS(err.message, "in ${ params.nope }: the value is nil");
  ASSERT_CONTAINS(eval_err(x, "print"), "a function value cannot be converted");
  ASSERT_CONTAINS(eval_err(x, "error({})"), "(error object is a table value)");
  // The state still works.
  ASSERT_STREQ(eval_str(x, "'ok'"), "ok");
  lx_free(x);
}

TEST(eval_bool_when)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *acc = map("metrics", map("accuracy", fnum(0.93), NULL), NULL);
  ASSERT_EQ(lx_set_step_outputs(x, "evaluate", acc, &err), 0);
  bool b = false;
  ASSERT_EQ(lx_eval_bool(x, str("steps.evaluate.metrics.accuracy >= params.min_accuracy"), "p.yaml",
                         &b, &err),
            0);
  ASSERT(b);
  ASSERT_EQ(lx_eval_bool(x, str("steps.evaluate.metrics.accuracy > 0.95"), "p.yaml", &b, &err), 0);
  ASSERT(!b);
  ASSERT_EQ(lx_eval_bool(x, str("${ params.flag }"), "p.yaml", &b, &err), 0);
  ASSERT(b);
  ASSERT_EQ(lx_eval_bool(x, str("0"), "p.yaml", &b, &err), 0);  // Lua truthiness: 0 is true
  ASSERT(b);
  ASSERT_EQ(lx_eval_bool(x, str("nil"), "p.yaml", &b, &err), 0);
  ASSERT(!b);
  ASSERT_EQ(lx_eval_bool(x, boolean(false), "p.yaml", &b, &err), 0);
  ASSERT(!b);
  ASSERT_EQ(lx_eval_bool(x, str_at("steps.train.x > 1", 9, 11, false), "p.yaml", &b, &err),
            SMF_ELUA);
  ASSERT_CONTAINS(err.message, "p.yaml:9:11: in ${steps.train.x > 1}: attempt to index a nil "
                               "value (field 'train')");
  lx_free(x);
}

TEST(check_syntax)
{
  struct smf_error err = SMF_ERROR_INIT;
  const char *ok = "steps.a.x >= params.y and #vars.list > 0";
  ASSERT_EQ(lx_check_syntax(ok, strlen(ok), "when", &err), 0);
  const char *bad = "steps.a.x >=";
  ASSERT_EQ(lx_check_syntax(bad, strlen(bad), "when", &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "when:");
  ASSERT_CONTAINS(err.message, "unexpected symbol");
  ASSERT_EQ(lx_check_syntax("x = 1", 5, "when", &err), SMF_ELUA);  // a statement
  ASSERT_EQ(lx_check_syntax("  ", 2, "when", &err), SMF_ELUA);
  size_t off = 0;
  const char *t = "a ${1} $${x b ${ 'ok' .. '}' } c ${ 1 + } d";
  ASSERT_EQ(lx_check_template(t, strlen(t), "v", &off, &err), SMF_ELUA);
  ASSERT_EQ(off, 33);
  const char *u = "a ${ {1 } b";
  ASSERT_EQ(lx_check_template(u, strlen(u), "v", &off, &err), SMF_EPARSE);
  ASSERT_EQ(off, 2);
  const char *v = "fine ${x} and $${not lua";
  ASSERT_EQ(lx_check_template(v, strlen(v), "v", &off, &err), 0);
}

TEST(conversions_both_ways)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *v = map("s", str("x"), "i", inum(-3), "f", fnum(2.5), "b", boolean(false),
                           "n", node(DSL_NULL), "l", seq(2, inum(1), str("two")),
                           "m", map("k", map(NULL), NULL), NULL);
  ASSERT_EQ(lx_set_global(x, "vars", v, &err), 0);
  ASSERT_STREQ(eval_str(x, "type(vars.s) .. math.type(vars.i) .. math.type(vars.f) .. "
                           "type(vars.b) .. type(vars.n) .. #vars.l .. vars.l[2] .. "
                           "type(vars.m.k) .. tostring(next(vars.m.k))"),
               "stringintegerfloatbooleannil2twotablenil");
  // Lua -> tree: sequences, maps (sorted keys, numbers as keys), empty table.
  struct dsl_node *n = eval(x, "{10, 20, 30}", &err);
  ASSERT_EQ(n->type, DSL_SEQ);
  ASSERT_EQ(n->u.seq.n, 3);
  n = eval(x, "{[1] = 'a', [3] = 'c'}", &err);
  ASSERT_EQ(n->type, DSL_MAP);
  ASSERT_EQ(n->u.map.n, 2);
  ASSERT_STREQ(n->u.map.pairs[0].key, "1");
  ASSERT_STREQ(n->u.map.pairs[1].key, "3");
  n = eval(x, "{zeta = 1, alpha = 2, [2.5] = 3}", &err);
  ASSERT_STREQ(n->u.map.pairs[0].key, "2.5");
  ASSERT_STREQ(n->u.map.pairs[1].key, "alpha");
  ASSERT_STREQ(n->u.map.pairs[2].key, "zeta");
  n = eval(x, "{}", &err);
  ASSERT_EQ(n->type, DSL_MAP);
  ASSERT_EQ(n->u.map.n, 0);
  n = eval(x, "{a = smflow.json.null}", &err);
  ASSERT_EQ(get(n, "a")->type, DSL_NULL);
  ASSERT_CONTAINS(eval_err(x, "{f = print}"), "a function value cannot be converted");
  ASSERT_CONTAINS(eval_err(x, "{[true] = 1}"), "a table key of type boolean");
  ASSERT_CONTAINS(eval_err(x, "{[1] = 'a', ['1'] = 'b', x = 1}"), "both as a number and a string");
  ASSERT_CONTAINS(eval_err(x, "(function() local t = {} t.t = t return t end)()"),
                  "nested more than");
  ASSERT_CONTAINS(eval_err(x, "coroutine.create(print)"), "a thread value cannot be converted");
  // Step outputs accumulate under `steps`.
  ASSERT_EQ(lx_set_step_outputs(x, "a", map("uri", str("s3://b/k"), NULL), &err), 0);
  ASSERT_EQ(lx_set_step_outputs(x, "b", seq(1, inum(5)), &err), 0);
  ASSERT_STREQ(eval_str(x, "steps.a.uri .. steps.b[1]"), "s3://b/k5");
  ASSERT_EQ(lx_set_global(x, "vars", NULL, &err), 0);
  ASSERT_STREQ(eval_str(x, "type(vars)"), "nil");
  lx_free(x);
}

int main(void)
{
  RUN_TEST(interpolate_keeps_types);
  RUN_TEST(interpolate_splices);
  RUN_TEST(interpolate_nested_braces_and_strings);
  RUN_TEST(interpolate_escapes);
  RUN_TEST(interpolate_walks_trees);
  RUN_TEST(interpolate_errors_have_positions);
  RUN_TEST(eval_bool_when);
  RUN_TEST(check_syntax);
  RUN_TEST(conversions_both_ways);
  smf_arena_free(&A);
  return TEST_REPORT();
}
