// lx_test_util.h: shared by the Lua sandbox tests: hand-built value trees (as
// the YAML loader would make them) and shortcuts to evaluate expressions.
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/lx.h"
#include "test.h"

static struct smf_arena A;

// ---- tree builders (the test builds trees by hand, as the YAML loader would) ----

static inline struct dsl_node *node(enum dsl_type t)
{
  struct dsl_node *n = smf_arena_alloc(&A, sizeof(*n));
  n->type = t;
  return n;
}

static inline struct dsl_node *str_at(const char *s, unsigned line, unsigned col, bool quoted)
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

static inline struct dsl_node *str(const char *s)
{
  return str_at(s, 1, 1, false);
}

static inline struct dsl_node *inum(int64_t v)
{
  struct dsl_node *n = node(DSL_INT);
  n->u.i = v;
  return n;
}

static inline struct dsl_node *fnum(double v)
{
  struct dsl_node *n = node(DSL_FLOAT);
  n->u.f = v;
  return n;
}

static inline struct dsl_node *boolean(bool v)
{
  struct dsl_node *n = node(DSL_BOOL);
  n->u.b = v;
  return n;
}

// map("k1", v1, "k2", v2, ..., NULL)
static inline struct dsl_node *map(const char *k, ...)
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
static inline struct dsl_node *seq(size_t count, ...)
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

static inline const struct dsl_node *get(const struct dsl_node *m, const char *key)
{
  ASSERT(m != NULL && m->type == DSL_MAP);
  for (size_t i = 0; i < m->u.map.n; i++) {
    if (strcmp(m->u.map.pairs[i].key, key) == 0) {
      return m->u.map.pairs[i].value;
    }
  }
  return NULL;
}

static inline char *lua_dir(void)
{
  const char *src = getenv("SMF_SOURCE_DIR");
  return smf_xasprintf("%s/lua", src != NULL ? src : ".");
}

static inline struct lx *sandbox(void)
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
  ASSERT_EQ(lx_set_global(x, "run",
                          map("id", str("r-1"), "timestamp", str("20260101-000000"), NULL), &err),
            0);
  return x;
}

// Interpolate one scalar; returns the result node (in A) or NULL with *err set.
static inline struct dsl_node *interp(struct lx *x, struct dsl_node *in, struct smf_error *err)
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
static inline struct dsl_node *eval(struct lx *x, const char *expr, struct smf_error *err)
{
  char *s = smf_arena_printf(&A, "${%s}", expr);
  return interp(x, str(s), err);
}

static inline const char *eval_str(struct lx *x, const char *expr)
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

static inline const char *eval_err(struct lx *x, const char *expr)
{
  static struct smf_error err;
  struct dsl_node *n = eval(x, expr, &err);
  ASSERT(n == NULL);
  return err.message;
}
