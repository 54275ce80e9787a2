// test_aws_checksum.c: the ISA-L CRC32 / CRC32C wrappers against known vectors
// (CRC32 values as zlib.crc32 gives them; CRC32C from RFC 3720 B.4 and the
// common "123456789" check value), chaining, and the header's base64 form.
#include <stdlib.h>
#include <string.h>

#include "aws/checksum.h"
#include "test.h"

// Bit-by-bit reference: reflected polynomial, init and final inversion.
static uint32_t ref_crc(uint32_t poly, const unsigned char *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) {
      c = (c >> 1) ^ (poly & (0u - (c & 1u)));
    }
  }
  return ~c;
}

TEST(crc32_vectors)
{
  static const char fox[] = "The quick brown fox jumps over the lazy dog";
  ASSERT_EQ(aws_crc32(0, "", 0), 0u);
  ASSERT_EQ(aws_crc32(0, "a", 1), 0xE8B7BE43u);
  ASSERT_EQ(aws_crc32(0, "123456789", 9), 0xCBF43926u);
  ASSERT_EQ(aws_crc32(0, fox, strlen(fox)), 0x414FA339u);
  unsigned char seq[768];
  for (size_t i = 0; i < sizeof seq; i++) {
    seq[i] = (unsigned char)i;
  }
  ASSERT_EQ(aws_crc32(0, seq, sizeof seq), 0xB0C0DF2Au);
}

TEST(crc32c_vectors)
{
  static const char fox[] = "The quick brown fox jumps over the lazy dog";
  unsigned char b[32];
  ASSERT_EQ(aws_crc32c(0, "", 0), 0u);
  ASSERT_EQ(aws_crc32c(0, "123456789", 9), 0xE3069283u);
  ASSERT_EQ(aws_crc32c(0, fox, strlen(fox)), 0x22620404u);
  memset(b, 0, sizeof b);
  ASSERT_EQ(aws_crc32c(0, b, sizeof b), 0x8A9136AAu);
  memset(b, 0xFF, sizeof b);
  ASSERT_EQ(aws_crc32c(0, b, sizeof b), 0x62A8AB43u);
  for (size_t i = 0; i < sizeof b; i++) {
    b[i] = (unsigned char)i;
  }
  ASSERT_EQ(aws_crc32c(0, b, sizeof b), 0x46DD794Eu);
}

// Odd lengths and split points exercise the SIMD paths' heads and tails.
TEST(chaining_matches_reference)
{
  size_t n = 100003;
  unsigned char *buf = malloc(n);
  unsigned s = 12345;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    buf[i] = (unsigned char)(s >> 16);
  }
  uint32_t want32 = ref_crc(0xEDB88320u, buf, n);
  uint32_t want32c = ref_crc(0x82F63B78u, buf, n);
  ASSERT_EQ(aws_crc32(0, buf, n), want32);
  ASSERT_EQ(aws_crc32c(0, buf, n), want32c);
  static const size_t cuts[] = {1, 7, 64, 4095, 65536, 99999};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    size_t k = cuts[i];
    ASSERT_EQ(aws_crc32(aws_crc32(0, buf, k), buf + k, n - k), want32);
    ASSERT_EQ(aws_crc32c(aws_crc32c(0, buf, k), buf + k, n - k), want32c);
  }
  free(buf);
}

TEST(base64_big_endian)
{
  char out[AWS_CRC_B64_SIZE];
  aws_crc_b64(0xCBF43926u, out);
  ASSERT_STREQ(out, "y/Q5Jg==");
  aws_crc_b64(0, out);
  ASSERT_STREQ(out, "AAAAAA==");
  aws_crc_b64(0x414FA339u, out);
  ASSERT_STREQ(out, "QU+jOQ==");
}

int main(void)
{
  RUN_TEST(crc32_vectors);
  RUN_TEST(crc32c_vectors);
  RUN_TEST(chaining_matches_reference);
  RUN_TEST(base64_big_endian);
  return TEST_REPORT();
}
