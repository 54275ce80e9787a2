// hash.c: SHA-256/MD5 with OpenSSL's libcrypto, loaded at run time by
// crypto_lib.c (smflow does not link libcrypto; the warm-up thread loads it).
//
// The digests go through OpenSSL's low-level SHA256_*/MD5_* functions
// (deprecated in OpenSSL 3.0, present in every 3.x), not EVP: EVP's first use
// in a process sets the library up — reads openssl.cnf, loads the default
// provider, builds its method store: ~5 M instructions, 1.5-2 ms — before the
// first digest, and a run's first digest (the pipeline's) comes before its
// first step starts. The low-level functions run the same assembly (EVP's
// SHA-256 provider calls them) with no set-up. EVP stays for the aws target's
// HMACs and checksums (sigv4.c, payload.c), set up on their first use.
// The one-shot helper keeps one context per thread, so thread-pool workers
// reuse theirs.
#include "smflow/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <openssl/md5.h>
#include <openssl/sha.h>

#include "smflow/crypto_lib.h"
#include "smflow/error.h"
#include "smflow/util.h"

// Large reads keep the per-syscall cost negligible against hashing itself.
#define HASH_FILE_BUF (1u << 20)

struct smf_hash {
  enum smf_hash_algo algo;
  union {
    SHA256_CTX sha256;
    MD5_CTX md5;
  } u;
};

// The low-level functions, resolved once from the loaded libcrypto (their
// declarations carry OpenSSL 3's deprecation mark, so the pointers are typed
// here rather than through crypto_lib.h's table).
static struct {
  int (*sha256_init)(SHA256_CTX *c);
  int (*sha256_update)(SHA256_CTX *c, const void *data, size_t len);
  int (*sha256_final)(unsigned char *md, SHA256_CTX *c);
  int (*md5_init)(MD5_CTX *c);
  int (*md5_update)(MD5_CTX *c, const void *data, size_t len);
  int (*md5_final)(unsigned char *md, MD5_CTX *c);
} hash__fn;
static pthread_once_t hash__once = PTHREAD_ONCE_INIT;

#define HASH__RESOLVE(field, name)                              \
  do {                                                          \
    void *sym = smf_crypto_sym(name);                           \
    if (sym == NULL) {                                          \
      abort(); /* libcrypto 3 without them: not a runtime case */ \
    }                                                           \
    memcpy(&hash__fn.field, &sym, sizeof(sym));                 \
  } while (0)

static void hash__resolve(void)
{
  HASH__RESOLVE(sha256_init, "SHA256_Init");
  HASH__RESOLVE(sha256_update, "SHA256_Update");
  HASH__RESOLVE(sha256_final, "SHA256_Final");
  HASH__RESOLVE(md5_init, "MD5_Init");
  HASH__RESOLVE(md5_update, "MD5_Update");
  HASH__RESOLVE(md5_final, "MD5_Final");
}

static void hash__ready(void)
{
  smf_crypto();  // loaded, or the process exits with the reason (crypto_lib.h)
  pthread_once(&hash__once, hash__resolve);
}

// Loading libcrypto (dlopen: mapping, relocations, binding; ~0.6 ms): work a
// run would otherwise do on its main thread before the first step starts.
// The warm-up thread goes through the same pthread_once calls as every
// digest: one that comes while it loads waits for it, never loads twice. A
// libcrypto that cannot be loaded is left for the first digest's caller to
// report. Only the thread that started the warm-up joins it.
static pthread_t hash__warm_thread;
static bool hash__warming;

static void *hash__warm(void *arg)
{
  (void)arg;
  if (smf_crypto_load(NULL) == 0) {
    pthread_once(&hash__once, hash__resolve);
  }
  return NULL;
}

void smf_hash_warm_start(void)
{
  if (!hash__warming && pthread_create(&hash__warm_thread, NULL, hash__warm, NULL) == 0) {
    hash__warming = true;
  }
}

void smf_hash_warm_wait(void)
{
  if (hash__warming) {
    pthread_join(hash__warm_thread, NULL);
    hash__warming = false;
  }
}

size_t smf_hash_len(enum smf_hash_algo algo)
{
  return algo == SMF_HASH_MD5 ? SMF_MD5_LEN : SMF_SHA256_LEN;
}

struct smf_hash *smf_hash_new(enum smf_hash_algo algo)
{
  struct smf_hash *h = smf_xcalloc(1, sizeof(*h));
  h->algo = algo;
  smf_hash_reset(h);
  return h;
}

void smf_hash_reset(struct smf_hash *h)
{
  hash__ready();
  int ok = h->algo == SMF_HASH_MD5 ? hash__fn.md5_init(&h->u.md5)
                                   : hash__fn.sha256_init(&h->u.sha256);
  if (ok != 1) {
    abort();
  }
}

void smf_hash_update(struct smf_hash *h, const void *data, size_t len)
{
  if (len == 0) {
    return;
  }
  int ok = h->algo == SMF_HASH_MD5 ? hash__fn.md5_update(&h->u.md5, data, len)
                                   : hash__fn.sha256_update(&h->u.sha256, data, len);
  if (ok != 1) {
    abort();
  }
}

size_t smf_hash_final(struct smf_hash *h, uint8_t *out)
{
  int ok = h->algo == SMF_HASH_MD5 ? hash__fn.md5_final(out, &h->u.md5)
                                   : hash__fn.sha256_final(out, &h->u.sha256);
  if (ok != 1) {
    abort();
  }
  return smf_hash_len(h->algo);
}

void smf_hash_final_hex(struct smf_hash *h, char *hex)
{
  uint8_t md[SMF_HASH_MAX_LEN];
  size_t n = smf_hash_final(h, md);
  smf_hex_encode(md, n, hex);
}

void smf_hash_free(struct smf_hash *h)
{
  if (h != NULL) {
    smf_crypto_cleanse(h, sizeof(*h));
    free(h);
  }
}

void smf_hex_encode(const uint8_t *bytes, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[2 * n] = '\0';
}

// Per-thread contexts for the one-shot helper, freed when the thread exits.
static pthread_key_t hash__tls_key;
static pthread_once_t hash__tls_once = PTHREAD_ONCE_INIT;

static void hash__tls_free(void *p)
{
  struct smf_hash **hs = p;
  smf_hash_free(hs[SMF_HASH_SHA256]);
  smf_hash_free(hs[SMF_HASH_MD5]);
  free(hs);
}

static void hash__tls_init(void)
{
  if (pthread_key_create(&hash__tls_key, hash__tls_free) != 0) {
    abort();
  }
}

static struct smf_hash *hash__thread_ctx(enum smf_hash_algo algo)
{
  pthread_once(&hash__tls_once, hash__tls_init);
  struct smf_hash **hs = pthread_getspecific(hash__tls_key);
  if (hs == NULL) {
    hs = smf_xcalloc(2, sizeof(*hs));
    pthread_setspecific(hash__tls_key, hs);
  }
  if (hs[algo] == NULL) {
    hs[algo] = smf_hash_new(algo);
  } else {
    smf_hash_reset(hs[algo]);
  }
  return hs[algo];
}

void smf_hash_hex(enum smf_hash_algo algo, const void *data, size_t len, char *hex)
{
  struct smf_hash *h = hash__thread_ctx(algo);
  smf_hash_update(h, data, len);
  smf_hash_final_hex(h, hex);
}

int smf_hash_file(enum smf_hash_algo algo, const char *path, char *hex, uint64_t *size,
                  struct smf_error *err)
{
  int rc = smf_crypto_load(err);
  if (rc != 0) {
    return rc;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return SMF_ERR_SET(err, errno == ENOENT ? SMF_ENOENT : SMF_EIO, "cannot open %s: %s", path,
                       strerror(errno));
  }
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  uint8_t *buf = smf_xmalloc(HASH_FILE_BUF);
  struct smf_hash *h = hash__thread_ctx(algo);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, HASH_FILE_BUF);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      rc = SMF_ERR_SET(err, SMF_EIO, "cannot read %s: %s", path, strerror(errno));
      goto fail;
    }
    if (n == 0) {
      break;
    }
    smf_hash_update(h, buf, (size_t)n);
    total += (uint64_t)n;
  }
  smf_hash_final_hex(h, hex);
  if (size != NULL) {
    *size = total;
  }
fail:
  free(buf);
  close(fd);
  return rc;
}

// ---- thread-pool variant ----

struct hash_job {
  uv_work_t work;
  enum smf_hash_algo algo;
  char *path;
  smf_hash_file_cb cb;
  void *data;
  int status;
  char hex[SMF_HASH_HEX_SIZE];
  uint64_t size;
  struct smf_error err;
};

static void hash__work(uv_work_t *w)
{
  struct hash_job *job = w->data;
  job->status = smf_hash_file(job->algo, job->path, job->hex, &job->size, &job->err);
}

static void hash__after(uv_work_t *w, int status)
{
  struct hash_job *job = w->data;
  if (status == UV_ECANCELED) {
    job->status = SMF_ERR_SET(&job->err, SMF_ECANCELLED, "hashing %s cancelled", job->path);
  }
  job->cb(job->status, job->status == 0 ? job->hex : NULL, job->size, &job->err, job->data);
  free(job->path);
  free(job);
}

int smf_hash_file_async(struct uv_loop_s *loop, enum smf_hash_algo algo, const char *path,
                        smf_hash_file_cb cb, void *data, struct smf_error *err)
{
  if (loop == NULL || path == NULL || cb == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "smf_hash_file_async: loop, path and cb are required");
  }
  struct hash_job *job = smf_xcalloc(1, sizeof(*job));
  job->work.data = job;
  job->algo = algo;
  job->path = smf_xstrdup(path);
  job->cb = cb;
  job->data = data;
  int r = uv_queue_work(loop, &job->work, hash__work, hash__after);
  if (r != 0) {
    free(job->path);
    free(job);
    return SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue hashing of %s: %s", path, uv_strerror(r));
  }
  return 0;
}
