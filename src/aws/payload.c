// payload.c: the digest a request body travels with. Over plain HTTP an S3
// body's SHA-256 is signed (x-amz-content-sha256) and doubles as its
// x-amz-checksum-sha256; over TLS the payload is UNSIGNED-PAYLOAD, as the AWS
// CLI sends it, and a CRC32 (x-amz-checksum-crc32) lets S3 refuse a corrupted
// body. A file body is read through a read-only mapping (no copy out of the
// page cache), or with pread where it cannot be mapped.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aws/checksum.h"
#include "aws/client_int.h"
#include "smflow/crypto_lib.h"

// One digest in progress: SHA-256 through EVP, or a running CRC32.
struct digest {
  EVP_MD_CTX *md;
  uint32_t crc;
};

static void digest_feed(struct digest *d, const void *p, size_t n)
{
  if (d->md) {
    smf_crypto()->EVP_DigestUpdate(d->md, p, n);
  } else {
    d->crc = aws_crc32(d->crc, p, n);
  }
}

static bool feed_mapped(struct digest *d, const struct aws_call *call)
{
  if (call->body_fd_len == 0) {
    return true;
  }
  long page = sysconf(_SC_PAGESIZE);
  uint64_t start = call->body_off - call->body_off % (uint64_t)page;
  size_t skip = (size_t)(call->body_off - start);
  size_t len = (size_t)call->body_fd_len + skip;
  void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, call->body_fd, (off_t)start);
  if (map == MAP_FAILED) {
    return false;
  }
  madvise(map, len, MADV_SEQUENTIAL);
  digest_feed(d, (const char *)map + skip, (size_t)call->body_fd_len);
  munmap(map, len);
  return true;
}

static int feed_read(struct digest *d, const struct aws_call *call, char *why, size_t why_cap)
{
  size_t cap = 1 << 20;
  unsigned char *buf = smf_xmalloc(cap);
  uint64_t pos = 0;
  int rc = 0;
  while (pos < call->body_fd_len) {
    size_t want = call->body_fd_len - pos < cap ? (size_t)(call->body_fd_len - pos) : cap;
    ssize_t got = pread(call->body_fd, buf, want, (off_t)(call->body_off + pos));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      snprintf(why, why_cap, "reading the body: %s", got < 0 ? strerror(errno) : "short file");
      rc = SMF_EIO;
      break;
    }
    digest_feed(d, buf, (size_t)got);
    pos += (uint64_t)got;
  }
  free(buf);
  return rc;
}

bool aws__payload_unsigned(const struct aws_client *c, enum aws_service svc)
{
  const char *url = c->endpoints[svc];
  return svc == AWS_SVC_S3 && url && strncasecmp(url, "https://", 8) == 0;
}

int aws__payload_digest(struct aws_call *call, char *why, size_t why_cap)
{
  struct digest d = {0};
  if (!call->unsigned_payload) {
    const struct smf_crypto_fns *c = smf_crypto();
    d.md = c->EVP_MD_CTX_new();
    if (!d.md || c->EVP_DigestInit_ex(d.md, c->EVP_sha256(), NULL) != 1) {
      abort();
    }
  }
  int rc = 0;
  if (call->body_fd < 0) {
    digest_feed(&d, call->body ? call->body : "", call->body_len);
  } else if (!feed_mapped(&d, call)) {
    rc = feed_read(&d, call, why, why_cap);
  }
  if (d.md) {
    unsigned char dig[32];
    unsigned dlen = 0;
    const struct smf_crypto_fns *c = smf_crypto();
    c->EVP_DigestFinal_ex(d.md, dig, &dlen);
    c->EVP_MD_CTX_free(d.md);
    for (unsigned i = 0; i < 32; i++) {
      snprintf(call->payload_hex + 2 * i, 3, "%02x", dig[i]);
    }
    c->EVP_EncodeBlock((unsigned char *)call->checksum_b64, dig, 32);
    call->checksum_header = "x-amz-checksum-sha256";
  } else {
    aws_crc_b64(d.crc, call->checksum_b64);
    call->checksum_header = "x-amz-checksum-crc32";
  }
  call->hashed = rc == 0;
  return rc;
}
