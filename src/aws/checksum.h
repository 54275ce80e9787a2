// checksum.h: S3's flexible checksums (CRC32, CRC32C) on ISA-L, in the form
// the x-amz-checksum-* headers carry them.
#pragma once

#include <stddef.h>
#include <stdint.h>

/// Characters of a 4-byte checksum in base64, with its NUL.
#define AWS_CRC_B64_SIZE 9

/// CRC-32 (IEEE, reflected: zlib's crc32, gzip's, S3's "CRC32"). Chainable
/// like zlib's: start with 0 and pass the previous value to continue.
uint32_t aws_crc32(uint32_t crc, const void *data, size_t len);
/// CRC-32C (Castagnoli: iSCSI's, S3's "CRC32C"), chainable the same way.
uint32_t aws_crc32c(uint32_t crc, const void *data, size_t len);
/// Base64 of the value's four bytes, most significant first, as S3 wants it.
void aws_crc_b64(uint32_t crc, char out[AWS_CRC_B64_SIZE]);
