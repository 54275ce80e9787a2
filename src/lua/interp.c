// interp.c: `${ EXPR }` in pipeline values. The scanner of template.c finds each
// `${` and its closing brace; each expression is compiled once as `return (EXPR)`
// in text mode with the sandbox environment and cached by its text. `$${` stands
// for a literal `${`.
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lua/lx_internal.h"

// ---------------------------------------------------------------------------
// Evaluation

// Evaluate one expression; on success its value is pushed.
static int lx_eval(struct lx *x, const char *expr, size_t len, struct smf_error *err)
{
  lua_State *L = x->L;
  if (lx__blank(expr, len)) {
    return SMF_ERR_SET(err, SMF_ELUA, "empty expression");
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__cache_key);
  lx__push_code(L, expr, len);
  if (lua_rawget(L, -2) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    size_t clen = 0;
    lx__push_code(L, expr, len);
    const char *code = lua_tolstring(L, -1, &clen);
    if (luaL_loadbufferx(L, code, clen, "=" LX_EXPR_CHUNK, "t") != LUA_OK) {
      int rc = SMF_ERR_SET(err, SMF_ELUA, "%s", lx__strip_chunk(lua_tostring(L, -1)));
      lua_pop(L, 3);
      return rc;
    }
    lx__push_env(L);
    lua_setupvalue(L, -2, 1);
    lua_pushvalue(L, -2);  // code
    lua_pushvalue(L, -2);  // function
    lua_rawset(L, -5);
    lua_remove(L, -2);  // code
  }
  lua_remove(L, -2);  // cache
  int rc = lx__pcall_user(x, 0, 1, false, err);
  if (rc != 0 && err != NULL) {
    memmove(err->message, lx__strip_chunk(err->message), strlen(lx__strip_chunk(err->message)) + 1);
  }
  return rc;
}

struct lx_interp {
  struct lx *x;
  const char *path;
  struct smf_arena *a;
  struct smf_error *err;
  bool bare;  ///< a `when:` condition: named as written, not as `${...}`
};

// Byte offset of the k-th (0-based) `${` of s (a `$${` is no `${`), or SIZE_MAX.
static size_t lx_nth_open(const char *s, size_t len, size_t k)
{
  size_t p = lx_template_next(s, len, 0);
  for (; p != SIZE_MAX && k > 0; k--) {
    p = lx_template_next(s, len, p + 2);
  }
  return p;
}

// Which `${` of s (0-based, counted as lx_nth_open counts) starts at byte `off`.
static size_t lx_open_index(const char *s, size_t len, size_t off)
{
  size_t k = 0;
  for (size_t p = lx_template_next(s, len, 0); p != SIZE_MAX && p < off;
       p = lx_template_next(s, len, p + 2)) {
    k++;
  }
  return k;
}

// Fill err with the position of the `${` at byte `off` of scalar n (or of the
// scalar itself for multi-line ones; for a quoted scalar with escapes the column
// is found in its source text, n->src), the expression and Lua's message in lerr.
static int lx_fail_at(const struct lx_interp *it, const struct dsl_node *n, size_t off,
                      const char *expr, size_t elen, const struct smf_error *lerr)
{
  unsigned line = n->mark.line, col = n->mark.col;
  if (line != 0 && memchr(n->u.str.s, '\n', n->u.str.len) == NULL) {
    const char *s = n->u.str.s;
    size_t at = off;
    if (n->src != NULL) {
      size_t p = lx_nth_open(n->src, strlen(n->src), lx_open_index(s, n->u.str.len, off));
      if (p != SIZE_MAX) {
        s = n->src;
        at = p;
      }
    }
    // Columns count characters, as the marks do: skip UTF-8 continuation bytes.
    col += n->quoted ? 1u : 0u;
    for (size_t i = 0; i < at; i++) {
      col += ((unsigned char)s[i] & 0xC0) != 0x80;
    }
  }
  const char *path = it->path != NULL ? it->path : "";
  int shown = elen > 60 ? 60 : (int)elen;
  const char *more = elen > 60 ? "..." : "";
  const char *open = it->bare ? "when: " : "${";
  const char *close = it->bare ? "" : "}";
  if (line != 0) {
    SMF_ERR_SET(it->err, lerr->code, "%s:%u:%u: in %s%.*s%s%s: %s", path, line, col, open, shown,
                expr, more, close, lerr->message);
  } else {
    SMF_ERR_SET(it->err, lerr->code, "%s%sin %s%.*s%s%s: %s", path, path[0] ? ": " : "", open,
                shown, expr, more, close, lerr->message);
  }
  if (it->err != NULL) {
    it->err->klass = lerr->klass;  // HookError after smflow.fail
    snprintf(it->err->path, sizeof(it->err->path), "%s", path);
    it->err->line = line;
    it->err->col = col;
  }
  return lerr->code;
}

// Growable string in the arena (no malloc'd memory may be held across Lua calls).
struct lx_abuf {
  char *p;
  size_t len, cap;
};

static void lx_abuf_add(struct smf_arena *a, struct lx_abuf *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 : b->len + n + 65;
    char *p = smf_arena_alloc(a, cap);
    if (b->len > 0) {
      memcpy(p, b->p, b->len);
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

// Append the value on top of the stack (popped) to b.
static int lx_splice(struct lx *x, struct smf_arena *a, struct lx_abuf *b, struct smf_error *err)
{
  lua_State *L = x->L;
  int t = lua_type(L, -1);
  int rc = 0;
  if (t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN) {
    size_t len = 0;
    const char *s = luaL_tolstring(L, -1, &len);
    if (memchr(s, '\0', len) != NULL) {
      rc = SMF_ERR_SET(err, SMF_ELUA, "the string contains a NUL byte");
    } else {
      lx_abuf_add(a, b, s, len);
    }
    lua_pop(L, 1);
  } else if (t == LUA_TNIL) {
    rc = SMF_ERR_SET(err, SMF_ELUA, "the value is nil; nothing to put into the string");
  } else {
    rc = SMF_ERR_SET(err, SMF_ELUA,
                     "a %s cannot be put into a string (write the expression alone as the "
                     "whole value to keep its type)",
                     luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return rc;
}

// Append the literal text s[i, end) (no `${` in it) to b, writing each `$${` as `${`.
static void lx_add_literal(struct smf_arena *a, struct lx_abuf *b, const char *s, size_t len,
                           size_t i, size_t end)
{
  size_t from = i;
  while (i < end) {
    if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
      lx_abuf_add(a, b, s + from, i - from);
      lx_abuf_add(a, b, "${", 2);
      i += 3;
      from = i;
    } else {
      i++;
    }
  }
  lx_abuf_add(a, b, s + from, end - from);
}

static int lx_interp_string(struct lx_interp *it, const struct dsl_node *n, struct dsl_node **out)
{
  const char *s = n->u.str.s;
  size_t len = n->u.str.len;
  struct smf_error lerr = SMF_ERROR_INIT;
  if (len >= 3 && s[0] == '$' && s[1] == '{' && lx_template_close(s, len, 0) == len - 1) {
    // Exactly one expression: the value keeps its Lua type.
    int top = lua_gettop(it->x->L);
    if (lx_eval(it->x, s + 2, len - 3, &lerr) != 0 ||
        lx__to_node(it->x->L, -1, it->a, out, &lerr) != 0) {
      lua_settop(it->x->L, top);
      return lx_fail_at(it, n, 0, s + 2, len - 3, &lerr);
    }
    lua_pop(it->x->L, 1);
    (*out)->mark = n->mark;
    return 0;
  }
  struct lx_abuf b = {0};
  lx_abuf_add(it->a, &b, "", 0);
  for (size_t i = 0;;) {
    size_t at = lx_template_next(s, len, i);
    lx_add_literal(it->a, &b, s, len, i, at == SIZE_MAX ? len : at);
    if (at == SIZE_MAX) {
      break;
    }
    size_t close = lx_template_close(s, len, at);
    if (close == SIZE_MAX) {
      SMF_ERR_SET(&lerr, SMF_EPARSE, "no closing '}' for '${'");
      return lx_fail_at(it, n, at, s + at + 2, len - at - 2, &lerr);
    }
    if (lx_eval(it->x, s + at + 2, close - at - 2, &lerr) != 0 ||
        lx_splice(it->x, it->a, &b, &lerr) != 0) {
      return lx_fail_at(it, n, at, s + at + 2, close - at - 2, &lerr);
    }
    i = close + 1;
  }
  struct dsl_node *r = lx__node_new(it->a, DSL_STR);
  r->mark = n->mark;
  r->quoted = n->quoted;
  r->u.str.s = b.p;
  r->u.str.len = b.len;
  *out = r;
  return 0;
}

static int lx_interp_node(struct lx_interp *it, const struct dsl_node *n, struct dsl_node **out)
{
  if (n->type == DSL_STR) {
    return lx_interp_string(it, n, out);
  }
  struct dsl_node *r = lx__node_new(it->a, n->type);
  *r = *n;
  r->has_expr = false;
  r->text = n->text != NULL ? smf_arena_strdup(it->a, n->text) : NULL;
  r->src = n->src != NULL ? smf_arena_strdup(it->a, n->src) : NULL;
  if (n->type == DSL_SEQ) {
    r->u.seq.items = smf_arena_alloc(it->a, (n->u.seq.n + 1) * sizeof(*r->u.seq.items));
    for (size_t i = 0; i < n->u.seq.n; i++) {
      int rc = lx_interp_node(it, n->u.seq.items[i], &r->u.seq.items[i]);
      if (rc != 0) {
        return rc;
      }
    }
  } else if (n->type == DSL_MAP) {
    r->u.map.pairs = smf_arena_alloc(it->a, (n->u.map.n + 1) * sizeof(*r->u.map.pairs));
    for (size_t i = 0; i < n->u.map.n; i++) {
      r->u.map.pairs[i] = n->u.map.pairs[i];
      r->u.map.pairs[i].key = smf_arena_strdup(it->a, n->u.map.pairs[i].key);
      int rc = lx_interp_node(it, n->u.map.pairs[i].value, &r->u.map.pairs[i].value);
      if (rc != 0) {
        return rc;
      }
    }
  }
  *out = r;
  return 0;
}

// ---------------------------------------------------------------------------
// Public entry points: each runs protected (lx__protect).

struct interp_op {
  struct lx__op op;
  const struct dsl_node *in;
  const char *path;
  struct smf_arena *a;
  struct dsl_node *out;
  bool truth;
};

static int lx_interpolate_protected(lua_State *L)
{
  struct interp_op *o = lua_touserdata(L, 1);
  struct lx_interp it = {.x = o->op.x, .path = o->path, .a = o->a, .err = o->op.err};
  o->op.rc = lx_interp_node(&it, o->in, &o->out);
  return 0;
}

int lx_interpolate(struct lx *x, const struct dsl_node *in, const char *path, struct smf_arena *a,
                   struct dsl_node **out, struct smf_error *err)
{
  struct interp_op o = {.op = {.x = x, .err = err}, .in = in, .path = path, .a = a};
  *out = NULL;
  if (in == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "nothing to interpolate");
  }
  int rc = lx__protect(x, lx_interpolate_protected, &o.op);
  if (rc == 0) {
    *out = o.out;
  }
  return rc;
}

static int lx_eval_bool_protected(lua_State *L)
{
  struct interp_op *o = lua_touserdata(L, 1);
  struct lx_interp it = {.x = o->op.x, .path = o->path, .a = NULL, .err = o->op.err, .bare = true};
  const struct dsl_node *n = o->in;
  const char *s = n->u.str.s;
  size_t len = n->u.str.len, off = 0;
  if (len >= 3 && s[0] == '$' && s[1] == '{' && lx_template_close(s, len, 0) == len - 1) {
    off = 2;  // `when: ${ EXPR }` means the same as `when: EXPR`
    len -= 3;
  }
  struct smf_error lerr = SMF_ERROR_INIT;
  if (lx_eval(o->op.x, s + off, len, &lerr) != 0) {
    o->op.rc = lx_fail_at(&it, n, 0, s + off, len, &lerr);
    return 0;
  }
  o->truth = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return 0;
}

int lx_eval_bool(struct lx *x, const struct dsl_node *expr, const char *path, bool *out,
                 struct smf_error *err)
{
  if (expr->type == DSL_BOOL) {
    *out = expr->u.b;
    return 0;
  }
  if (expr->type != DSL_STR) {
    return SMF_ERR_SET(err, SMF_EINVAL, "%s:%u:%u: a condition must be a Lua expression, not a %s",
                       path != NULL ? path : "", expr->mark.line, expr->mark.col,
                       expr->type == DSL_SEQ   ? "sequence"
                       : expr->type == DSL_MAP ? "map"
                                               : "number or null");
  }
  struct interp_op o = {.op = {.x = x, .err = err}, .in = expr, .path = path};
  int rc = lx__protect(x, lx_eval_bool_protected, &o.op);
  if (rc == 0) {
    *out = o.truth;
  }
  return rc;
}

// ---------------------------------------------------------------------------
// Globals

struct global_op {
  struct lx__op op;
  const char *name, *step_id;
  const struct dsl_node *value;
};

uint64_t lx_env_reads(const struct lx *x)
{
  return x->env_reads;
}

static int lx_set_global_protected(lua_State *L)
{
  struct global_op *o = lua_touserdata(L, 1);
  if (o->step_id != NULL) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__steps_key);
    lx__push_node(L, o->value);
    lua_setfield(L, -2, o->step_id);
  } else {
    lx__push_node(L, o->value);
    lx__set_protected(L, o->name);
  }
  return 0;
}

int lx_set_global(struct lx *x, const char *name, const struct dsl_node *value,
                  struct smf_error *err)
{
  struct global_op o = {.op = {.x = x, .err = err}, .name = name, .value = value};
  return lx__protect(x, lx_set_global_protected, &o.op);
}

int lx_set_step_outputs(struct lx *x, const char *step_id, const struct dsl_node *outputs,
                        struct smf_error *err)
{
  struct global_op o = {.op = {.x = x, .err = err}, .step_id = step_id, .value = outputs};
  return lx__protect(x, lx_set_global_protected, &o.op);
}
