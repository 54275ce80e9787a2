// arena.c: bump allocator for data that lives and dies together (one parsed
// pipeline, one run's interpolated specs).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"

#define SMF_ARENA_BLOCK (64 * 1024)

struct smf_arena_block {
  struct smf_arena_block *next;
  size_t size;
  _Alignas(16) unsigned char data[];
};

void *smf_arena_alloc(struct smf_arena *a, size_t n)
{
  n = (n + 15) & ~(size_t)15;
  if (a->head == NULL || a->used + n > a->head->size) {
    size_t size = n > SMF_ARENA_BLOCK / 4 ? n : SMF_ARENA_BLOCK;
    struct smf_arena_block *b = smf_xmalloc(sizeof(*b) + size);
    b->size = size;
    if (a->head != NULL && size == n) {
      // Oversized: keep the current block for small allocations.
      b->next = a->head->next;
      a->head->next = b;
      a->total += n;
      memset(b->data, 0, n);
      return b->data;
    }
    b->next = a->head;
    a->head = b;
    a->used = 0;
  }
  void *p = a->head->data + a->used;
  a->used += n;
  a->total += n;
  memset(p, 0, n);
  return p;
}

char *smf_arena_strndup(struct smf_arena *a, const char *s, size_t n)
{
  char *p = smf_arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *smf_arena_strdup(struct smf_arena *a, const char *s)
{
  return smf_arena_strndup(a, s, strlen(s));
}

char *smf_arena_printf(struct smf_arena *a, const char *fmt, ...)
{
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(ap2);
    return smf_arena_strdup(a, "");
  }
  char *p = smf_arena_alloc(a, (size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

void smf_arena_free(struct smf_arena *a)
{
  struct smf_arena_block *b = a->head;
  while (b) {
    struct smf_arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->used = a->total = 0;
}
