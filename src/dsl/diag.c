// diag.c: diagnostics — every problem of a file, collected, sorted, printed as
// "PATH:LINE:COL: message".
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/internal.h"

void dsl_diags_add(struct dsl_diags *d, const char *path, struct dsl_mark m, const char *fmt, ...)
{
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 8;
    d->items = smf_xrealloc(d->items, d->cap * sizeof(*d->items));
  }
  struct smf_buf b = SMF_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  smf_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  struct dsl_diag *g = &d->items[d->n++];
  g->path = smf_xstrdup(path ? path : "");
  g->line = m.line;
  g->col = m.col;
  g->message = b.data ? smf_buf_steal(&b) : smf_xstrdup("");
}

static int diag_cmp(const void *pa, const void *pb)
{
  const struct dsl_diag *a = pa, *b = pb;
  int c = strcmp(a->path, b->path);
  if (c != 0) {
    return c;
  }
  if (a->line != b->line) {
    return a->line < b->line ? -1 : 1;
  }
  if (a->col != b->col) {
    return a->col < b->col ? -1 : 1;
  }
  return strcmp(a->message, b->message);
}

void dsl_diags_sort(struct dsl_diags *d)
{
  if (d->n < 2) {
    return;
  }
  qsort(d->items, d->n, sizeof(*d->items), diag_cmp);
  size_t w = 1;
  for (size_t i = 1; i < d->n; i++) {
    if (diag_cmp(&d->items[w - 1], &d->items[i]) == 0) {
      free(d->items[i].path);
      free(d->items[i].message);
      continue;
    }
    d->items[w++] = d->items[i];
  }
  d->n = w;
}

void dsl_diags_print(const struct dsl_diags *d, FILE *f)
{
  for (size_t i = 0; i < d->n; i++) {
    const struct dsl_diag *g = &d->items[i];
    if (g->line == 0) {
      fprintf(f, "%s: %s\n", g->path, g->message);
    } else {
      fprintf(f, "%s:%u:%u: %s\n", g->path, g->line, g->col, g->message);
    }
  }
}

void dsl_diags_free(struct dsl_diags *d)
{
  for (size_t i = 0; i < d->n; i++) {
    free(d->items[i].path);
    free(d->items[i].message);
  }
  free(d->items);
  memset(d, 0, sizeof(*d));
}

const char *dsl__a_type(enum dsl_type t)
{
  switch (t) {
    case DSL_NULL: return "null";
    case DSL_BOOL: return "a boolean";
    case DSL_INT: return "an integer";
    case DSL_FLOAT: return "a number";
    case DSL_STR: return "a string";
    case DSL_SEQ: return "a list";
    case DSL_MAP: return "a map";
  }
  return "a value";
}
