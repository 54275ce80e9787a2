// test_s3_upload_parts.c: aws_s3_upload_parts, the split aws_s3_upload_file
// follows and `smflow plan` shows: one PutObject up to the threshold, else
// parts of part_size (at least 5 MiB, doubled until there are at most 10000).
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
  ASSERT_EQ(aws_s3_upload_parts(10000 * 16 * MIB, NULL, &ps), 10000);
  ASSERT_EQ(ps, 16 * MIB);
  ASSERT_EQ(aws_s3_upload_parts(10000 * 16 * MIB + 1, NULL, &ps), 5001);
  ASSERT_EQ(ps, 32 * MIB);
}

int main(void)
{
  RUN_TEST(defaults);
  RUN_TEST(options);
  RUN_TEST(at_most_ten_thousand_parts);
  return TEST_REPORT();
}
