// test_s3_upload_parts.c: aws_s3_upload_parts, the split aws_s3_upload_file
// follows and `smflow plan` shows: one PutObject up to the threshold, else
// parts of part_size (at least 5 MiB, doubled until there are at most 10000);
// by default one part per connection in flight, 16 to 64 MiB each.
#include "smflow/aws.h"
#include "test.h"

#define MIB (1024ULL * 1024ULL)

TEST(defaults)
{
  uint64_t ps = 0;
  ASSERT_EQ(aws_s3_upload_parts(0, NULL, &ps), 0);
  ASSERT_EQ(aws_s3_upload_parts(16 * MIB, NULL, &ps), 0);  // at the threshold: one PutObject
  ASSERT_EQ(ps, 16 * MIB);
  ASSERT_EQ(aws_s3_upload_parts(16 * MIB + 1, NULL, &ps), 2);
  ASSERT_EQ(aws_s3_upload_parts(48 * MIB, NULL, &ps), 3);
  ASSERT_EQ(aws_s3_upload_parts(48 * MIB + 1, NULL, &ps), 4);
  ASSERT_EQ(ps, 16 * MIB);
  // above 8 x 16 MiB: one part per connection (8), in whole MiB
  ASSERT_EQ(aws_s3_upload_parts(128 * MIB, NULL, &ps), 8);
  ASSERT_EQ(ps, 16 * MIB);
  ASSERT_EQ(aws_s3_upload_parts(128 * MIB + 1, NULL, &ps), 8);
  ASSERT_EQ(ps, 17 * MIB);
  ASSERT_EQ(aws_s3_upload_parts(256 * MIB, NULL, &ps), 8);
  ASSERT_EQ(ps, 32 * MIB);
  ASSERT_EQ(aws_s3_upload_parts(512 * MIB, NULL, &ps), 8);
  ASSERT_EQ(ps, 64 * MIB);
  // above 8 x 64 MiB: 64 MiB parts, sent 8 at a time
  ASSERT_EQ(aws_s3_upload_parts(1024 * MIB + 1, NULL, &ps), 17);
  ASSERT_EQ(ps, 64 * MIB);
}

TEST(parts_follow_parallel)
{
  uint64_t ps = 0;
  struct aws_s3_put_opts o = {.parallel = 4};
  ASSERT_EQ(aws_s3_upload_parts(256 * MIB, &o, &ps), 4);
  ASSERT_EQ(ps, 64 * MIB);
  o.parallel = 16;
  ASSERT_EQ(aws_s3_upload_parts(256 * MIB, &o, &ps), 16);
  ASSERT_EQ(ps, 16 * MIB);
  o.parallel = 1;
  ASSERT_EQ(aws_s3_upload_parts(40 * MIB, &o, &ps), 1);
  ASSERT_EQ(ps, 40 * MIB);
}

TEST(options)
{
  uint64_t ps = 0;
  struct aws_s3_put_opts o = {.multipart_threshold = 1 * MIB, .part_size = 1 * MIB};
  // parts below S3's 5 MiB minimum are raised to it
  ASSERT_EQ(aws_s3_upload_parts(11 * MIB, &o, &ps), 3);
  ASSERT_EQ(ps, 5 * MIB);
  ASSERT_EQ(aws_s3_upload_parts(1 * MIB, &o, &ps), 0);
  o.part_size = 8 * MIB;
  ASSERT_EQ(aws_s3_upload_parts(17 * MIB, &o, &ps), 3);
  ASSERT_EQ(ps, 8 * MIB);
}

TEST(at_most_ten_thousand_parts)
{
  uint64_t ps = 0;
  ASSERT_EQ(aws_s3_upload_parts(10000 * 64 * MIB, NULL, &ps), 10000);
  ASSERT_EQ(ps, 64 * MIB);
  ASSERT_EQ(aws_s3_upload_parts(10000 * 64 * MIB + 1, NULL, &ps), 5001);
  ASSERT_EQ(ps, 128 * MIB);
  struct aws_s3_put_opts o = {.part_size = 16 * MIB};
  ASSERT_EQ(aws_s3_upload_parts(10000 * 16 * MIB + 1, &o, &ps), 5001);
  ASSERT_EQ(ps, 32 * MIB);
}

int main(void)
{
  RUN_TEST(defaults);
  RUN_TEST(options);
  RUN_TEST(parts_follow_parallel);
  RUN_TEST(at_most_ten_thousand_parts);
  return TEST_REPORT();
}
