// memory.c: allocation wrappers. Out of memory is not recoverable for smflow:
// state is durable in SQLite, so aborting loses nothing that resume cannot redo.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"

static void smf__oom(size_t n)
{
  fprintf(stderr, "smflow: out of memory (allocating %zu bytes)\n", n);
  abort();
}

void *smf_xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (p == NULL) {
    smf__oom(n);
  }
  return p;
}

void *smf_xcalloc(size_t count, size_t n)
{
  void *p = calloc(count ? count : 1, n ? n : 1);
  if (p == NULL) {
    smf__oom(count * n);
  }
  return p;
}

void *smf_xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (q == NULL) {
    smf__oom(n);
  }
  return q;
}

char *smf_xstrdup(const char *s)
{
  return smf_xstrndup(s, strlen(s));
}

char *smf_xstrndup(const char *s, size_t n)
{
  size_t len = strnlen(s, n);
  char *p = smf_xmalloc(len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *smf_xasprintf(const char *fmt, ...)
{
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(ap2);
    abort();
  }
  char *p = smf_xmalloc((size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}
