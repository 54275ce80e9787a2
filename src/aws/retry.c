// retry.c: the standard retry mode's pure logic (see retry.h).
#include "aws/retry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smflow/error.h"

static const char *const throttle_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "InternalError",
};

// Codes that always mean the request's time was off.
static const char *const skew_codes[] = {
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
};

// Codes that mean a clock problem only when the clocks differ (or the message says so).
static const char *const maybe_skew_codes[] = {
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
};

// Servers accept signatures up to 5 minutes off; treat 4 as "the clock is the problem".
#define SKEW_THRESHOLD_MS (4 * 60 * 1000)

static bool in_list(const char *code, const char *const *list, size_t n)
{
  if (!code || !*code) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (strcmp(code, list[i]) == 0) {
      return true;
    }
  }
  return false;
}

bool aws_retry_is_throttle_code(const char *code)
{
  return in_list(code, throttle_codes, sizeof throttle_codes / sizeof *throttle_codes);
}

bool aws_retry_is_transient_code(const char *code)
{
  return in_list(code, transient_codes, sizeof transient_codes / sizeof *transient_codes);
}

enum aws_retry_kind aws_retry_classify(int transport, long status, const char *code,
                                       const char *message, int64_t skew_ms)
{
  if (transport == SMF_ETIMEOUT) {
    return AWS_RETRY_TIMEOUT;
  }
  if (transport != 0) {
    return transport == SMF_ECANCELLED ? AWS_RETRY_NONE : AWS_RETRY_TRANSPORT;
  }
  if (status >= 200 && status < 300) {
    return AWS_RETRY_NONE;
  }
  if (aws_retry_is_throttle_code(code)) {
    return AWS_RETRY_THROTTLE;
  }
  if (aws_retry_is_transient_code(code)) {
    return AWS_RETRY_TRANSIENT;
  }
  if (in_list(code, skew_codes, sizeof skew_codes / sizeof *skew_codes)) {
    return AWS_RETRY_SKEW;
  }
  if (in_list(code, maybe_skew_codes, sizeof maybe_skew_codes / sizeof *maybe_skew_codes)) {
    bool said = message && (strstr(message, "Signature expired") ||
                            strstr(message, "Signature not yet current") ||
                            strstr(message, "clock skew") || strstr(message, "too skewed"));
    if (said || llabs((long long)skew_ms) >= SKEW_THRESHOLD_MS) {
      return AWS_RETRY_SKEW;
    }
    return AWS_RETRY_NONE;
  }
  // A HEAD answer has no body: a bare 403 while the clocks differ is skew too.
  bool bare = !code || !*code || strcmp(code, "Forbidden") == 0;
  if (status == 403 && bare && llabs((long long)skew_ms) >= SKEW_THRESHOLD_MS) {
    return AWS_RETRY_SKEW;
  }
  if (status == 500 || status == 502 || status == 503 || status == 504) {
    return AWS_RETRY_TRANSIENT;
  }
  return AWS_RETRY_NONE;
}

void aws_retry_quota_init(struct aws_retry_quota *q, int capacity)
{
  q->available = capacity;
  q->max = capacity;
}

int aws_retry_quota_acquire(struct aws_retry_quota *q, enum aws_retry_kind kind)
{
  int cost = kind == AWS_RETRY_TIMEOUT ? AWS_RETRY_TIMEOUT_COST : AWS_RETRY_COST;
  if (cost > q->available) {
    return 0;
  }
  q->available -= cost;
  return cost;
}

void aws_retry_quota_release(struct aws_retry_quota *q, int last_cost)
{
  int amount = last_cost > 0 ? last_cost : AWS_RETRY_NO_RETRY_INCREMENT;
  int room = q->max - q->available;
  q->available += amount < room ? amount : room;
}

uint64_t aws_retry_delay_ms(int attempt, double rand01)
{
  if (attempt < 1) {
    attempt = 1;
  }
  double cap = AWS_RETRY_MAX_BACKOFF_MS;
  double exp = attempt > 30 ? cap : ldexp(AWS_RETRY_BASE_MS, attempt - 1);
  double span = exp < cap ? exp : cap;
  if (rand01 < 0) {
    rand01 = 0;
  }
  if (rand01 >= 1) {
    rand01 = 0.999999;
  }
  return (uint64_t)(rand01 * span);
}

void aws_rate_bucket_init(struct aws_rate_bucket *b, double rate, double burst, int64_t now_ms)
{
  b->rate = rate > 0 ? rate : 1;
  b->burst = burst >= 1 ? burst : 1;
  b->tokens = b->burst;
  b->last_ms = now_ms;
}

uint64_t aws_rate_bucket_take(struct aws_rate_bucket *b, int64_t now_ms)
{
  if (now_ms > b->last_ms) {
    b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
    if (b->tokens > b->burst) {
      b->tokens = b->burst;
    }
    b->last_ms = now_ms;
  }
  b->tokens -= 1;
  if (b->tokens >= 0) {
    return 0;
  }
  // The deficit is paid back at `rate` tokens per second.
  return (uint64_t)ceil(-b->tokens * 1000.0 / b->rate);
}

int aws_retry_parse_date(const char *s, int64_t *out_ms)
{
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = NULL;
  if (!s) {
    return SMF_EINVAL;
  }
  end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) {
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
  }
  if (!end || *end) {
    return SMF_EINVAL;
  }
  *out_ms = (int64_t)timegm(&tm) * 1000;
  return 0;
}

void aws_rand_seed(struct aws_rand *r, uint64_t seed)
{
  r->state = seed;
}

double aws_rand_next(struct aws_rand *r)
{
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0;
}
