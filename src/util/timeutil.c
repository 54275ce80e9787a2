// timeutil.c: wall-clock milliseconds and duration parsing/formatting.
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smflow/error.h"
#include "smflow/util.h"

int64_t smf_time_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int smf_duration_parse(const char *s, int64_t *out_ms)
{
  if (s == NULL || *s == '\0' || isspace((unsigned char)*s) || *s == '-' || *s == '+') {
    return SMF_EINVAL;
  }
  errno = 0;
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || errno != 0 || !isfinite(v) || v < 0) {
    return SMF_EINVAL;
  }
  double mult;
  if (*end == '\0' || strcmp(end, "s") == 0) {
    mult = 1000;
  } else if (strcmp(end, "ms") == 0) {
    mult = 1;
  } else if (strcmp(end, "m") == 0) {
    mult = 60e3;
  } else if (strcmp(end, "h") == 0) {
    mult = 3600e3;
  } else if (strcmp(end, "d") == 0) {
    mult = 86400e3;
  } else {
    return SMF_EINVAL;
  }
  double ms = v * mult;
  if (ms > 9.0e15) {
    return SMF_EINVAL;
  }
  *out_ms = (int64_t)llround(ms);
  return 0;
}

const char *smf_duration_format(int64_t ms, char *buf, size_t n)
{
  if (ms < 0) {
    ms = 0;
  }
  if (ms < 10000) {
    snprintf(buf, n, "%.1fs", (double)ms / 1000.0);
  } else if (ms < 60000) {
    snprintf(buf, n, "%llds", (long long)(ms / 1000));
  } else if (ms < 3600000) {
    snprintf(buf, n, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
  } else {
    snprintf(buf, n, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
  }
  return buf;
}
