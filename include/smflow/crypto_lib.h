// crypto_lib.h: OpenSSL's libcrypto, loaded at run time instead of linked.
//
// smflow needs libcrypto for a few SHA-256 digests on every run (the pipeline's
// digest, step cache keys, archive names) and for SigV4, checksums and
// credentials on the aws target. Linked as a DT_NEEDED dependency, its mapping,
// relocations and symbol binding cost ~0.6 ms before main() on every start of
// every command. Instead, this file dlopen()s libcrypto.so.3 once, on first use
// (smf_hash_warm_start does it early, on a thread of its own, while a run
// parses its pipeline), and resolves the functions smflow calls into a table.
// The http and archive modules link libcrypto normally: the loader finds the
// same soname already mapped, so the process holds one copy of OpenSSL.
//
// Call sites keep OpenSSL's names and types (the declarations come from the
// OpenSSL headers, which this header includes): `smf_crypto()->EVP_DigestUpdate(...)`.
// Adding a function: one line in SMF_CRYPTO_FUNCS.
//
// Ownership: the table is static, loaded once, borrowed by every caller;
// libcrypto stays loaded until the process exits.
#pragma once

#include <openssl/evp.h>
#include <openssl/params.h>
#include <stddef.h>

struct smf_error;

/// The shared object loaded (OpenSSL 3's libcrypto).
#define SMF_CRYPTO_SONAME "libcrypto.so.3"

/// Every libcrypto function smflow's core calls, by OpenSSL's own name.
#define SMF_CRYPTO_FUNCS(X)           \
  X(EVP_MD_fetch)                     \
  X(EVP_MD_free)                      \
  X(EVP_sha256)                       \
  X(EVP_MD_CTX_new)                   \
  X(EVP_MD_CTX_reset)                 \
  X(EVP_MD_CTX_free)                  \
  X(EVP_DigestInit_ex)                \
  X(EVP_DigestUpdate)                 \
  X(EVP_DigestFinal_ex)               \
  X(EVP_EncodeBlock)                  \
  X(EVP_MAC_fetch)                    \
  X(EVP_MAC_free)                     \
  X(EVP_MAC_CTX_new)                  \
  X(EVP_MAC_CTX_free)                 \
  X(EVP_MAC_CTX_set_params)           \
  X(EVP_MAC_init)                     \
  X(EVP_MAC_update)                   \
  X(EVP_MAC_final)                    \
  X(OSSL_PARAM_construct_utf8_string) \
  X(OSSL_PARAM_construct_end)

/// One pointer per function, typed from OpenSSL's own declaration.
struct smf_crypto_fns {
#define SMF__CRYPTO_MEMBER(name) __typeof__(name) *name;
  SMF_CRYPTO_FUNCS(SMF__CRYPTO_MEMBER)
#undef SMF__CRYPTO_MEMBER
};

/// Load libcrypto and resolve the table, once per process (thread-safe; a
/// caller that comes while another thread loads it waits). 0, or SMF_EIO with
/// a message naming the library and the loader's reason (dlerror); a failure
/// is remembered and reported again on every call.
int smf_crypto_load(struct smf_error *err);

/// The table, loading it on first use. Code that can report an error calls
/// smf_crypto_load first; for the rest, a libcrypto that cannot be loaded is
/// fatal: the reason goes to stderr and the process exits with status 4 (an
/// environment error, as the command line reports it), never a crash.
const struct smf_crypto_fns *smf_crypto(void);

/// Any other symbol of the loaded libcrypto (dlsym), loading it on first use;
/// NULL when it is not there or libcrypto cannot be loaded.
void *smf_crypto_sym(const char *name);
/// Zero n bytes at p in a way the compiler cannot drop (secrets). Needs no
/// libcrypto. p may be NULL when n is 0.
void smf_crypto_cleanse(void *p, size_t n);
/// smf_crypto_cleanse(p, n) then free(p). p may be NULL.
void smf_crypto_clear_free(void *p, size_t n);
