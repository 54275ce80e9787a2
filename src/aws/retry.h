// retry.h: the AWS SDKs' "standard" retry mode (botocore's retries/standard.py:
// classification, truncated exponential backoff with full jitter, the retry
// quota), a per-operation token bucket for client-side rate limits, and clock
// skew detection. Pure logic with injected time and randomness, so the unit
// tests are deterministic; the client (client.c) drives it.
#pragma once

#include <stdbool.h>
#include <stdint.h>

/// Default total attempts (first try included); AWS_MAX_ATTEMPTS overrides.
#define AWS_RETRY_MAX_ATTEMPTS 3
/// Quota capacity, cost of one retry, of a retry after a timeout, refund on a clean success.
#define AWS_RETRY_QUOTA_CAPACITY 500
#define AWS_RETRY_COST 5
#define AWS_RETRY_TIMEOUT_COST 10
#define AWS_RETRY_NO_RETRY_INCREMENT 1
/// Backoff: base 1 s doubling per attempt, capped at 20 s.
#define AWS_RETRY_BASE_MS 1000
#define AWS_RETRY_MAX_BACKOFF_MS 20000

/// What one failed attempt was.
enum aws_retry_kind {
  AWS_RETRY_NONE,       ///< not retryable (a client error, or success)
  AWS_RETRY_THROTTLE,   ///< a throttling error code
  AWS_RETRY_TRANSIENT,  ///< a transient error code or a 500/502/503/504
  AWS_RETRY_TRANSPORT,  ///< connection refused/reset, no response
  AWS_RETRY_TIMEOUT,    ///< connect or read timeout (costs more quota)
  AWS_RETRY_SKEW,       ///< the clock is off: re-sign with corrected time
};

/// Is `code` one of the SDKs' throttling error codes?
bool aws_retry_is_throttle_code(const char *code);
/// Is `code` one of the SDKs' transient error codes?
bool aws_retry_is_transient_code(const char *code);

/// Classify one attempt. transport: 0 (an HTTP response arrived), SMF_ETIMEOUT
/// or another negative SMF_E* for a transport failure. code/message: the AWS
/// error code and message parsed from the body (may be NULL). skew_ms: server
/// Date minus local time, when a Date header came (else 0).
enum aws_retry_kind aws_retry_classify(int transport, long status, const char *code,
                                       const char *message, int64_t skew_ms);

/// The retry quota shared by every request of one client.
struct aws_retry_quota {
  int available;
  int max;
};

void aws_retry_quota_init(struct aws_retry_quota *q, int capacity);
/// Take the cost of retrying after a failure of `kind`. Returns the amount
/// taken (> 0), or 0 when the quota cannot pay for it (then do not retry).
int aws_retry_quota_acquire(struct aws_retry_quota *q, enum aws_retry_kind kind);
/// After a 2xx: give back `last_cost` (the amount of the last acquisition of
/// this call) or, when the call never retried (0), AWS_RETRY_NO_RETRY_INCREMENT.
void aws_retry_quota_release(struct aws_retry_quota *q, int last_cost);

/// Delay before the next attempt after attempt number `attempt` (1-based) failed:
/// rand01 × min(2^(attempt-1) × base, cap), in milliseconds. rand01 in [0, 1).
uint64_t aws_retry_delay_ms(int attempt, double rand01);

/// A token bucket: `rate` tokens per second, at most `burst` stored.
struct aws_rate_bucket {
  double rate;
  double burst;
  double tokens;   ///< may go negative: tokens already promised to waiters
  int64_t last_ms;
};

void aws_rate_bucket_init(struct aws_rate_bucket *b, double rate, double burst, int64_t now_ms);
/// Reserve one token at now_ms. Returns 0 when the caller may go now, else how
/// many ms it must wait (the token is reserved for it: do not call again).
uint64_t aws_rate_bucket_take(struct aws_rate_bucket *b, int64_t now_ms);

/// Parse an HTTP date (RFC 7231 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT")
/// or an ISO 8601 basic amz-date ("19941106T084937Z"). Returns 0 or SMF_EINVAL.
int aws_retry_parse_date(const char *s, int64_t *out_ms);

/// A small deterministic-when-seeded random source (splitmix64).
struct aws_rand {
  uint64_t state;
};
void aws_rand_seed(struct aws_rand *r, uint64_t seed);
/// Uniform in [0, 1).
double aws_rand_next(struct aws_rand *r);
