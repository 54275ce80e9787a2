// checksum.c: CRC32 and CRC32C through ISA-L (PCLMULQDQ / SSE4.2 where the CPU
// has them, chosen at run time), with zlib's conventions: the caller passes 0
// or the previous result, the pre- and post-inversion happen inside.
#include "aws/checksum.h"

#include <isa-l/crc.h>

#include "smflow/crypto_lib.h"

uint32_t aws_crc32(uint32_t crc, const void *data, size_t len)
{
  // crc32_gzip_refl inverts its input and output itself (RFC 1952 style),
  // so it chains exactly as zlib's crc32 does.
  return crc32_gzip_refl(crc, (const unsigned char *)data, (uint64_t)len);
}

uint32_t aws_crc32c(uint32_t crc, const void *data, size_t len)
{
  // crc32_iscsi works on the raw register (no inversion on either side) and
  // takes an int length: feed it at most 1 GiB at a time.
  const unsigned char *p = data;
  uint32_t reg = ~crc;
  while (len > 0) {
    size_t n = len < ((size_t)1 << 30) ? len : ((size_t)1 << 30);
    reg = crc32_iscsi((unsigned char *)(uintptr_t)p, (int)n, reg);
    p += n;
    len -= n;
  }
  return ~reg;
}

void aws_crc_b64(uint32_t crc, char out[AWS_CRC_B64_SIZE])
{
  unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                         (unsigned char)(crc >> 8), (unsigned char)crc};
  smf_crypto()->EVP_EncodeBlock((unsigned char *)out, be, 4);
}
