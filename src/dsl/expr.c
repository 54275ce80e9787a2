// expr.c: `${...}` checks. Finds each expression in a string with the runtime's
// scanner (lx_template_next / lx_template_close), checks that its braces balance,
// compiles it with lx_syntax_check to report syntax errors at the expression's own
// line:col, and reports `steps.X` / `steps["X"]` references so that the validator
// can check them against `needs` (and `params.X`, `vars.X`, `run.X`, `git.X`,
// `aws.X` ones, checked against the declared or documented names).
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/internal.h"
#include "smflow/lx.h"

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
  size_t p = lx_template_next(x->text, eol, start);
  for (; p != SIZE_MAX && k > 0; k--) {
    p = lx_template_next(x->text, eol, p + 2);
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

static bool ident_char(char c)
{
  return isalnum((unsigned char)c) || c == '_';
}

// After a root name ending at s[j]: the field of `.NAME` or `["NAME"]`, or false.
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
      size_t e = lx_skip_lua_token(s, len, j);
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

// Report `steps.NAME`, `params.NAME`, `vars.NAME`, `run.NAME`, `git.NAME`, `aws.NAME`
// (and `ROOT["NAME"]`) in one expression.
static void scan_refs(struct dsl_expr_ctx *x, const char *s, size_t len, struct dsl_mark m)
{
  for (size_t i = 0; i < len;) {
    size_t next = lx_skip_lua_token(s, len, i);
    if (next != i) {
      i = next;  // a string, long bracket or comment
      continue;
    }
    if (!ident_char(s[i])) {
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
    } else if (x->on_name != NULL) {
      static const char *const roots[] = {"params", "vars", "run", "git", "aws"};
      for (size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++) {
        if (is_word(s + st, i - st, roots[r])) {
          x->on_name(x->ud, roots[r], name, nlen, m);
        }
      }
    }
  }
}

bool dsl__has_expr(const char *s, size_t len)
{
  return lx_template_next(s, len, 0) != SIZE_MAX;
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
  struct smf_error err = SMF_ERROR_INIT;
  if (x->syn != NULL && lx_syntax_check(x->syn, e + a, b - a, &err) != 0) {
    dsl_diags_add(x->d, x->path, m, "%sinvalid expression '%.*s': %s", x->prefix, (int)(b - a),
                  e + a, err.message);
    return;
  }
  scan_refs(x, e + a, b - a, m);
}

void dsl__expr_scan_string(struct dsl_expr_ctx *x, const struct dsl_node *n)
{
  const char *s = n->u.str.s;
  size_t len = n->u.str.len;
  size_t k = 0;
  for (size_t i = lx_template_next(s, len, 0); i != SIZE_MAX; i = lx_template_next(s, len, i)) {
    struct dsl_mark m = expr_mark(x, n, k++);
    size_t end = lx_template_close(s, len, i);
    if (end == SIZE_MAX) {
      dsl_diags_add(x->d, x->path, m, "%sunterminated '${' (missing '}')", x->prefix);
      return;
    }
    if (end >= i + 4 && s[i + 2] == '{' && s[end - 1] == '}') {
      // `${{ params.x }}`: GitHub Actions' syntax, which Lua reads as a table constructor.
      dsl_diags_add(x->d, x->path, m,
                    "%s'${{ ... }}' is GitHub Actions' syntax; smflow writes '${ EXPR }' with "
                    "one brace (for a Lua table, put a space: '${ {...} }')",
                    x->prefix);
      i = end + 1;
      continue;
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
