// node.c: the value tree — accessors, builders for trees made at run time,
// deep copy, deep merge and canonical JSON output.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/internal.h"

const char *dsl_type_name(enum dsl_type t)
{
  static const char *const names[] = {"null", "boolean", "integer", "float",
                                      "string", "list", "map"};
  return (unsigned)t < SMF_ARRAY_LEN(names) ? names[t] : "?";
}

const struct dsl_node *dsl_map_get(const struct dsl_node *map, const char *key)
{
  if (map == NULL || map->type != DSL_MAP) {
    return NULL;
  }
  for (size_t i = 0; i < map->u.map.n; i++) {
    if (strcmp(map->u.map.pairs[i].key, key) == 0) {
      return map->u.map.pairs[i].value;
    }
  }
  return NULL;
}

const char *dsl_map_str(const struct dsl_node *map, const char *key, const char *dflt)
{
  const struct dsl_node *n = dsl_map_get(map, key);
  return n && n->type == DSL_STR ? n->u.str.s : dflt;
}

int64_t dsl_map_int(const struct dsl_node *map, const char *key, int64_t dflt)
{
  const struct dsl_node *n = dsl_map_get(map, key);
  return n && n->type == DSL_INT ? n->u.i : dflt;
}

bool dsl_map_bool(const struct dsl_node *map, const char *key, bool dflt)
{
  const struct dsl_node *n = dsl_map_get(map, key);
  return n && n->type == DSL_BOOL ? n->u.b : dflt;
}

struct dsl_node *dsl_node_new(struct smf_arena *a, enum dsl_type t)
{
  struct dsl_node *n = smf_arena_alloc(a, sizeof(*n));
  n->type = t;
  if (t == DSL_STR) {
    n->u.str.s = "";
  }
  return n;
}

struct dsl_node *dsl_node_str(struct smf_arena *a, const char *s, size_t len)
{
  struct dsl_node *n = dsl_node_new(a, DSL_STR);
  char *p = smf_arena_strndup(a, s, len);
  n->u.str.s = p;
  n->u.str.len = strlen(p);  // stops at an embedded NUL, as documented
  n->has_expr = dsl__has_expr(p, n->u.str.len);
  return n;
}

struct dsl_node *dsl_node_int(struct smf_arena *a, int64_t v)
{
  struct dsl_node *n = dsl_node_new(a, DSL_INT);
  n->u.i = v;
  return n;
}

struct dsl_node *dsl_node_float(struct smf_arena *a, double v)
{
  struct dsl_node *n = dsl_node_new(a, DSL_FLOAT);
  n->u.f = v;
  return n;
}

struct dsl_node *dsl_node_bool(struct smf_arena *a, bool v)
{
  struct dsl_node *n = dsl_node_new(a, DSL_BOOL);
  n->u.b = v;
  return n;
}

// Arrays of seqs and maps hold capacity(n) slots: 0, then 4, then the next power
// of two, so that pushes double the array only when n reaches a power of two.
static size_t arr_cap(size_t n)
{
  if (n == 0) {
    return 0;
  }
  size_t c = 4;
  while (c < n) {
    c *= 2;
  }
  return c;
}

static void *arr_grow(struct smf_arena *a, void *old, size_t n, size_t elem)
{
  if (n < arr_cap(n)) {
    return old;  // room left
  }
  size_t cap = n == 0 ? 4 : n * 2;
  void *p = smf_arena_alloc(a, cap * elem);
  if (n) {
    memcpy(p, old, n * elem);
  }
  return p;
}

void dsl_seq_push(struct smf_arena *a, struct dsl_node *seq, struct dsl_node *item)
{
  seq->u.seq.items = arr_grow(a, seq->u.seq.items, seq->u.seq.n, sizeof(*seq->u.seq.items));
  seq->u.seq.items[seq->u.seq.n++] = item;
}

void dsl_map_set(struct smf_arena *a, struct dsl_node *map, const char *key, struct dsl_node *value)
{
  for (size_t i = 0; i < map->u.map.n; i++) {
    if (strcmp(map->u.map.pairs[i].key, key) == 0) {
      map->u.map.pairs[i].value = value;
      return;
    }
  }
  map->u.map.pairs = arr_grow(a, map->u.map.pairs, map->u.map.n, sizeof(struct dsl_pair));
  struct dsl_pair *p = &map->u.map.pairs[map->u.map.n++];
  p->key = smf_arena_strdup(a, key);
  p->key_mark = (struct dsl_mark){0, 0};
  p->value = value;
}

struct dsl_node *dsl_node_clone(struct smf_arena *a, const struct dsl_node *n)
{
  struct dsl_node *c = smf_arena_alloc(a, sizeof(*c));
  *c = *n;
  c->text = n->text ? smf_arena_strdup(a, n->text) : NULL;
  c->src = n->src ? smf_arena_strdup(a, n->src) : NULL;
  switch (n->type) {
    case DSL_STR:
      c->u.str.s = smf_arena_strndup(a, n->u.str.s, n->u.str.len);
      break;
    case DSL_SEQ:
      c->u.seq.items = smf_arena_alloc(a, (arr_cap(n->u.seq.n) + 1) * sizeof(*c->u.seq.items));
      for (size_t i = 0; i < n->u.seq.n; i++) {
        c->u.seq.items[i] = dsl_node_clone(a, n->u.seq.items[i]);
      }
      break;
    case DSL_MAP:
      c->u.map.pairs = smf_arena_alloc(a, (arr_cap(n->u.map.n) + 1) * sizeof(struct dsl_pair));
      for (size_t i = 0; i < n->u.map.n; i++) {
        c->u.map.pairs[i] = n->u.map.pairs[i];
        c->u.map.pairs[i].key = smf_arena_strdup(a, n->u.map.pairs[i].key);
        c->u.map.pairs[i].value = dsl_node_clone(a, n->u.map.pairs[i].value);
      }
      break;
    default:
      break;
  }
  return c;
}

struct dsl_node *dsl_node_merge(struct smf_arena *a, const struct dsl_node *base,
                                const struct dsl_node *over)
{
  if (base == NULL) {
    return over ? dsl_node_clone(a, over) : NULL;
  }
  if (over == NULL) {
    return dsl_node_clone(a, base);
  }
  if (base->type != DSL_MAP || over->type != DSL_MAP) {
    return dsl_node_clone(a, over);
  }
  struct dsl_node *m = dsl_node_new(a, DSL_MAP);
  m->mark = over->mark;
  size_t cap = arr_cap(base->u.map.n + over->u.map.n) + 1;
  m->u.map.pairs = smf_arena_alloc(a, cap * sizeof(struct dsl_pair));
  for (size_t i = 0; i < base->u.map.n; i++) {
    const struct dsl_pair *bp = &base->u.map.pairs[i];
    const struct dsl_node *ov = dsl_map_get(over, bp->key);
    struct dsl_pair *p = &m->u.map.pairs[m->u.map.n++];
    *p = *bp;
    p->key = smf_arena_strdup(a, bp->key);
    p->value = ov ? dsl_node_merge(a, bp->value, ov) : dsl_node_clone(a, bp->value);
  }
  for (size_t i = 0; i < over->u.map.n; i++) {
    const struct dsl_pair *op = &over->u.map.pairs[i];
    if (dsl_map_get(base, op->key) != NULL) {
      // Keep the position of the key the user wrote in the step.
      for (size_t j = 0; j < m->u.map.n; j++) {
        if (strcmp(m->u.map.pairs[j].key, op->key) == 0) {
          m->u.map.pairs[j].key_mark = op->key_mark;
        }
      }
      continue;
    }
    struct dsl_pair *p = &m->u.map.pairs[m->u.map.n++];
    *p = *op;
    p->key = smf_arena_strdup(a, op->key);
    p->value = dsl_node_clone(a, op->value);
  }
  return m;
}

// ---- JSON output ----------------------------------------------------------------

// Shortest text that reads back as the same double, laid out as Python's repr().
static void json_float(struct smf_buf *b, double v, bool python)
{
  if (isnan(v) || isinf(v)) {
    smf_buf_puts(b, !python ? "null" : isnan(v) ? "NaN" : v < 0 ? "-Infinity" : "Infinity");
    return;
  }
  char tmp[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
    if (strtod(tmp, NULL) == v) {
      break;
    }
  }
  // tmp = [-]D[.DDD]e[+-]XX: split into digits and exponent.
  char digits[24];
  size_t nd = 0;
  const char *p = tmp;
  bool neg = *p == '-';
  if (neg) {
    p++;
  }
  for (; *p && *p != 'e'; p++) {
    if (*p != '.') {
      digits[nd++] = *p;
    }
  }
  int exp = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') {
    nd--;
  }
  digits[nd] = '\0';
  if (neg) {
    smf_buf_puts(b, "-");
  }
  if (exp < -4 || exp >= 16) {
    smf_buf_printf(b, "%c", digits[0]);
    if (nd > 1) {
      smf_buf_printf(b, ".%s", digits + 1);
    }
    smf_buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  } else if (exp < 0) {
    smf_buf_puts(b, "0.");
    for (int i = -1; i > exp; i--) {
      smf_buf_puts(b, "0");
    }
    smf_buf_puts(b, digits);
  } else {
    for (int i = 0; i <= exp; i++) {
      smf_buf_printf(b, "%c", (size_t)i < nd ? digits[i] : '0');
    }
    smf_buf_puts(b, ".");
    smf_buf_puts(b, (size_t)exp + 1 < nd ? digits + exp + 1 : "0");
  }
}

static void json_string(struct smf_buf *b, const char *s, size_t len, bool ascii)
{
  smf_buf_puts(b, "\"");
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len; i++) {
    unsigned c = u[i];
    switch (c) {
      case '"': smf_buf_puts(b, "\\\""); continue;
      case '\\': smf_buf_puts(b, "\\\\"); continue;
      case '\n': smf_buf_puts(b, "\\n"); continue;
      case '\r': smf_buf_puts(b, "\\r"); continue;
      case '\t': smf_buf_puts(b, "\\t"); continue;
      case '\b': smf_buf_puts(b, "\\b"); continue;
      case '\f': smf_buf_puts(b, "\\f"); continue;
      default: break;
    }
    if (c < 0x20 || (ascii && c == 0x7f)) {
      smf_buf_printf(b, "\\u%04x", c);
    } else if (c < 0x80 || !ascii) {
      smf_buf_append(b, &u[i], 1);
    } else {
      // Decode one UTF-8 sequence (the loader checked the bytes) and escape it.
      size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
      unsigned cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
      for (size_t k = 1; k < n && i + k < len; k++) {
        cp = (cp << 6) | (u[i + k] & 0x3F);
      }
      i += n - 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        smf_buf_printf(b, "\\ud%03x\\ud%03x", 0x800 | (cp >> 10), 0xC00 | (cp & 0x3FF));
      } else {
        smf_buf_printf(b, "\\u%04x", cp);
      }
    }
  }
  smf_buf_puts(b, "\"");
}

static void json_node(struct smf_buf *b, const struct dsl_node *n, unsigned flags)
{
  bool py = flags & DSL_JSON_PYTHON;
  const char *comma = py ? ", " : ",", *colon = py ? ": " : ":";
  switch (n->type) {
    case DSL_NULL: smf_buf_puts(b, "null"); break;
    case DSL_BOOL: smf_buf_puts(b, n->u.b ? "true" : "false"); break;
    case DSL_INT: smf_buf_printf(b, "%lld", (long long)n->u.i); break;
    case DSL_FLOAT: json_float(b, n->u.f, py); break;
    case DSL_STR: json_string(b, n->u.str.s, n->u.str.len, py); break;
    case DSL_SEQ:
      smf_buf_puts(b, "[");
      for (size_t i = 0; i < n->u.seq.n; i++) {
        smf_buf_puts(b, i ? comma : "");
        json_node(b, n->u.seq.items[i], flags);
      }
      smf_buf_puts(b, "]");
      break;
    case DSL_MAP:
      smf_buf_puts(b, "{");
      for (size_t i = 0; i < n->u.map.n; i++) {
        smf_buf_puts(b, i ? comma : "");
        const char *k = n->u.map.pairs[i].key;
        json_string(b, k, strlen(k), py);
        smf_buf_puts(b, colon);
        json_node(b, n->u.map.pairs[i].value, flags);
      }
      smf_buf_puts(b, "}");
      break;
  }
}

char *dsl_node_to_json_flags(const struct dsl_node *n, unsigned flags)
{
  struct smf_buf b = SMF_BUF_INIT;
  if (n == NULL) {
    return smf_xstrdup("null");
  }
  json_node(&b, n, flags);
  return smf_buf_steal(&b);
}

char *dsl_node_to_json(const struct dsl_node *n)
{
  return dsl_node_to_json_flags(n, 0);
}
