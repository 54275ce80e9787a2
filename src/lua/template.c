// template.c: the one scanner of `${ EXPR }` templates (used by the runtime's
// interpolation and by the validator, so that what validates is what runs) and the
// syntax checks that compile expressions without running them.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lx_internal.h"

// ---------------------------------------------------------------------------
// Scanner

// If s[i] opens a long bracket `[=*[`, return its level and set *body to the
// index after it; else -1.
static int lx_long_open(const char *s, size_t len, size_t i, size_t *body)
{
  if (i >= len || s[i] != '[') {
    return -1;
  }
  size_t j = i + 1;
  while (j < len && s[j] == '=') {
    j++;
  }
  if (j >= len || s[j] != '[') {
    return -1;
  }
  *body = j + 1;
  return (int)(j - i - 1);
}

// Index after the `]=*]` of level `level` closing a long bracket, or len when absent.
static size_t lx_long_close(const char *s, size_t len, size_t i, int level)
{
  for (; i < len; i++) {
    if (s[i] != ']') {
      continue;
    }
    size_t j = i + 1;
    while (j < len && s[j] == '=') {
      j++;
    }
    if (j < len && s[j] == ']' && (int)(j - i - 1) == level) {
      return j + 1;
    }
  }
  return len;
}

size_t lx_skip_lua_token(const char *s, size_t len, size_t i)
{
  size_t body = 0;
  int level = -1;
  if (i >= len) {
    return i;
  }
  char c = s[i];
  if (c == '\'' || c == '"') {
    for (size_t j = i + 1; j < len; j++) {
      if (s[j] == '\\') {
        j++;
      } else if (s[j] == c) {
        return j + 1;
      }
    }
    return len;
  }
  if ((level = lx_long_open(s, len, i, &body)) >= 0) {
    return lx_long_close(s, len, body, level);
  }
  if (c == '-' && i + 1 < len && s[i + 1] == '-') {
    if ((level = lx_long_open(s, len, i + 2, &body)) >= 0) {
      return lx_long_close(s, len, body, level);
    }
    const char *nl = memchr(s + i, '\n', len - i);
    return nl != NULL ? (size_t)(nl - s) : len;
  }
  return i;
}

size_t lx_template_next(const char *s, size_t len, size_t i)
{
  while (i + 1 < len) {
    if (s[i] == '$' && s[i + 1] == '$' && i + 2 < len && s[i + 2] == '{') {
      i += 3;  // `$${` is a literal `${`
      continue;
    }
    if (s[i] == '$' && s[i + 1] == '{') {
      return i;
    }
    i++;
  }
  return SIZE_MAX;
}

size_t lx_template_close(const char *s, size_t len, size_t open)
{
  int depth = 1;
  size_t i = open + 2;
  while (i < len) {
    size_t next = lx_skip_lua_token(s, len, i);
    if (next != i) {
      i = next;
      continue;
    }
    if (s[i] == '{') {
      depth++;
    } else if (s[i] == '}' && --depth == 0) {
      return i;
    }
    i++;
  }
  return SIZE_MAX;
}

// ---------------------------------------------------------------------------
// Helpers shared with the evaluation (interp.c)

bool lx__blank(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
      return false;
    }
  }
  return true;
}

const char *lx__strip_chunk(const char *msg)
{
  size_t n = strlen(LX_EXPR_CHUNK);
  if (strncmp(msg, LX_EXPR_CHUNK ":", n + 1) != 0) {
    return msg;
  }
  const char *p = msg + n + 1;
  while (*p >= '0' && *p <= '9') {
    p++;
  }
  return p[0] == ':' && p[1] == ' ' ? p + 2 : msg;
}

void lx__push_code(lua_State *L, const char *expr, size_t len)
{
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "return (");
  luaL_addlstring(&b, expr, len);
  luaL_addstring(&b, "\n)");
  luaL_pushresult(&b);
}

// ---------------------------------------------------------------------------
// Syntax checks (a bare state: nothing runs)

struct lx_syntax {
  lua_State *L;
};

struct syntax_op {
  const char *expr;
  size_t len;
  const char *chunk_name;  ///< NULL: LX_EXPR_CHUNK, and the prefix is stripped
  struct smf_error *err;
  int rc;
};

static int lx_check_protected(lua_State *L)
{
  struct syntax_op *o = lua_touserdata(L, 1);
  const char *chunk = o->chunk_name != NULL ? o->chunk_name : LX_EXPR_CHUNK;
  if (lx__blank(o->expr, o->len)) {
    o->rc = o->chunk_name != NULL ? SMF_ERR_SET(o->err, SMF_ELUA, "%s: empty expression", chunk)
                                  : SMF_ERR_SET(o->err, SMF_ELUA, "empty expression");
    return 0;
  }
  lx__push_code(L, o->expr, o->len);
  size_t clen = 0;
  const char *code = lua_tolstring(L, -1, &clen);
  const char *name = lua_pushfstring(L, "=%s", chunk);
  if (luaL_loadbufferx(L, code, clen, name, "t") != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    m = m != NULL ? m : "syntax error";
    o->rc = SMF_ERR_SET(o->err, SMF_ELUA, "%s", o->chunk_name != NULL ? m : lx__strip_chunk(m));
  }
  return 0;
}

static int lx_check_one(lua_State *L, struct syntax_op *o)
{
  lua_settop(L, 0);
  lua_pushcfunction(L, lx_check_protected);
  lua_pushlightuserdata(L, o);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    o->rc = SMF_ERR_SET(o->err, SMF_ENOMEM, "not enough memory to check an expression");
  }
  lua_settop(L, 0);
  return o->rc;
}

struct lx_syntax *lx_syntax_new(struct smf_error *err)
{
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    SMF_ERR_SET(err, SMF_ENOMEM, "cannot create a Lua state");
    return NULL;
  }
  struct lx_syntax *c = smf_xmalloc(sizeof(*c));
  c->L = L;
  return c;
}

void lx_syntax_free(struct lx_syntax *c)
{
  if (c != NULL) {
    lua_close(c->L);
    free(c);
  }
}

int lx_syntax_check(struct lx_syntax *c, const char *expr, size_t len, struct smf_error *err)
{
  struct syntax_op o = {expr, len, NULL, err, 0};
  return lx_check_one(c->L, &o);
}

int lx_check_syntax(const char *expr, size_t len, const char *chunk_name, struct smf_error *err)
{
  struct lx_syntax *c = lx_syntax_new(err);
  if (c == NULL) {
    return SMF_ENOMEM;
  }
  struct syntax_op o = {expr, len, chunk_name != NULL ? chunk_name : LX_EXPR_CHUNK, err, 0};
  int rc = lx_check_one(c->L, &o);
  lx_syntax_free(c);
  return rc;
}

int lx_check_template(const char *s, size_t len, const char *chunk_name, size_t *err_off,
                      struct smf_error *err)
{
  struct lx_syntax *c = NULL;
  int rc = 0;
  for (size_t i = lx_template_next(s, len, 0); i != SIZE_MAX; i = lx_template_next(s, len, i)) {
    *err_off = i;
    size_t close = lx_template_close(s, len, i);
    if (close == SIZE_MAX) {
      rc = SMF_ERR_SET(err, SMF_EPARSE, "no closing '}' for '${'");
      goto fail;
    }
    if (c == NULL && (c = lx_syntax_new(err)) == NULL) {
      rc = SMF_ENOMEM;
      goto fail;
    }
    struct syntax_op o = {s + i + 2, close - i - 2, chunk_name != NULL ? chunk_name : LX_EXPR_CHUNK,
                          err, 0};
    if ((rc = lx_check_one(c->L, &o)) != 0) {
      goto fail;
    }
    i = close + 1;
  }
fail:
  lx_syntax_free(c);
  return rc;
}
