// test_lx.c: the Lua sandbox: interpolation, conditions, conversions, the caps,
// escape attempts, re-entry, hooks files and hook calls.
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <unistd.h>

#include "lx_test_util.h"

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
  // Columns count characters: "é" is two bytes, one column.
  ASSERT(interp(x, str_at("\xc3\xa9t\xc3\xa9 ${ nope() }", 4, 3, false), &err) == NULL);
  ASSERT_CONTAINS(err.message,
                  "p.yaml:4:7: in ${ nope() }: attempt to call a nil value (global 'nope')");
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
  ASSERT_CONTAINS(err.message,
                  "p.yaml:9:11: in when: steps.train.x > 1: attempt to index a nil "
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

// The scanner the validator shares with interpolation, and one syntax state
// reused for many expressions.
TEST(template_scanner_and_syntax_state)
{
  const char *t = "a $${b} ${c}";
  ASSERT_EQ(lx_template_next(t, strlen(t), 0), 8);
  ASSERT_EQ(lx_template_next(t, strlen(t), 9), SIZE_MAX);
  ASSERT_EQ(lx_template_next("$$${x}", 6, 0), SIZE_MAX);  // `$` then the escape `$${`
  ASSERT_EQ(lx_template_next("$$ ${x}", 7, 0), 3);
  const char *c = "${ '}' .. [=[}]]=] .. x --[[ } ]] .. {1}[1] }!";
  ASSERT_EQ(lx_template_close(c, strlen(c), 0), strlen(c) - 2);
  const char *l = "x ${ a -- }\n }";
  ASSERT_EQ(lx_template_close(l, strlen(l), 2), strlen(l) - 1);
  ASSERT_EQ(lx_template_close("${ 'a }", 7, 0), SIZE_MAX);
  ASSERT_EQ(lx_template_close("${ [[ } ]", 9, 0), SIZE_MAX);
  ASSERT_EQ(lx_skip_lua_token("'a\\'b' x", 9, 0), 6);
  ASSERT_EQ(lx_skip_lua_token("--c\nx", 5, 0), 3);
  ASSERT_EQ(lx_skip_lua_token("[==[ ]] ]==]x", 13, 0), 12);
  ASSERT_EQ(lx_skip_lua_token("[=x", 3, 0), 0);
  ASSERT_EQ(lx_skip_lua_token("x'", 2, 0), 0);

  struct smf_error err = SMF_ERROR_INIT;
  struct lx_syntax *syn = lx_syntax_new(&err);
  ASSERT(syn != NULL);
  char buf[64];
  for (int i = 0; i < 2000; i++) {
    int n = snprintf(buf, sizeof(buf), "steps.s%d.out + %d", i, i);
    ASSERT_EQ(lx_syntax_check(syn, buf, (size_t)n, &err), 0);
  }
  ASSERT_EQ(lx_syntax_check(syn, "1 +", 3, &err), SMF_ELUA);
  ASSERT(strncmp(err.message, "unexpected symbol", 17) == 0);  // no "chunk:LINE: " prefix
  ASSERT_EQ(lx_syntax_check(syn, "x = 1", 5, &err), SMF_ELUA);
  ASSERT_EQ(lx_syntax_check(syn, " \t", 2, &err), SMF_ELUA);
  ASSERT_STREQ(err.message, "empty expression");
  ASSERT_EQ(lx_syntax_check(syn, "a --", 4, &err), 0);  // a trailing comment is fine
  lx_syntax_free(syn);
  lx_syntax_free(NULL);
}

TEST(conversions_both_ways)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *v =
      map("s", str("x"), "i", inum(-3), "f", fnum(2.5), "b", boolean(false), "n", node(DSL_NULL),
          "l", seq(2, inum(1), str("two")), "m", map("k", map(NULL), NULL), NULL);
  ASSERT_EQ(lx_set_global(x, "vars", v, &err), 0);
  ASSERT_STREQ(eval_str(x,
                        "type(vars.s) .. math.type(vars.i) .. math.type(vars.f) .. "
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
  ASSERT_CONTAINS(eval_err(x, "'a\\0b'"), "a string containing a NUL byte");
  ASSERT_CONTAINS(eval_err(x, "{['a\\0b'] = 1}"), "(it contains a NUL byte)");
  struct smf_error nerr = SMF_ERROR_INIT;
  ASSERT(interp(x, str("x${'a\\0b'}"), &nerr) == NULL);
  ASSERT_CONTAINS(nerr.message, "the string contains a NUL byte");
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

// ---- caps ----

static void expect_cap(struct lx *x, const char *expr, const char *what)
{
  fprintf(stderr, "   %s\n", expr);
  const char *msg = eval_err(x, expr);
  if (strstr(msg, what) == NULL) {
    fprintf(stderr, "%s\n  -> %s\n", expr, msg);
  }
  ASSERT_CONTAINS(msg, what);
  // The state is still usable, with its memory back.
  ASSERT_STREQ(eval_str(x, "'still ' .. 'usable'"), "still usable");
  ASSERT(lx_mem_used(x) < (4u << 20));
}

TEST(caps_stop_runaways)
{
  struct lx *x = sandbox();
  const char *instr = "instruction limit of 5000000 exceeded";
  const char *mem = "memory limit of 16777216 bytes (16.0 MiB) exceeded";
  expect_cap(x, "(function() while true do end end)()", instr);
  expect_cap(x, "(function() local t = {} while true do t[#t+1] = string.rep('x', 1e6) end end)()",
             mem);
  expect_cap(x, "string.rep('x', 1 << 30)", mem);
  expect_cap(x, "(function() local t = {} for i = 1, 1e9 do t[i] = i end end)()", mem);
  expect_cap(x, "(function() local s = 'x' while true do s = s .. s end end)()", mem);
  // Unbounded recursion ends in Lua's own stack overflow or the memory cap.
  const char *deep = eval_err(x,
                              "(function() local function f(n) return 1 + f(n + 1) end "
                              "return f(1) end)()");
  ASSERT(strstr(deep, "stack overflow") != NULL || strstr(deep, mem) != NULL);
  ASSERT_STREQ(eval_str(x, "'after recursion'"), "after recursion");
  // pcall / xpcall cannot swallow either cap.
  expect_cap(x, "pcall(function() while true do end end)", instr);
  expect_cap(x, "(function() while true do pcall(function() while true do end end) end end)()",
             instr);
  expect_cap(x, "xpcall(function() while true do end end, function(m) return m end)", instr);
  expect_cap(x, "xpcall(function() while true do end end, function() while true do end end)",
             instr);
  expect_cap(x,
             "select('#', pcall(function() local t = {} while true do t[#t+1] = "
             "string.rep('x', 1e6) end end))",
             mem);
  expect_cap(x, "(function() for i = 1, 1e9 do pcall(string.rep, 'x', 1 << 30) end return 1 end)()",
             mem);
  expect_cap(x,
             "(function() while true do xpcall(function() while true do end end, "
             "function() while true do end end) end end)()",
             instr);
  // Nor can coroutines.
  expect_cap(x, "coroutine.wrap(function() while true do end end)()", instr);
  expect_cap(x,
             "(function() while true do coroutine.resume(coroutine.create(function() while "
             "true do end end)) end end)()",
             instr);
  expect_cap(x,
             "coroutine.resume(coroutine.create(function() local t = {} while true do "
             "t[#t+1] = string.rep('x', 1e6) end end))",
             mem);
  // The budget is per top-level call: many small calls are fine.
  for (int i = 0; i < 50; i++) {
    ASSERT_STREQ(eval_str(x,
                          "tostring((function() local s = 0 for i = 1, 100000 do s = s + i "
                          "end return s end)())"),
                 "5000050000");
  }
  lx_free(x);
}

// ---- escapes ----

TEST(globals_read_only)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(lx_set_global(x, "vars", map("list", seq(2, inum(1), inum(2)), NULL), &err), 0);
  ASSERT_EQ(lx_set_step_outputs(x, "a", map("k", str("v"), NULL), &err), 0);
  ASSERT_CONTAINS(eval_err(x, "(function() params.epochs = 99 end)()"), "read-only");
  ASSERT_CONTAINS(eval_err(x, "(function() vars.list[1] = 9 end)()"), "read-only");
  ASSERT_CONTAINS(eval_err(x, "(function() steps.a.k = 'x' end)()"), "read-only");
  ASSERT_CONTAINS(eval_err(x, "(function() run = {} end)()"), "'run' is read-only");
  ASSERT_CONTAINS(eval_err(x, "(function() params = nil end)()"), "'params' is read-only");
  ASSERT_CONTAINS(eval_err(x, "rawset(_G, 'params', {})"), "'params' is read-only");
  ASSERT_CONTAINS(eval_err(x, "(function() string.upper = nil end)()"), "read-only");
  ASSERT_CONTAINS(eval_err(x, "setmetatable(params, {})"), "protected metatable");
  // Nothing changed; reading still works, and values convert back whole.
  ASSERT_STREQ(eval_str(x, "tostring(params.epochs) .. ('x'):upper() .. steps.a.k"), "10Xv");
  ASSERT_STREQ(eval_str(x, "tostring(#vars.list) .. table.concat(vars.list, ',')"), "21,2");
  ASSERT_STREQ(eval_str(x,
                        "(function() local n = 0 for k, v in pairs(params) do n = n + 1 end "
                        "for i, v in ipairs(vars.list) do n = n + v end return tostring(n) end)()"),
               "8");
  struct dsl_node *n = eval(x, "vars", &err);
  ASSERT(n != NULL);
  ASSERT_EQ(n->type, DSL_MAP);
  ASSERT_EQ(dsl_map_get(n, "list")->u.seq.n, 2);
  ASSERT_STREQ(eval_str(x, "require('smflow').json.encode(vars.list)"), "[1,2]");
  // Ordinary globals of expressions and hooks still work.
  ASSERT_STREQ(eval_str(x, "(function() myglobal = 'ok' return myglobal end)()"), "ok");
  lx_free(x);
}

TEST(sandbox_escapes_fail)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_CONTAINS(eval_err(x, "io.open('/etc/passwd')"),
                  "attempt to index a nil value (global 'io')");
  ASSERT_CONTAINS(eval_err(x, "os.execute('true')"),
                  "attempt to call a nil value (field 'execute')");
  ASSERT_CONTAINS(eval_err(x, "os.getenv('HOME')"), "attempt to call a nil value (field 'getenv')");
  ASSERT_CONTAINS(eval_err(x, "os.remove('/tmp/x')"), "(field 'remove')");
  ASSERT_CONTAINS(eval_err(x, "os.exit(1)"), "(field 'exit')");
  ASSERT_CONTAINS(eval_err(x, "debug.getinfo(1)"), "(global 'debug')");
  ASSERT_CONTAINS(eval_err(x, "package.loadlib('libc.so.6', 'system')"), "(global 'package')");
  ASSERT_CONTAINS(eval_err(x, "dofile('/etc/passwd')"), "(global 'dofile')");
  ASSERT_CONTAINS(eval_err(x, "loadfile('/etc/passwd')"), "(global 'loadfile')");
  ASSERT_CONTAINS(eval_err(x, "string.dump(print)"), "(field 'dump')");
  ASSERT_CONTAINS(eval_err(x, "('').dump(print)"), "(field 'dump')");
  // The strings' metatable is hidden: getmetatable('') is false.
  ASSERT_CONTAINS(eval_err(x, "getmetatable('').__index.dump(function() end)"),
                  "attempt to index a boolean value");
  ASSERT_CONTAINS(eval_err(x, "rawget(getmetatable('').__index, 'dump')(print)"),
                  "attempt to index a boolean value");
  // Binary chunks are refused whatever the mode asked for.
  ASSERT_CONTAINS(eval_err(x, "assert(load('\\27Lua\\x54\\0'))"), "attempt to load a binary chunk");
  ASSERT_CONTAINS(eval_err(x, "assert(load('\\27Lua\\x54\\0', 'x', 'b'))"), "binary chunk");
  ASSERT_CONTAINS(eval_err(x, "assert(load(function() return '\\27Lua' end))"), "binary chunk");
  // Text chunks get the sandbox environment, not the real globals.
  struct dsl_node *n = eval(x, "load('return io, os.execute, params.epochs')()", &err);
  ASSERT_EQ(n->type, DSL_NULL);
  ASSERT_STREQ(eval_str(x, "tostring(select(3, load('return io, os.execute, params.epochs')()))"),
               "10");
  ASSERT_STREQ(eval_str(x, "tostring(load('return x', 'c', 't', {x = 'own env'})())"), "own env");
  // require: only smflow and its helpers.
  ASSERT_CONTAINS(eval_err(x, "require 'io'"), "module 'io' is not available in the sandbox");
  ASSERT_CONTAINS(eval_err(x, "require 'os'"), "not available in the sandbox");
  ASSERT_CONTAINS(eval_err(x, "require 'socket.core'"), "not available in the sandbox");
  ASSERT_CONTAINS(eval_err(x, "require 'smflow.../../../etc/passwd'"), "not available");
  ASSERT_CONTAINS(eval_err(x, "require 'smflow.nope'"), "module 'smflow.nope' not found");
  ASSERT_STREQ(eval_str(x, "tostring(require('smflow') == smflow)"), "true");
  // Neither the globals nor the registry's real table are reachable.
  ASSERT_STREQ(eval_str(x,
                        "tostring(_G.io) .. tostring(_ENV.io) .. tostring(rawget(_G, 'io')) "
                        ".. tostring(_G == _ENV)"),
               "nilnilniltrue");
  ASSERT_STREQ(eval_str(x, "type(warn) .. type(print) .. type(collectgarbage)"),
               "nilfunctionfunction");
  // Finalizers run with hooks off in Lua: no __gc from the sandbox.
  ASSERT_CONTAINS(eval_err(x, "setmetatable({}, {__gc = function() while true do end end})"),
                  "__gc metamethods are not allowed");
  ASSERT_STREQ(eval_str(x, "getmetatable(setmetatable({}, {__index = {k = 'v'}})).__index.k"), "v");
  ASSERT_STREQ(eval_str(x,
                        "tostring(select(2, xpcall(error, function(m) return 'h:' .. m end, "
                        "'e', 0)))"),
               "h:e");
  ASSERT_STREQ(eval_str(x,
                        "tostring(select(2, xpcall(function(a, b) return a + b end, print, 2, "
                        "3)))"),
               "5");
  // collectgarbage: looking is fine, switching the collector off is not.
  ASSERT_STREQ(eval_str(x, "math.type(collectgarbage('count'))"), "float");
  ASSERT_CONTAINS(eval_err(x, "collectgarbage('stop')"), "collectgarbage(\"stop\") is not allowed");
  ASSERT_CONTAINS(eval_err(x, "collectgarbage('generational')"), "is not allowed");
  ASSERT_CONTAINS(eval_err(x, "collectgarbage('setpause', 1000)"), "is not allowed");
  // What is allowed works.
  ASSERT_STREQ(eval_str(x, "os.date('!%Y-%m-%d', 0) .. math.type(os.time()) .. type(os.clock())"),
               "1970-01-01integernumber");
  ASSERT_STREQ(eval_str(x,
                        "string.format('%05.1f', 3.14159) .. utf8.char(233) .. "
                        "table.concat({1, 2}, ',') .. math.floor(2.5)"),
               "003.1\xc3\xa9"
               "1,22");
  lx_free(x);
}

// Random text made of the scanner's special characters: the scanner, the
// template check and interpolation agree and never crash.
TEST(scanner_random_inputs)
{
  struct lx *x = sandbox();
  static const char alphabet[] = "${}$'\"[]=-\n x1.+()";
  unsigned seed = 12345;
  char buf[40];
  for (int iter = 0; iter < 20000; iter++) {
    seed = seed * 1103515245u + 12345u;
    size_t len = (seed >> 16) % (sizeof(buf) - 1);
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
    }
    buf[len] = '\0';
    struct smf_error err = SMF_ERROR_INIT;
    size_t off = 0;
    int check = lx_check_template(buf, len, "t", &off, &err);
    ASSERT(check == 0 || check == SMF_ELUA || check == SMF_EPARSE);
    if (check != 0) {
      ASSERT(off < len);
    }
    struct dsl_node *out = NULL;
    int rc = lx_interpolate(x, str(buf), "p.yaml", &A, &out, &err);
    ASSERT(rc == 0 || rc == SMF_ELUA || rc == SMF_EPARSE);
    // A template that does not even compile cannot interpolate.
    if (check != 0) {
      ASSERT(rc != 0);
    }
    if (rc == 0) {
      ASSERT(out != NULL && (out->type != DSL_STR || strlen(out->u.str.s) == out->u.str.len));
    }
  }
  lx_free(x);
}

struct reenter {
  struct lx *x;
  int rc;
};

static void log_reenter(void *ud, const char *step_id, const char *msg)
{
  (void)step_id;
  (void)msg;
  struct reenter *r = ud;
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *out = NULL;
  r->rc = lx_interpolate(r->x, str("${1}"), "p.yaml", &A, &out, &err);
}

TEST(reentry_and_small_limits)
{
  struct lx *x = sandbox();
  struct reenter r = {x, 0};
  lx_set_log_fn(x, log_reenter, &r);
  ASSERT_STREQ(eval_str(x, "(function() smflow.log('x') return 'done' end)()"), "done");
  ASSERT_EQ(r.rc, SMF_EINVAL);
  lx_set_log_fn(x, NULL, NULL);
  // An error object whose __tostring runs away is stopped too.
  expect_cap(x, "error(setmetatable({}, {__tostring = function() while true do end end}))",
             "instruction limit");
  lx_free(x);
  // A limit too small for the libraries fails cleanly.
  struct smf_error err = SMF_ERROR_INIT;
  struct lx_config tiny = {.mem_limit = 4096};
  ASSERT(lx_new(&tiny, &err) == NULL);
  ASSERT(err.code == SMF_ENOMEM || err.code == SMF_ELUA);
  // Defaults apply with no config at all, helpers included.
  x = lx_new(NULL, &err);
  ASSERT(x != NULL);
  ASSERT_STREQ(eval_str(x, "require('smflow.semver').bump('0.1.0', 'patch')"), "0.1.1");
  lx_free(x);
}

// ---- hooks file and lx_call ----

static const char HOOKS[] =
    "-- hooks for the tests\n"                                                             // 1
    "local count = 0\n"                                                                    // 2
    "function before(step)\n"                                                              // 3
    "  count = count + 1\n"                                                                // 4
    "  return {hyperparameters = {epochs = step.params.epochs * 2}, n = count}\n"          // 5
    "end\n"                                                                                // 6
    "function after(step, outputs)\n"                                                      // 7
    "  return {model = smflow.uri.join(outputs.prefix, 'model.tar.gz'), id = step.id}\n"   // 8
    "end\n"                                                                                // 9
    "function helper(n) return n * 3 end\n"                                                // 10
    "function boom()\n"                                                                    // 11
    "  local t = nil\n"                                                                    // 12
    "  return t.x\n"                                                                       // 13
    "end\n"                                                                                // 14
    "function deliberate() smflow.fail('accuracy 0.5 below 0.9') end\n"                    // 15
    "function runaway()\n"                                                                 // 16
    "  while true do end\n"                                                                // 17
    "end\n"                                                                                // 18
    "function bomb() local t = {} while true do t[#t+1] = string.rep('x', 1e6) end end\n"  // 19
    "function returns_fn() return print end\n"                                             // 20
    "function nothing() end\n"                                                             // 21
    "not_a_function = 5\n"                                                                 // 22
    "function semver_bump(v) return require('smflow.semver').bump(v, 'minor') end\n";      // 23

static char *tmp_dir(void)
{
  char tmpl[] = "/tmp/smf-lx-XXXXXX";
  ASSERT(mkdtemp(tmpl) != NULL);
  return smf_xstrdup(tmpl);
}

static char *write_file(const char *dir, const char *name, const void *data, size_t len)
{
  char *path = smf_xasprintf("%s/%s", dir, name);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_file_write_atomic(path, data, len, &err), 0);
  return path;
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
  (void)L;
  struct smf_buf *b = ud;
  return smf_buf_append(b, p, sz);
}

TEST(hooks_load_and_call)
{
  struct lx *x = sandbox();
  struct smf_error err = SMF_ERROR_INIT;
  char *dir = tmp_dir();
  char *path = write_file(dir, "hooks.lua", HOOKS, strlen(HOOKS));
  ASSERT_EQ(lx_load_hooks(x, path, &err), 0);
  ASSERT(lx_has_function(x, "before"));
  ASSERT(lx_has_function(x, "after"));
  ASSERT(!lx_has_function(x, "not_a_function"));
  ASSERT(!lx_has_function(x, "nope"));
  ASSERT(!lx_has_function(x, "count"));  // locals stay private to the file

  const struct dsl_node *step =
      map("id", str("train"), "params", map("epochs", inum(10), NULL), NULL);
  struct dsl_node *ret = NULL;
  ASSERT_EQ(lx_call(x, "before", &step, 1, &A, &ret, &err), 0);
  ASSERT_EQ(get(get(ret, "hyperparameters"), "epochs")->u.i, 20);
  ASSERT_EQ(get(ret, "n")->u.i, 1);
  ASSERT_EQ(lx_call(x, "before", &step, 1, &A, &ret, &err), 0);  // module state is kept
  ASSERT_EQ(get(ret, "n")->u.i, 2);
  const struct dsl_node *args[2] = {step, map("prefix", str("s3://b/out/"), NULL)};
  ASSERT_EQ(lx_call(x, "after", args, 2, &A, &ret, &err), 0);
  ASSERT_STREQ(get(ret, "model")->u.str.s, "s3://b/out/model.tar.gz");
  ASSERT_STREQ(get(ret, "id")->u.str.s, "train");
  const struct dsl_node *v = str("1.4.2");
  ASSERT_EQ(lx_call(x, "semver_bump", &v, 1, &A, &ret, &err), 0);
  ASSERT_STREQ(ret->u.str.s, "1.5.0");
  ASSERT_EQ(lx_call(x, "nothing", NULL, 0, &A, &ret, &err), 0);
  ASSERT(ret == NULL);
  ASSERT_EQ(lx_call(x, "helper", &v, 1, &A, NULL, &err), SMF_ELUA);  // "1.4.2" * 3
  // Hook functions are visible to expressions.
  struct dsl_node *n = interp(x, str("${ helper(params.epochs) }"), &err);
  ASSERT_EQ(n->u.i, 30);

  // Failures: class HookError, traceback with FILE:LINE.
  char *at13 = smf_xasprintf("%s:13: attempt to index a nil value (local 't')", path);
  smf_error_clear(&err);
  ASSERT_EQ(lx_call(x, "boom", NULL, 0, &A, &ret, &err), SMF_ELUA);
  ASSERT_EQ(err.klass, SMF_CLASS_HOOK);
  ASSERT_CONTAINS(err.message, at13);
  ASSERT_CONTAINS(err.message, "stack traceback:");
  ASSERT_CONTAINS(err.message, "in function 'boom'");
  ASSERT_STREQ(err.path, path);
  ASSERT_EQ(err.line, 13);
  smf_error_clear(&err);
  ASSERT_EQ(lx_call(x, "deliberate", NULL, 0, &A, &ret, &err), SMF_ELUA);
  ASSERT_EQ(err.klass, SMF_CLASS_HOOK);
  ASSERT_STREQ(err.message, "accuracy 0.5 below 0.9");
  ASSERT_STREQ(err.path, path);
  ASSERT_EQ(err.line, 15);
  smf_error_clear(&err);
  ASSERT_EQ(lx_call(x, "runaway", NULL, 0, &A, &ret, &err), SMF_ELUA);
  ASSERT_EQ(err.klass, SMF_CLASS_HOOK);
  char *at17 = smf_xasprintf("%s:17: instruction limit of 5000000 exceeded", path);
  ASSERT_STREQ(err.message, at17);
  ASSERT_EQ(err.line, 17);
  smf_error_clear(&err);
  ASSERT_EQ(lx_call(x, "bomb", NULL, 0, &A, &ret, &err), SMF_ELUA);
  ASSERT_EQ(err.klass, SMF_CLASS_HOOK);
  char *at19 = smf_xasprintf("%s:19: memory limit of 16777216 bytes (16.0 MiB) exceeded", path);
  ASSERT_STREQ(err.message, at19);
  free(at19);
  ASSERT_EQ(lx_call(x, "returns_fn", NULL, 0, &A, &ret, &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "hook 'returns_fn' returned a value that is not data");
  ASSERT_EQ(lx_call(x, "nope", NULL, 0, &A, &ret, &err), SMF_ENOENT);
  ASSERT_CONTAINS(err.message, "hook function 'nope' is not defined");
  ASSERT_EQ(lx_call(x, "not_a_function", NULL, 0, &A, &ret, &err), SMF_EINVAL);
  // Still usable after all that.
  ASSERT_EQ(lx_call(x, "before", &step, 1, &A, &ret, &err), 0);
  ASSERT_EQ(get(ret, "n")->u.i, 3);
  lx_free(x);
  unlink(path);
  rmdir(dir);
  free(at13);
  free(at17);
  free(path);
  free(dir);
}

TEST(hooks_refused_and_broken)
{
  struct smf_error err = SMF_ERROR_INIT;
  char *dir = tmp_dir();
  struct lx *x = sandbox();
  // Syntax error: FILE:LINE.
  const char *bad = "function f()\n  return 1 +\nend\n";
  char *p1 = write_file(dir, "bad.lua", bad, strlen(bad));
  ASSERT_EQ(lx_load_hooks(x, p1, &err), SMF_ELUA);
  char *want = smf_xasprintf("%s:3: unexpected symbol near 'end'", p1);
  ASSERT_CONTAINS(err.message, want);
  free(want);
  // Bytecode is refused, even behind a '#' first line.
  lua_State *L = luaL_newstate();
  ASSERT_EQ(luaL_loadstring(L, "function f() return 1 end"), LUA_OK);
  struct smf_buf b = SMF_BUF_INIT;
  ASSERT_EQ(lua_dump(L, dump_writer, &b, 0), 0);
  lua_close(L);
  char *p2 = write_file(dir, "compiled.lua", b.data, b.len);
  ASSERT_EQ(lx_load_hooks(x, p2, &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "compiled.lua: precompiled Lua (bytecode) is refused");
  struct smf_buf b2 = SMF_BUF_INIT;
  smf_buf_puts(&b2, "#!/usr/bin/lua\n");
  smf_buf_append(&b2, b.data, b.len);
  char *p3 = write_file(dir, "shebang.lua", b2.data, b2.len);
  ASSERT_EQ(lx_load_hooks(x, p3, &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "precompiled Lua (bytecode) is refused");
  ASSERT(!lx_has_function(x, "f"));
  // A runaway at load time, and an error at load time.
  const char *loop = "x = 1\nwhile true do end\n";
  char *p4 = write_file(dir, "loop.lua", loop, strlen(loop));
  ASSERT_EQ(lx_load_hooks(x, p4, &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "loop.lua:2: instruction limit");
  const char *raise = "\n\nerror('no config')\n";
  char *p5 = write_file(dir, "raise.lua", raise, strlen(raise));
  ASSERT_EQ(lx_load_hooks(x, p5, &err), SMF_ELUA);
  ASSERT_CONTAINS(err.message, "raise.lua:3: no config");
  ASSERT_EQ(err.klass, SMF_CLASS_HOOK);
  char *p6 = smf_xasprintf("%s/missing.lua", dir);
  ASSERT_EQ(lx_load_hooks(x, p6, &err), SMF_EIO);
  ASSERT_CONTAINS(err.message, "cannot open");
  lx_free(x);
  char *paths[] = {p1, p2, p3, p4, p5, p6};
  for (size_t i = 0; i < SMF_ARRAY_LEN(paths); i++) {
    unlink(paths[i]);
    free(paths[i]);
  }
  rmdir(dir);
  free(dir);
  smf_buf_free(&b);
  smf_buf_free(&b2);
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
  RUN_TEST(template_scanner_and_syntax_state);
  RUN_TEST(conversions_both_ways);
  RUN_TEST(caps_stop_runaways);
  RUN_TEST(sandbox_escapes_fail);
  RUN_TEST(globals_read_only);
  RUN_TEST(scanner_random_inputs);
  RUN_TEST(reentry_and_small_limits);
  RUN_TEST(hooks_load_and_call);
  RUN_TEST(hooks_refused_and_broken);
  smf_arena_free(&A);
  return TEST_REPORT();
}
