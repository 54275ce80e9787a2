// keyset.c: an open-addressing string hash set (FNV-1a), for duplicate-key
// checks and step-id lookups that must stay linear on pipelines of 10,000 steps.
#include <stdlib.h>
#include <string.h>

#include "dsl/internal.h"

static size_t ks_hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return (size_t)h;
}

static void ks_grow(struct dsl_keyset *s)
{
  size_t cap = s->cap ? s->cap * 2 : 16;
  const char **keys = smf_xcalloc(cap, sizeof(*keys));
  size_t *vals = smf_xcalloc(cap, sizeof(*vals));
  for (size_t i = 0; i < s->cap; i++) {
    if (s->keys[i] == NULL) {
      continue;
    }
    size_t j = ks_hash(s->keys[i]) & (cap - 1);
    while (keys[j] != NULL) {
      j = (j + 1) & (cap - 1);
    }
    keys[j] = s->keys[i];
    vals[j] = s->vals[i];
  }
  free(s->keys);
  free(s->vals);
  s->keys = keys;
  s->vals = vals;
  s->cap = cap;
}

size_t dsl__keyset_put(struct dsl_keyset *s, const char *key, size_t val, bool *found)
{
  if ((s->n + 1) * 2 > s->cap) {
    ks_grow(s);
  }
  size_t j = ks_hash(key) & (s->cap - 1);
  while (s->keys[j] != NULL) {
    if (strcmp(s->keys[j], key) == 0) {
      if (found) {
        *found = true;
      }
      return s->vals[j];
    }
    j = (j + 1) & (s->cap - 1);
  }
  s->keys[j] = key;
  s->vals[j] = val;
  s->n++;
  if (found) {
    *found = false;
  }
  return val;
}

bool dsl__keyset_get(const struct dsl_keyset *s, const char *key, size_t *val)
{
  if (s->cap == 0) {
    return false;
  }
  size_t j = ks_hash(key) & (s->cap - 1);
  while (s->keys[j] != NULL) {
    if (strcmp(s->keys[j], key) == 0) {
      if (val) {
        *val = s->vals[j];
      }
      return true;
    }
    j = (j + 1) & (s->cap - 1);
  }
  return false;
}

void dsl__keyset_free(struct dsl_keyset *s)
{
  free(s->keys);
  free(s->vals);
  memset(s, 0, sizeof(*s));
}
