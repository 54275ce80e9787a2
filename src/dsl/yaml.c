// yaml.c: the libyaml event reader. Builds the value tree with the 1-based
// line:col of every node, types plain scalars by the YAML 1.2 core schema,
// resolves anchors, aliases and merge keys (`<<`), and rejects what libyaml lets
// through: duplicate keys, several documents, invalid UTF-8 and alias bombs.
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "dsl/internal.h"
#include "smflow/error.h"

// Deepest nesting accepted; deeper input is refused instead of recursing on.
#define YAML_MAX_DEPTH 256

struct yanchor {
  const char *name;
  struct dsl_node *node;
  size_t weight;  ///< node count of the anchored tree once expanded
};

struct yreader {
  struct smf_arena *a;
  const char *path;
  struct dsl_diags *d;
  yaml_parser_t p;
  yaml_event_t ev;  ///< the current event (owned until the next yr_next)
  bool have_ev;
  bool failed;      ///< a fatal error was reported: stop
  struct yanchor *anchors;
  size_t n_anchors, cap_anchors;
  size_t expanded, limit;  ///< nodes after alias expansion, and the cap
  const char *text;        ///< the document's bytes (for the source of quoted scalars)
  size_t len;
  size_t *line_off;        ///< byte offset of each line start (index 0 = line 1)
  size_t n_lines;
};

static struct dsl_node *yr_node(struct yreader *r, unsigned depth, size_t *weight);
static size_t yr_offset(const struct yreader *r, yaml_mark_t m);

static struct dsl_mark yr_mark(yaml_mark_t m)
{
  struct dsl_mark k = {(unsigned)m.line + 1, (unsigned)m.column + 1};
  return k;
}

static void yr_fatal_libyaml(struct yreader *r)
{
  if (r->failed) {
    return;
  }
  r->failed = true;
  const char *problem = r->p.problem ? r->p.problem : "invalid YAML";
  struct dsl_mark m = yr_mark(r->p.problem_mark);
  size_t at = yr_offset(r, r->p.problem_mark);
  if (at != SIZE_MAX && at < r->len && r->text[at] == '\t') {
    dsl_diags_add(r->d, r->path, m,
                  "YAML syntax error: a tab character here; YAML indents with spaces only");
  } else if (r->p.context) {
    dsl_diags_add(r->d, r->path, m, "YAML syntax error: %s %s", problem, r->p.context);
  } else {
    dsl_diags_add(r->d, r->path, m, "YAML syntax error: %s", problem);
  }
}

// Advance to the next event; false on a libyaml error (reported).
static bool yr_next(struct yreader *r)
{
  if (r->have_ev) {
    yaml_event_delete(&r->ev);
    r->have_ev = false;
  }
  if (r->failed) {
    return false;
  }
  if (!yaml_parser_parse(&r->p, &r->ev)) {
    yr_fatal_libyaml(r);
    return false;
  }
  r->have_ev = true;
  return true;
}

static bool is_one_of(const char *s, const char *const *list)
{
  for (; *list; list++) {
    if (strcmp(s, *list) == 0) {
      return true;
    }
  }
  return false;
}

static bool all_in(const char *s, const char *set)
{
  if (*s == '\0') {
    return false;
  }
  for (; *s; s++) {
    if (strchr(set, *s) == NULL) {
      return false;
    }
  }
  return true;
}

// YAML 1.2 core schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
static bool is_core_float(const char *s)
{
  if (*s == '-' || *s == '+') {
    s++;
  }
  size_t digits = 0;
  while (*s >= '0' && *s <= '9') {
    s++, digits++;
  }
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') {
      s++, digits++;
    }
  }
  if (digits == 0) {
    return false;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+') {
      s++;
    }
    if (!(*s >= '0' && *s <= '9')) {
      return false;
    }
    while (*s >= '0' && *s <= '9') {
      s++;
    }
  }
  return *s == '\0';
}

// Type a plain scalar in place (node->text already set).
void dsl__type_plain(struct dsl_node *n, const char *s)
{
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
  static const char *const trues[] = {"true", "True", "TRUE", NULL};
  static const char *const falses[] = {"false", "False", "FALSE", NULL};
  static const char *const infs[] = {".inf", ".Inf", ".INF", NULL};
  static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
  if (is_one_of(s, nulls)) {
    n->type = DSL_NULL;
    return;
  }
  if (is_one_of(s, trues) || is_one_of(s, falses)) {
    n->type = DSL_BOOL;
    n->u.b = s[0] == 't' || s[0] == 'T';
    return;
  }
  const char *body = (*s == '-' || *s == '+') ? s + 1 : s;
  int base = 0;
  const char *digits = NULL;
  if (all_in(body, "0123456789")) {
    base = 10, digits = s;
  } else if (s[0] == '0' && s[1] == 'o' && all_in(s + 2, "01234567")) {
    base = 8, digits = s + 2;
  } else if (s[0] == '0' && s[1] == 'x' && all_in(s + 2, "0123456789abcdefABCDEF")) {
    base = 16, digits = s + 2;
  }
  if (base) {
    errno = 0;
    long long v = strtoll(digits, NULL, base);
    if (errno == 0) {
      n->type = DSL_INT;
      n->u.i = v;
      return;
    }
    // Out of int64 range: keep the magnitude as a float (documented), in the
    // scalar's own base (strtod would read octal digits as decimal and stop at hex).
    double f = 0;
    for (const char *c = digits; *c; c++) {
      int d = *c <= '9' ? *c - '0' : (*c | 0x20) - 'a' + 10;
      if (d >= 0 && d < base) {
        f = f * base + d;
      }
    }
    n->type = DSL_FLOAT;
    n->u.f = *s == '-' ? -f : f;
    return;
  }
  if (is_one_of(body, infs)) {
    n->type = DSL_FLOAT;
    n->u.f = *s == '-' ? -INFINITY : INFINITY;
    return;
  }
  if (is_one_of(s, nans)) {
    n->type = DSL_FLOAT;
    n->u.f = NAN;
    return;
  }
  if (is_core_float(s)) {
    n->type = DSL_FLOAT;
    n->u.f = strtod(s, NULL);
    return;
  }
  n->type = DSL_STR;
}

static void yr_set_str(struct dsl_node *n, const char *s, size_t len)
{
  n->type = DSL_STR;
  n->u.str.s = s;
  n->u.str.len = len;
  n->has_expr = dsl__has_expr(s, len);
}

// Byte offset of a 0-based libyaml mark (line, column in characters), or SIZE_MAX.
static size_t yr_offset(const struct yreader *r, yaml_mark_t m)
{
  if (m.line >= r->n_lines) {
    return SIZE_MAX;
  }
  size_t p = r->line_off[m.line];
  for (size_t c = 0; c < m.column; c++) {
    if (p >= r->len) {
      return SIZE_MAX;
    }
    p++;
    while (p < r->len && ((unsigned char)r->text[p] & 0xC0) == 0x80) {
      p++;
    }
  }
  return p;
}

// For a one-line quoted scalar whose written text differs from its value (escapes):
// that text, between the quotes. Else NULL.
static const char *yr_quoted_src(struct yreader *r, const char *val, size_t len)
{
  yaml_event_t *e = &r->ev;
  yaml_scalar_style_t st = e->data.scalar.style;
  if ((st != YAML_SINGLE_QUOTED_SCALAR_STYLE && st != YAML_DOUBLE_QUOTED_SCALAR_STYLE) ||
      e->start_mark.line != e->end_mark.line || r->text == NULL) {
    return NULL;
  }
  size_t a = yr_offset(r, e->start_mark), b = yr_offset(r, e->end_mark);
  if (a == SIZE_MAX || b == SIZE_MAX || b < a + 2) {
    return NULL;
  }
  const char *w = r->text + a + 1;
  size_t wlen = b - a - 2;
  if (wlen == len && memcmp(w, val, len) == 0) {
    return NULL;
  }
  return smf_arena_strndup(r->a, w, wlen);
}

static bool yr_core_tag(const char *tag)
{
  return strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_FLOAT_TAG) == 0 ||
         strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_NULL_TAG) == 0;
}

// An explicit `!!int`, `!!float`, `!!bool` or `!!null` (quoted or not): the text must
// read as that type under the core schema (an integer is fine for `!!float`).
static void yr_tagged(struct yreader *r, struct dsl_node *n, const char *tag, const char *s)
{
  static const struct {
    const char *tag, *name;
    enum dsl_type type;
  } tags[] = {{YAML_INT_TAG, "int", DSL_INT},
              {YAML_FLOAT_TAG, "float", DSL_FLOAT},
              {YAML_BOOL_TAG, "bool", DSL_BOOL},
              {YAML_NULL_TAG, "null", DSL_NULL}};
  size_t k = 0;
  while (strcmp(tags[k].tag, tag) != 0) {
    k++;
  }
  dsl__type_plain(n, s);
  if (tags[k].type == DSL_FLOAT && n->type == DSL_INT) {
    n->type = DSL_FLOAT;
    n->u.f = (double)n->u.i;
  }
  if (n->type != tags[k].type) {
    dsl_diags_add(r->d, r->path, n->mark, "'!!%s %s': the text is not a YAML %s", tags[k].name,
                  s, tags[k].name);
    n->type = DSL_STR;
  }
}

static struct dsl_node *yr_scalar(struct yreader *r, size_t *weight)
{
  yaml_event_t *e = &r->ev;
  size_t len = e->data.scalar.length;
  const char *val = (const char *)e->data.scalar.value;
  struct dsl_node *n = dsl_node_new(r->a, DSL_STR);
  n->mark = yr_mark(e->start_mark);
  if (memchr(val, '\0', len) != NULL) {
    dsl_diags_add(r->d, r->path, n->mark, "strings may not contain NUL characters");
    len = strlen(val);
  }
  char *s = smf_arena_strndup(r->a, val, len);
  n->text = s;
  n->src = yr_quoted_src(r, s, len);
  const char *tag = (const char *)e->data.scalar.tag;
  bool plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  n->quoted = !plain;
  if (tag != NULL && yr_core_tag(tag)) {
    yr_tagged(r, n, tag, s);
  } else if (plain && (tag == NULL || strcmp(tag, "!") != 0) &&
             (tag == NULL || strcmp(tag, YAML_STR_TAG) != 0)) {
    dsl__type_plain(n, s);
  }
  if (n->type == DSL_STR) {
    yr_set_str(n, s, len);
  }
  *weight = 1;
  return n;
}

static struct yanchor *yr_find_anchor(struct yreader *r, const char *name)
{
  for (size_t i = r->n_anchors; i-- > 0;) {  // newest definition wins
    if (strcmp(r->anchors[i].name, name) == 0) {
      return &r->anchors[i];
    }
  }
  return NULL;
}

static void yr_add_anchor(struct yreader *r, const char *name, struct dsl_node *n, size_t w)
{
  if (r->n_anchors == r->cap_anchors) {
    r->cap_anchors = r->cap_anchors ? r->cap_anchors * 2 : 16;
    r->anchors = smf_xrealloc(r->anchors, r->cap_anchors * sizeof(*r->anchors));
  }
  struct yanchor *an = &r->anchors[r->n_anchors++];
  an->name = smf_arena_strdup(r->a, name);
  an->node = n;
  an->weight = w;
}

static struct dsl_node *yr_alias(struct yreader *r, size_t *weight)
{
  const char *name = (const char *)r->ev.data.alias.anchor;
  struct yanchor *an = yr_find_anchor(r, name);
  if (an == NULL) {
    dsl_diags_add(r->d, r->path, yr_mark(r->ev.start_mark), "unknown anchor '%s'", name);
    *weight = 1;
    struct dsl_node *n = dsl_node_new(r->a, DSL_NULL);
    n->mark = yr_mark(r->ev.start_mark);
    return n;
  }
  r->expanded += an->weight;
  if (r->expanded > r->limit && !r->failed) {
    r->failed = true;
    dsl_diags_add(r->d, r->path, yr_mark(r->ev.start_mark),
                  "aliases expand to more than %zu nodes (alias bomb?)", r->limit);
  }
  *weight = an->weight;
  return an->node;
}

static struct dsl_node *yr_seq(struct yreader *r, unsigned depth, size_t *weight)
{
  struct dsl_node *n = dsl_node_new(r->a, DSL_SEQ);
  n->mark = yr_mark(r->ev.start_mark);
  *weight = 1;
  for (;;) {
    if (!yr_next(r)) {
      return n;
    }
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) {
      return n;
    }
    size_t w = 0;
    struct dsl_node *item = yr_node(r, depth + 1, &w);
    if (item == NULL) {
      return n;
    }
    *weight += w;
    dsl_seq_push(r->a, n, item);
  }
}

// Pairs gathered while reading one map, before merge keys are applied.
struct ypairs {
  struct dsl_pair *v;
  size_t n, cap;
};

static void ypairs_push(struct ypairs *p, const char *key, struct dsl_mark km, struct dsl_node *val)
{
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 8;
    p->v = smf_xrealloc(p->v, p->cap * sizeof(*p->v));
  }
  p->v[p->n].key = key;
  p->v[p->n].key_mark = km;
  p->v[p->n].value = val;
  p->n++;
}

// Apply `<<` entries: explicit keys win, earlier merge sources win over later ones.
static void yr_apply_merges(struct yreader *r, struct ypairs *in, const bool *is_merge,
                            struct dsl_node *map)
{
  struct ypairs out = {0};
  struct dsl_keyset seen = {0};
  for (size_t i = 0; i < in->n; i++) {
    if (!is_merge[i]) {
      dsl__keyset_put(&seen, in->v[i].key, i, NULL);
    }
  }
  for (size_t i = 0; i < in->n; i++) {
    const struct dsl_node *v = in->v[i].value;
    if (!is_merge[i]) {
      ypairs_push(&out, in->v[i].key, in->v[i].key_mark, in->v[i].value);
      continue;
    }
    // Keys of merge sources: skip any explicit key or one already merged.
    const struct dsl_node *srcs[1] = {v};
    const struct dsl_node *const *list = srcs;
    size_t nsrc = 1;
    if (v->type == DSL_SEQ) {
      list = (const struct dsl_node *const *)v->u.seq.items;
      nsrc = v->u.seq.n;
    }
    for (size_t k = 0; k < nsrc; k++) {
      if (list[k]->type != DSL_MAP) {
        dsl_diags_add(r->d, r->path, list[k]->mark,
                      "merge key '<<' expects a map or a list of maps, got %s",
                      dsl__a_type(list[k]->type));
        continue;
      }
      for (size_t j = 0; j < list[k]->u.map.n; j++) {
        const struct dsl_pair *pr = &list[k]->u.map.pairs[j];
        if (dsl__keyset_get(&seen, pr->key, NULL)) {
          continue;
        }
        dsl__keyset_put(&seen, pr->key, 0, NULL);
        ypairs_push(&out, pr->key, pr->key_mark, pr->value);
      }
    }
  }
  map->u.map.pairs = smf_arena_alloc(r->a, (out.n ? out.n : 1) * sizeof(struct dsl_pair));
  if (out.n) {
    memcpy(map->u.map.pairs, out.v, out.n * sizeof(struct dsl_pair));
  }
  map->u.map.n = out.n;
  free(out.v);
  dsl__keyset_free(&seen);
}

// Read one key; NULL at the end of the map or on error.
static const char *yr_key(struct yreader *r, unsigned depth, struct dsl_mark *km, bool *merge)
{
  *km = yr_mark(r->ev.start_mark);
  *merge = false;
  if (r->ev.type == YAML_SCALAR_EVENT) {
    *merge = r->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
             strcmp((const char *)r->ev.data.scalar.value, "<<") == 0;
    size_t w;
    struct dsl_node *k = yr_scalar(r, &w);
    return k->text;
  }
  size_t w = 0;
  struct dsl_node *k = yr_node(r, depth + 1, &w);
  if (k == NULL) {
    return NULL;
  }
  if (k->text != NULL) {  // an alias of a scalar
    return k->text;
  }
  dsl_diags_add(r->d, r->path, *km, "mapping keys must be scalars, got %s", dsl__a_type(k->type));
  return NULL;
}

static struct dsl_node *yr_map(struct yreader *r, unsigned depth, size_t *weight)
{
  struct dsl_node *n = dsl_node_new(r->a, DSL_MAP);
  n->mark = yr_mark(r->ev.start_mark);
  *weight = 1;
  struct ypairs in = {0};
  bool *is_merge = NULL;
  bool any_merge = false;
  struct dsl_keyset keys = {0};
  for (;;) {
    if (!yr_next(r) || r->ev.type == YAML_MAPPING_END_EVENT) {
      break;
    }
    struct dsl_mark km;
    bool merge;
    const char *key = yr_key(r, depth, &km, &merge);
    if (r->failed || !yr_next(r)) {
      break;
    }
    size_t w = 0;
    struct dsl_node *val = yr_node(r, depth + 1, &w);
    if (val == NULL) {
      break;
    }
    if (key == NULL) {
      continue;  // a non-scalar key, reported
    }
    *weight += w;
    if (!merge) {
      bool found = false;
      size_t first = dsl__keyset_put(&keys, key, in.n, &found);
      if (found) {
        dsl_diags_add(r->d, r->path, km, "duplicate key '%s' (first defined at line %u)", key,
                      in.v[first].key_mark.line);
        continue;
      }
    } else if (val->type != DSL_MAP && val->type != DSL_SEQ) {
      dsl_diags_add(r->d, r->path, val->mark,
                    "merge key '<<' expects a map or a list of maps, got %s",
                    dsl__a_type(val->type));
      continue;
    }
    is_merge = smf_xrealloc(is_merge, (in.n + 1) * sizeof(bool));
    is_merge[in.n] = merge;
    any_merge |= merge;
    ypairs_push(&in, key, km, val);
  }
  if (any_merge) {
    yr_apply_merges(r, &in, is_merge, n);
  } else {
    n->u.map.pairs = smf_arena_alloc(r->a, (in.n ? in.n : 1) * sizeof(struct dsl_pair));
    if (in.n) {
      memcpy(n->u.map.pairs, in.v, in.n * sizeof(struct dsl_pair));
    }
    n->u.map.n = in.n;
  }
  free(in.v);
  free(is_merge);
  dsl__keyset_free(&keys);
  return n;
}

// Build the node of the current event (a node-start event). NULL on fatal error.
static struct dsl_node *yr_node(struct yreader *r, unsigned depth, size_t *weight)
{
  if (r->failed) {
    return NULL;
  }
  if (depth > YAML_MAX_DEPTH) {
    r->failed = true;
    dsl_diags_add(r->d, r->path, yr_mark(r->ev.start_mark), "nesting deeper than %d levels",
                  YAML_MAX_DEPTH);
    return NULL;
  }
  const char *anchor = NULL;
  struct dsl_node *n = NULL;
  switch (r->ev.type) {
    case YAML_ALIAS_EVENT:
      return yr_alias(r, weight);
    case YAML_SCALAR_EVENT:
      anchor = (const char *)r->ev.data.scalar.anchor;
      anchor = anchor ? smf_arena_strdup(r->a, anchor) : NULL;
      n = yr_scalar(r, weight);
      break;
    case YAML_SEQUENCE_START_EVENT:
      anchor = (const char *)r->ev.data.sequence_start.anchor;
      anchor = anchor ? smf_arena_strdup(r->a, anchor) : NULL;
      n = yr_seq(r, depth, weight);
      break;
    case YAML_MAPPING_START_EVENT:
      anchor = (const char *)r->ev.data.mapping_start.anchor;
      anchor = anchor ? smf_arena_strdup(r->a, anchor) : NULL;
      n = yr_map(r, depth, weight);
      break;
    default:
      r->failed = true;
      dsl_diags_add(r->d, r->path, yr_mark(r->ev.start_mark), "unexpected YAML event");
      return NULL;
  }
  if (r->failed) {
    return NULL;
  }
  if (anchor) {
    yr_add_anchor(r, anchor, n, *weight);
  }
  return n;
}

// Check UTF-8 (no overlongs, no surrogates, <= U+10FFFF); report the first bad byte.
static bool check_utf8(const char *path, const char *text, size_t len, struct dsl_diags *d)
{
  const unsigned char *s = (const unsigned char *)text;
  unsigned line = 1, col = 1;
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = n != 0 && i + n <= len && !(n == 2 && c < 0xC2) && !(n == 4 && c > 0xF4);
    for (size_t k = 1; ok && k < n; k++) {
      ok = (s[i + k] & 0xC0) == 0x80;
    }
    if (ok && n == 3) {
      unsigned c1 = s[i + 1];
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    } else if (ok && n == 4) {
      unsigned c1 = s[i + 1];
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) {
      struct dsl_mark m = {line, col};
      dsl_diags_add(d, path, m, "the file is not valid UTF-8 (byte 0x%02X)", c);
      return false;
    }
    if (c == '\n') {
      line++, col = 1;
    } else {
      col++;
    }
    i += n;
  }
  return true;
}

// Explain a file without a document: empty or only comments.
static void report_no_document(const char *path, const char *text, size_t len,
                               struct dsl_diags *d)
{
  struct dsl_mark m = {1, 1};
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '#') {
      dsl_diags_add(d, path, m, "the file holds only comments: no pipeline in it");
      return;
    }
  }
  dsl_diags_add(d, path, m, "the file is empty: no pipeline in it");
}

// After the first document: the stream must end here.
static void yr_expect_stream_end(struct yreader *r)
{
  if (!yr_next(r) || r->ev.type != YAML_DOCUMENT_END_EVENT) {
    return;
  }
  if (!yr_next(r)) {
    return;
  }
  if (r->ev.type == YAML_DOCUMENT_START_EVENT) {
    dsl_diags_add(r->d, r->path, yr_mark(r->ev.start_mark),
                  "several YAML documents in one file: a pipeline file holds one");
  }
}

int dsl__yaml_parse(struct smf_arena *a, const char *path, const char *text, size_t len,
                    struct dsl_node **root, struct dsl_diags *d)
{
  *root = NULL;
  if (!check_utf8(path, text, len, d)) {
    return SMF_EPARSE;
  }
  struct yreader r = {.a = a, .path = path, .d = d, .text = text, .len = len};
  r.line_off = dsl__line_table(text, len, &r.n_lines);
  r.limit = 100000 + 16 * len;
  yaml_parser_initialize(&r.p);
  yaml_parser_set_input_string(&r.p, (const unsigned char *)text, len);
  yaml_parser_set_encoding(&r.p, YAML_UTF8_ENCODING);
  struct dsl_node *n = NULL;
  if (!yr_next(&r) || !yr_next(&r)) {  // STREAM-START, then DOCUMENT-START or STREAM-END
    goto fail;
  }
  if (r.ev.type == YAML_STREAM_END_EVENT) {
    report_no_document(path, text, len, d);
    goto fail;
  }
  if (!yr_next(&r)) {
    goto fail;
  }
  size_t w = 0;
  n = yr_node(&r, 0, &w);
  if (n == NULL || r.failed) {
    n = NULL;
    goto fail;
  }
  yr_expect_stream_end(&r);
  if (r.failed) {
    n = NULL;
  }
fail:
  if (r.have_ev) {
    yaml_event_delete(&r.ev);
  }
  yaml_parser_delete(&r.p);
  free(r.anchors);
  free(r.line_off);
  *root = n;
  return n ? 0 : SMF_EPARSE;
}
