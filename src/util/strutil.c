// strutil.c: small string helpers, including "did you mean" suggestions.
#include <string.h>

#include "smflow/util.h"

bool smf_str_startswith(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool smf_str_endswith(const char *s, const char *suffix)
{
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

size_t smf_str_distance(const char *a, const char *b, size_t cap)
{
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) {
    return cap;
  }
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) {
    row[j] = j;
  }
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    size_t best = row[0];
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t v = prev + cost;
      if (row[j] + 1 < v) {
        v = row[j] + 1;
      }
      if (row[j - 1] + 1 < v) {
        v = row[j - 1] + 1;
      }
      row[j] = v;
      prev = cur;
      if (v < best) {
        best = v;
      }
    }
    if (best >= cap) {
      return cap;
    }
  }
  return row[lb] < cap ? row[lb] : cap;
}

const char *smf_str_suggest(const char *word, const char *const *candidates, size_t n)
{
  size_t len = strlen(word);
  size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
  const char *best = NULL;
  size_t best_d = limit + 1;
  for (size_t i = 0; i < n; i++) {
    size_t d = smf_str_distance(word, candidates[i], best_d);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  return best_d <= limit ? best : NULL;
}
