// test_retry.c: the standard retry mode: classification, backoff, quota, token
// bucket and date parsing, with injected randomness and time.
#include "aws/retry.h"
#include "smflow/error.h"
#include "test.h"

TEST(classify)
{
  ASSERT_EQ(aws_retry_classify(0, 200, NULL, NULL, 0), AWS_RETRY_NONE);
  ASSERT_EQ(aws_retry_classify(0, 400, "ThrottlingException", "Rate exceeded", 0),
            AWS_RETRY_THROTTLE);
  ASSERT_EQ(aws_retry_classify(0, 503, "SlowDown", NULL, 0), AWS_RETRY_THROTTLE);
  ASSERT_EQ(aws_retry_classify(0, 400, "EC2ThrottledException", NULL, 0), AWS_RETRY_THROTTLE);
  ASSERT_EQ(aws_retry_classify(0, 400, "RequestTimeout", NULL, 0), AWS_RETRY_TRANSIENT);
  ASSERT_EQ(aws_retry_classify(0, 500, "InternalError", NULL, 0), AWS_RETRY_TRANSIENT);
  ASSERT_EQ(aws_retry_classify(0, 502, NULL, NULL, 0), AWS_RETRY_TRANSIENT);
  ASSERT_EQ(aws_retry_classify(0, 504, "", NULL, 0), AWS_RETRY_TRANSIENT);
  ASSERT_EQ(aws_retry_classify(0, 501, NULL, NULL, 0), AWS_RETRY_NONE);
  ASSERT_EQ(aws_retry_classify(0, 400, "ValidationException", "bad", 0), AWS_RETRY_NONE);
  ASSERT_EQ(aws_retry_classify(0, 404, "NoSuchKey", NULL, 0), AWS_RETRY_NONE);
  ASSERT_EQ(aws_retry_classify(SMF_EHTTP, 0, NULL, NULL, 0), AWS_RETRY_TRANSPORT);
  ASSERT_EQ(aws_retry_classify(SMF_ETIMEOUT, 0, NULL, NULL, 0), AWS_RETRY_TIMEOUT);
  ASSERT_EQ(aws_retry_classify(SMF_ECANCELLED, 0, NULL, NULL, 0), AWS_RETRY_NONE);
  // Clock skew: explicit codes, or a signature error while the clocks differ.
  ASSERT_EQ(aws_retry_classify(0, 403, "RequestTimeTooSkewed", NULL, 0), AWS_RETRY_SKEW);
  ASSERT_EQ(aws_retry_classify(0, 403, "SignatureDoesNotMatch", "no", 0), AWS_RETRY_NONE);
  ASSERT_EQ(aws_retry_classify(0, 403, "SignatureDoesNotMatch", "no", 15 * 60 * 1000),
            AWS_RETRY_SKEW);
  ASSERT_EQ(aws_retry_classify(0, 400, "InvalidSignatureException",
                               "Signature expired: 20260101T000000Z is now earlier than", 0),
            AWS_RETRY_SKEW);
  ASSERT_EQ(aws_retry_classify(0, 403, "Forbidden", NULL, -20 * 60 * 1000), AWS_RETRY_SKEW);
  ASSERT_EQ(aws_retry_classify(0, 403, "Forbidden", NULL, 1000), AWS_RETRY_NONE);
  ASSERT(aws_retry_is_throttle_code("PriorRequestNotComplete"));
  ASSERT(aws_retry_is_transient_code("PriorRequestNotComplete"));
  ASSERT(!aws_retry_is_throttle_code(NULL));
}

TEST(backoff)
{
  // rand × min(2^(attempt-1) s, 20 s)
  ASSERT_EQ(aws_retry_delay_ms(1, 0.5), 500);
  ASSERT_EQ(aws_retry_delay_ms(2, 0.5), 1000);
  ASSERT_EQ(aws_retry_delay_ms(3, 0.25), 1000);
  ASSERT_EQ(aws_retry_delay_ms(5, 1.0 / 16), 1000);
  ASSERT_EQ(aws_retry_delay_ms(6, 0.5), 10000);
  ASSERT_EQ(aws_retry_delay_ms(40, 0.5), 10000);
  ASSERT_EQ(aws_retry_delay_ms(3, 0.0), 0);
  ASSERT(aws_retry_delay_ms(9, 0.9999) < 20000);
  struct aws_rand r1, r2;
  aws_rand_seed(&r1, 42);
  aws_rand_seed(&r2, 42);
  double sum = 0;
  for (int i = 0; i < 10000; i++) {
    double a = aws_rand_next(&r1);
    ASSERT(a >= 0 && a < 1);
    ASSERT(a == aws_rand_next(&r2));
    sum += a;
  }
  ASSERT(sum > 4800 && sum < 5200);
}

TEST(quota)
{
  struct aws_retry_quota q;
  aws_retry_quota_init(&q, AWS_RETRY_QUOTA_CAPACITY);
  ASSERT_EQ(q.available, 500);
  ASSERT_EQ(aws_retry_quota_acquire(&q, AWS_RETRY_THROTTLE), 5);
  ASSERT_EQ(aws_retry_quota_acquire(&q, AWS_RETRY_TIMEOUT), 10);
  ASSERT_EQ(q.available, 485);
  aws_retry_quota_release(&q, 10);  // success after a retry: the last cost comes back
  ASSERT_EQ(q.available, 495);
  aws_retry_quota_release(&q, 0);   // success without retry: +1
  ASSERT_EQ(q.available, 496);
  aws_retry_quota_release(&q, 0);
  aws_retry_quota_release(&q, 0);
  aws_retry_quota_release(&q, 0);
  aws_retry_quota_release(&q, 0);
  ASSERT_EQ(q.available, 500);      // never above capacity
  // Drain it: 100 retries of cost 5, then nothing.
  for (int i = 0; i < 100; i++) {
    ASSERT_EQ(aws_retry_quota_acquire(&q, AWS_RETRY_TRANSIENT), 5);
  }
  ASSERT_EQ(aws_retry_quota_acquire(&q, AWS_RETRY_TRANSIENT), 0);
  ASSERT_EQ(q.available, 0);
  aws_retry_quota_release(&q, 0);
  ASSERT_EQ(aws_retry_quota_acquire(&q, AWS_RETRY_TRANSIENT), 0);  // 1 < 5
}

TEST(bucket)
{
  struct aws_rate_bucket b;
  aws_rate_bucket_init(&b, 2.0, 2.0, 1000);
  ASSERT_EQ(aws_rate_bucket_take(&b, 1000), 0);
  ASSERT_EQ(aws_rate_bucket_take(&b, 1000), 0);
  // Burst spent: the next callers are spaced at 1/rate.
  ASSERT_EQ(aws_rate_bucket_take(&b, 1000), 500);
  ASSERT_EQ(aws_rate_bucket_take(&b, 1000), 1000);
  ASSERT_EQ(aws_rate_bucket_take(&b, 1000), 1500);
  // After 3 s the debt (3 tokens) is repaid and 2 more... capped at the burst.
  ASSERT_EQ(aws_rate_bucket_take(&b, 4000), 0);
  // 50 pollers at 5 req/s: the last one waits about 10 s.
  aws_rate_bucket_init(&b, 5.0, 1.0, 0);
  uint64_t last = 0;
  for (int i = 0; i < 50; i++) {
    last = aws_rate_bucket_take(&b, 0);
  }
  ASSERT_EQ(last, 9800);
}

TEST(dates)
{
  int64_t ms = 0;
  ASSERT_EQ(aws_retry_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &ms), 0);
  ASSERT_EQ(ms, 784111777000LL);
  ASSERT_EQ(aws_retry_parse_date("19941106T084937Z", &ms), 0);
  ASSERT_EQ(ms, 784111777000LL);
  ASSERT_EQ(aws_retry_parse_date("yesterday", &ms), SMF_EINVAL);
  ASSERT_EQ(aws_retry_parse_date(NULL, &ms), SMF_EINVAL);
}

int main(void)
{
  RUN_TEST(classify);
  RUN_TEST(backoff);
  RUN_TEST(quota);
  RUN_TEST(bucket);
  RUN_TEST(dates);
  return TEST_REPORT();
}
