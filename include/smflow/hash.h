// hash.h: SHA-256 and MD5 with OpenSSL's low-level digest functions
// (libcrypto loaded at run time, crypto_lib.h; a libcrypto that cannot be
// loaded is fatal in the functions that return no error, see smf_crypto): an
// incremental API with reusable
// contexts, hex output, streamed file hashing, and file hashing on the uv
// thread pool so that large files never block the event loop.
#pragma once

#include <stddef.h>
#include <stdint.h>

struct smf_error;
struct uv_loop_s;

enum smf_hash_algo {
  SMF_HASH_SHA256,  ///< content addressing, S3 x-amz-content-sha256
  SMF_HASH_MD5,     ///< S3 Content-MD5 only; never for security
};

#define SMF_SHA256_LEN 32
#define SMF_MD5_LEN 16
#define SMF_HASH_MAX_LEN 32
/// Hex digest buffer size for any algorithm (64 hex digits + NUL).
#define SMF_HASH_HEX_SIZE (2 * SMF_HASH_MAX_LEN + 1)

/// An incremental hash. Reusable: after smf_hash_final (or at any time)
/// smf_hash_reset starts a new digest on the same EVP context, with no new
/// allocation. Not shared between threads; one per thread or per job.
struct smf_hash;

/// A new hash, ready for updates. Caller frees with smf_hash_free.
struct smf_hash *smf_hash_new(enum smf_hash_algo algo);
/// Start a new digest in the same context (the algorithm's Init function).
void smf_hash_reset(struct smf_hash *h);
void smf_hash_update(struct smf_hash *h, const void *data, size_t len);
/// Finish the digest into out (at least SMF_HASH_MAX_LEN bytes); returns its length.
/// Call smf_hash_reset before the next update.
size_t smf_hash_final(struct smf_hash *h, uint8_t *out);
/// Finish the digest as lowercase hex into hex (SMF_HASH_HEX_SIZE bytes).
void smf_hash_final_hex(struct smf_hash *h, char *hex);
void smf_hash_free(struct smf_hash *h);

/// Digest length in bytes of an algorithm.
size_t smf_hash_len(enum smf_hash_algo algo);
/// Start loading libcrypto (smf_crypto_load) and resolving the digest
/// functions on a thread of its own, so that the first digest does not pay for
/// it on the caller's thread (a digest that comes meanwhile waits for it). The
/// same thread must call smf_hash_warm_wait before it forks and before it
/// exits: the loading may not be left half-way.
void smf_hash_warm_start(void);
/// Join the thread of smf_hash_warm_start, if any. Idempotent; only from the
/// thread that started it.
void smf_hash_warm_wait(void);
/// Lowercase hex of n bytes into out (2n+1 bytes).
void smf_hex_encode(const uint8_t *bytes, size_t n, char *out);

/// One-shot digest of a buffer as hex (uses a per-thread reusable context).
void smf_hash_hex(enum smf_hash_algo algo, const void *data, size_t len, char *hex);

/// Stream a file through the hash with a large buffer. Writes the hex digest
/// into hex (SMF_HASH_HEX_SIZE) and, if size is not NULL, the byte count.
int smf_hash_file(enum smf_hash_algo algo, const char *path, char *hex, uint64_t *size,
                  struct smf_error *err);

/// Completion of smf_hash_file_async, on the loop thread. hex and err are
/// borrowed for the duration of the call.
typedef void (*smf_hash_file_cb)(int status, const char *hex, uint64_t size,
                                 const struct smf_error *err, void *data);

/// Hash a file on the uv thread pool. path is copied. Returns 0 when queued (cb
/// runs exactly once, on the loop thread), or a negative SMF_E* (cb never runs).
int smf_hash_file_async(struct uv_loop_s *loop, enum smf_hash_algo algo, const char *path,
                        smf_hash_file_cb cb, void *data, struct smf_error *err);
