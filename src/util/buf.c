// buf.c: growable, optionally capped byte buffers (curl's dynbuf idea).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/error.h"
#include "smflow/util.h"

static int smf__buf_reserve(struct smf_buf *b, size_t extra)
{
  if (b->max && b->len + extra > b->max) {
    return SMF_EINVAL;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap) {
    return 0;
  }
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) {
    cap *= 2;
  }
  b->data = smf_xrealloc(b->data, cap);
  b->cap = cap;
  return 0;
}

int smf_buf_append(struct smf_buf *b, const void *p, size_t n)
{
  int rc = smf__buf_reserve(b, n);
  if (rc != 0) {
    return rc;
  }
  if (n) {
    memcpy(b->data + b->len, p, n);
  }
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int smf_buf_puts(struct smf_buf *b, const char *s)
{
  return smf_buf_append(b, s, strlen(s));
}

int smf_buf_vprintf(struct smf_buf *b, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) {
    return SMF_EINVAL;
  }
  int rc = smf__buf_reserve(b, (size_t)n);
  if (rc != 0) {
    return rc;
  }
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int smf_buf_printf(struct smf_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = smf_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

const char *smf_buf_cstr(struct smf_buf *b)
{
  if (b->data == NULL) {
    return "";
  }
  return b->data;
}

char *smf_buf_steal(struct smf_buf *b)
{
  char *p = b->data ? b->data : smf_xstrdup("");
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

void smf_buf_reset(struct smf_buf *b)
{
  b->len = 0;
  if (b->data) {
    b->data[0] = '\0';
  }
}

void smf_buf_free(struct smf_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
