// expr.c: `${...}` scanning. Finds each expression in a string, checks that its
// braces balance, compiles it with Lua ("return (EXPR)", text only) to report
// syntax errors at the expression's own line:col, and reports `steps.X` /
// `steps["X"]` references so that the validator can check them against `needs`
// (and `params.X` / `vars.X` ones, checked against the declared names).
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/internal.h"

size_t *dsl__line_table(const char *text, size_t len, size_t *n_lines)
{
  size_t cap = 64, n = 0;
  size_t *off = smf_xmalloc(cap * sizeof(*off));
  off[n++] = 0;
  for (size_t i = 0; i < len; i++) {
    bool brk = text[i] == '\n' || (text[i] == '\r' && (i + 1 >= len || text[i + 1] != '\n'));
    if (!brk) {
      continue;
    }
    if (n == cap) {
      cap *= 2;
      off = smf_xrealloc(off, cap * sizeof(*off));
    }
    off[n++] = i + 1;
  }
  *n_lines = n;
  return off;
}

const char *dsl__expr_compile(lua_State *L, const char *expr, size_t len)
{
  static char msg[512];
  struct smf_buf b = SMF_BUF_INIT;
  smf_buf_puts(&b, "return (");
  smf_buf_append(&b, expr, len);
  smf_buf_puts(&b, "\n)");
  int rc = luaL_loadbufferx(L, b.data, b.len, "=expr", "t");
  smf_buf_free(&b);
  if (rc == LUA_OK) {
    lua_pop(L, 1);
    return NULL;
  }
  const char *m = lua_tostring(L, -1);
  m = m ? m : "syntax error";
  // Drop Lua's "expr:LINE: " prefix: the position is ours.
  if (strncmp(m, "expr:", 5) == 0) {
    const char *p = m + 5;
    while (isdigit((unsigned char)*p)) {
      p++;
    }
    if (*p == ':' && p[1] == ' ') {
      m = p + 2;
    }
  }
  snprintf(msg, sizeof(msg), "%s", m);
  lua_pop(L, 1);
  return msg;
}

// Byte offset of a 1-based line:col in the file, or SIZE_MAX.
static size_t src_offset(const struct dsl_expr_ctx *x, struct dsl_mark m)
{
  if (x->text == NULL || m.line == 0 || m.line > x->n_lines) {
    return SIZE_MAX;
  }
  size_t p = x->line_off[m.line - 1];
  for (unsigned c = 1; c < m.col; c++) {
    if (p >= x->len) {
      return SIZE_MAX;
    }
    p++;
    while (p < x->len && ((unsigned char)x->text[p] & 0xC0) == 0x80) {
      p++;
    }
  }
  return p;
}

// Position of the k-th (0-based) `${` of a scalar: found in its source line for
// plain and quoted one-line scalars, else the scalar's own mark.
static struct dsl_mark expr_mark(const struct dsl_expr_ctx *x, const struct dsl_node *n, size_t k)
{
  size_t p0 = src_offset(x, n->mark);
  if (p0 == SIZE_MAX) {
    return n->mark;
  }
  char q = x->text[p0];
  if (n->quoted && q != '"' && q != '\'') {
    return n->mark;  // block scalar
  }
  size_t start = n->quoted ? p0 + 1 : p0;
  size_t eol = start;
  while (eol < x->len && x->text[eol] != '\n' && x->text[eol] != '\r') {
    eol++;
  }
  size_t p = dsl__expr_next(x->text, eol, start);
  for (; p != SIZE_MAX && k > 0; k--) {
    p = dsl__expr_next(x->text, eol, p + 2);
  }
  if (p == SIZE_MAX) {
    return n->mark;
  }
  struct dsl_mark m = n->mark;
  for (size_t i = p0; i < p; i++) {
    if (((unsigned char)x->text[i] & 0xC0) != 0x80) {
      m.col++;
    }
  }
  return m;
}

// Skip a Lua string literal starting at s[i] (a quote or a long bracket).
static size_t skip_lua_string(const char *s, size_t len, size_t i)
{
  char q = s[i];
  if (q == '[') {
    size_t lvl = 0, j = i + 1;
    while (j < len && s[j] == '=') {
      j++, lvl++;
    }
    if (j >= len || s[j] != '[') {
      return i + 1;
    }
    for (j++; j < len; j++) {
      if (s[j] != ']') {
        continue;
      }
      size_t k = j + 1, e = 0;
      while (k < len && s[k] == '=') {
        k++, e++;
      }
      if (e == lvl && k < len && s[k] == ']') {
        return k + 1;
      }
    }
    return len;
  }
  for (size_t j = i + 1; j < len; j++) {
    if (s[j] == '\\') {
      j++;
    } else if (s[j] == q) {
      return j + 1;
    }
  }
  return len;
}

static bool ident_char(char c)
{
  return isalnum((unsigned char)c) || c == '_';
}

// After a root name at s[i]: the field of `.NAME` or `["NAME"]`, or false.
static bool ref_field(const char *s, size_t len, size_t j, const char **name, size_t *nlen)
{
  while (j < len && isspace((unsigned char)s[j])) {
    j++;
  }
  if (j < len && s[j] == '.') {
    j++;
    while (j < len && isspace((unsigned char)s[j])) {
      j++;
    }
    size_t a = j;
    while (j < len && ident_char(s[j])) {
      j++;
    }
    *name = s + a;
    *nlen = j - a;
    return j > a;
  }
  if (j < len && s[j] == '[') {
    j++;
    while (j < len && isspace((unsigned char)s[j])) {
      j++;
    }
    if (j < len && (s[j] == '"' || s[j] == '\'')) {
      size_t e = skip_lua_string(s, len, j);
      if (e <= len && e >= j + 2 && s[e - 1] == s[j]) {
        *name = s + j + 1;
        *nlen = e - j - 2;
        return true;
      }
    }
  }
  return false;
}

static bool is_word(const char *s, size_t len, const char *w)
{
  return strlen(w) == len && memcmp(s, w, len) == 0;
}

// Report `steps.NAME`, `params.NAME`, `vars.NAME` (and `ROOT["NAME"]`) in one expression.
static void scan_refs(struct dsl_expr_ctx *x, const char *s, size_t len, struct dsl_mark m)
{
  for (size_t i = 0; i < len;) {
    char c = s[i];
    if (c == '"' || c == '\'' || (c == '[' && i + 1 < len && (s[i + 1] == '[' || s[i + 1] == '='))) {
      i = skip_lua_string(s, len, i);
      continue;
    }
    if (c == '-' && i + 1 < len && s[i + 1] == '-') {
      while (i < len && s[i] != '\n') {
        i++;
      }
      continue;
    }
    if (!ident_char(c)) {
      i++;
      continue;
    }
    size_t st = i;
    while (i < len && ident_char(s[i])) {
      i++;
    }
    bool field = st > 0 && (s[st - 1] == '.' || s[st - 1] == ':');
    const char *name;
    size_t nlen;
    if (field || !ref_field(s, len, i, &name, &nlen)) {
      continue;
    }
    if (is_word(s + st, i - st, "steps")) {
      if (x->on_ref) {
        x->on_ref(x->ud, name, nlen, m);
      }
    } else if (is_word(s + st, i - st, "params") || is_word(s + st, i - st, "vars")) {
      if (x->on_name) {
        x->on_name(x->ud, s[st] == 'p' ? "params" : "vars", name, nlen, m);
      }
    }
  }
}

size_t dsl__expr_next(const char *s, size_t len, size_t i)
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

bool dsl__has_expr(const char *s, size_t len)
{
  return dsl__expr_next(s, len, 0) != SIZE_MAX;
}

size_t dsl__expr_end(const char *s, size_t len, size_t i)
{
  int depth = 1;
  for (size_t j = i + 2; j < len;) {
    char c = s[j];
    if (c == '"' || c == '\'' || (c == '[' && j + 1 < len && (s[j + 1] == '[' || s[j + 1] == '='))) {
      j = skip_lua_string(s, len, j);
    } else if (c == '-' && j + 1 < len && s[j + 1] == '-') {
      if (j + 2 < len && s[j + 2] == '[' && skip_lua_string(s, len, j + 2) != j + 3) {
        j = skip_lua_string(s, len, j + 2);  // --[[ long comment ]]
      } else {
        while (j < len && s[j] != '\n') {
          j++;
        }
      }
    } else if (c == '{') {
      depth++, j++;
    } else if (c == '}') {
      if (--depth == 0) {
        return j;
      }
      j++;
    } else {
      j++;
    }
  }
  return SIZE_MAX;
}

static void check_one(struct dsl_expr_ctx *x, const char *e, size_t elen, struct dsl_mark m)
{
  size_t a = 0, b = elen;
  while (a < b && isspace((unsigned char)e[a])) {
    a++;
  }
  while (b > a && isspace((unsigned char)e[b - 1])) {
    b--;
  }
  if (a == b) {
    dsl_diags_add(x->d, x->path, m, "%sempty expression '${}'", x->prefix);
    return;
  }
  const char *err = dsl__expr_compile(x->L, e + a, b - a);
  if (err) {
    dsl_diags_add(x->d, x->path, m, "%sinvalid expression '%.*s': %s", x->prefix, (int)(b - a),
                  e + a, err);
    return;
  }
  scan_refs(x, e + a, b - a, m);
}

void dsl__expr_scan_string(struct dsl_expr_ctx *x, const struct dsl_node *n)
{
  const char *s = n->u.str.s;
  size_t len = n->u.str.len;
  size_t k = 0;
  for (size_t i = dsl__expr_next(s, len, 0); i != SIZE_MAX; i = dsl__expr_next(s, len, i)) {
    struct dsl_mark m = expr_mark(x, n, k++);
    size_t end = dsl__expr_end(s, len, i);
    if (end == SIZE_MAX) {
      dsl_diags_add(x->d, x->path, m, "%sunterminated '${' (missing '}')", x->prefix);
      return;
    }
    check_one(x, s + i + 2, end - i - 2, m);
    i = end + 1;
  }
}

void dsl__expr_check_bare(struct dsl_expr_ctx *x, const struct dsl_node *n)
{
  if (n->has_expr) {
    dsl_diags_add(x->d, x->path, n->mark,
                  "%swhen: is a bare Lua expression; write it without '${...}'", x->prefix);
    return;
  }
  size_t k = 0;
  while (k < n->u.str.len && isspace((unsigned char)n->u.str.s[k])) {
    k++;
  }
  if (k == n->u.str.len) {
    dsl_diags_add(x->d, x->path, n->mark,
                  "%swhen: is empty; write a Lua expression (e.g. params.go) or true/false",
                  x->prefix);
    return;
  }
  check_one(x, n->u.str.s, n->u.str.len, n->mark);
}

void dsl__expr_scan_tree(struct dsl_expr_ctx *x, const struct dsl_node *n)
{
  switch (n->type) {
    case DSL_STR:
      if (n->has_expr) {
        dsl__expr_scan_string(x, n);
      }
      break;
    case DSL_SEQ:
      for (size_t i = 0; i < n->u.seq.n; i++) {
        dsl__expr_scan_tree(x, n->u.seq.items[i]);
      }
      break;
    case DSL_MAP:
      for (size_t i = 0; i < n->u.map.n; i++) {
        dsl__expr_scan_tree(x, n->u.map.pairs[i].value);
      }
      break;
    default:
      break;
  }
}
