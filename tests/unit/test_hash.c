// test_hash.c: SHA-256 / MD5 against published vectors (FIPS 180-2 examples,
// RFC 1321 test suite), context reuse, file hashing and the thread-pool variant;
// the libcrypto table the digests go through (crypto_lib.h).
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "smflow/crypto_lib.h"
#include "smflow/error.h"
#include "smflow/hash.h"
#include "smflow/module.h"
#include "smflow/util.h"
#include "test.h"

static const char *const abc56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

TEST(sha256_vectors)
{
  char hex[SMF_HASH_HEX_SIZE];
  smf_hash_hex(SMF_HASH_SHA256, "", 0, hex);
  ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  smf_hash_hex(SMF_HASH_SHA256, "abc", 3, hex);
  ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  smf_hash_hex(SMF_HASH_SHA256, abc56, strlen(abc56), hex);
  ASSERT_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(md5_vectors)
{
  char hex[SMF_HASH_HEX_SIZE];
  smf_hash_hex(SMF_HASH_MD5, "", 0, hex);
  ASSERT_STREQ(hex, "d41d8cd98f00b204e9800998ecf8427e");
  smf_hash_hex(SMF_HASH_MD5, "abc", 3, hex);
  ASSERT_STREQ(hex, "900150983cd24fb0d6963f7d28e17f72");
  smf_hash_hex(SMF_HASH_MD5, "message digest", 14, hex);
  ASSERT_STREQ(hex, "f96b697d7cb7938d525a2f31aaf161d0");
  ASSERT_EQ(smf_hash_len(SMF_HASH_MD5), 16);
  ASSERT_EQ(smf_hash_len(SMF_HASH_SHA256), 32);
}

// One million 'a' fed in uneven pieces, then the same context reused.
TEST(incremental_and_reuse)
{
  struct smf_hash *h = smf_hash_new(SMF_HASH_SHA256);
  char chunk[997];
  memset(chunk, 'a', sizeof(chunk));
  size_t left = 1000000;
  while (left > 0) {
    size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
    smf_hash_update(h, chunk, n);
    left -= n;
  }
  char hex[SMF_HASH_HEX_SIZE];
  smf_hash_final_hex(h, hex);
  ASSERT_STREQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  smf_hash_reset(h);
  smf_hash_update(h, "a", 1);
  smf_hash_update(h, "bc", 2);
  uint8_t raw[SMF_HASH_MAX_LEN];
  ASSERT_EQ(smf_hash_final(h, raw), 32);
  smf_hex_encode(raw, 32, hex);
  ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  smf_hash_free(h);
}

static char *write_temp(size_t n, char fill)
{
  char *path = smf_xstrdup("/tmp/smf-hash-XXXXXX");
  int fd = mkstemp(path);
  ASSERT(fd >= 0);
  char *buf = smf_xmalloc(n + 1);
  memset(buf, fill, n);
  ASSERT_EQ(write(fd, buf, n), (long long)n);
  close(fd);
  free(buf);
  return path;
}

TEST(file_hashing)
{
  // Larger than the read buffer, so several reads are chained.
  char *path = write_temp(1000000, 'a');
  char hex[SMF_HASH_HEX_SIZE];
  uint64_t size = 0;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_hash_file(SMF_HASH_SHA256, path, hex, &size, &err), 0);
  ASSERT_STREQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  ASSERT_EQ(size, 1000000);
  ASSERT_EQ(smf_hash_file(SMF_HASH_MD5, path, hex, NULL, &err), 0);
  ASSERT_STREQ(hex, "7707d6ae4e027c70eea2a935c2296f21");
  unlink(path);
  free(path);

  char *empty = write_temp(0, 'x');
  ASSERT_EQ(smf_hash_file(SMF_HASH_SHA256, empty, hex, &size, &err), 0);
  ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ASSERT_EQ(size, 0);
  unlink(empty);
  free(empty);

  ASSERT_EQ(smf_hash_file(SMF_HASH_SHA256, "/nonexistent/x", hex, NULL, &err), SMF_ENOENT);
  ASSERT_CONTAINS(err.message, "/nonexistent/x");
}

struct async_result {
  int calls;
  int status;
  char hex[SMF_HASH_HEX_SIZE];
  uint64_t size;
  char message[1024];
};

static void on_hashed(int status, const char *hex, uint64_t size, const struct smf_error *err,
                      void *data)
{
  struct async_result *r = data;
  r->calls++;
  r->status = status;
  if (hex != NULL) {
    memcpy(r->hex, hex, SMF_HASH_HEX_SIZE);
  }
  r->size = size;
  snprintf(r->message, sizeof(r->message), "%s", err->message);
}

TEST(async_file_hashing)
{
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  char *path = write_temp(3, 'a');
  struct async_result ok = {0}, missing = {0};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_hash_file_async(&loop, SMF_HASH_SHA256, path, on_hashed, &ok, &err), 0);
  ASSERT_EQ(
      smf_hash_file_async(&loop, SMF_HASH_SHA256, "/nonexistent/y", on_hashed, &missing, &err), 0);
  ASSERT_EQ(smf_hash_file_async(&loop, SMF_HASH_SHA256, NULL, on_hashed, &missing, &err),
            SMF_EINVAL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(ok.calls, 1);
  ASSERT_EQ(ok.status, 0);
  ASSERT_EQ(ok.size, 3);
  ASSERT_STREQ(ok.hex, "9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0");
  ASSERT_EQ(missing.calls, 1);
  ASSERT_EQ(missing.status, SMF_ENOENT);
  ASSERT_CONTAINS(missing.message, "/nonexistent/y");
  ASSERT_EQ(uv_loop_close(&loop), 0);
  unlink(path);
  free(path);
}

struct loaded {
  int libcrypto, libssl;
};

static int count_loaded(struct dl_phdr_info *info, size_t size, void *data)
{
  struct loaded *l = data;
  (void)size;
  l->libcrypto += strstr(info->dlpi_name, "/libcrypto.so") != NULL;
  l->libssl += strstr(info->dlpi_name, "/libssl.so") != NULL;
  return 0;
}

// The warm-up thread loads the table; every function resolves to the loaded
// libcrypto.so.3, and the http module (libcurl -> libssl -> libcrypto), loaded
// afterwards, finds that one: one copy of OpenSSL in the process.
TEST(crypto_table)
{
  smf_hash_warm_start();
  smf_hash_warm_wait();
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_crypto_load(&err), 0);
  ASSERT_EQ(err.code, 0);
  const struct smf_crypto_fns *c = smf_crypto();
  void *lib = dlopen(SMF_CRYPTO_SONAME, RTLD_NOW | RTLD_NOLOAD);
  ASSERT(lib != NULL);
  size_t n = 0;
  void *sym = NULL;
#define CHECK_SAME(name)                                  \
  memcpy(&sym, &c->name, sizeof(sym));                    \
  if (sym == NULL || sym != dlsym(lib, #name)) {          \
    fprintf(stderr, "%s: not libcrypto.so.3's\n", #name); \
    abort();                                              \
  }                                                       \
  n++;
  SMF_CRYPTO_FUNCS(CHECK_SAME)
#undef CHECK_SAME
  dlclose(lib);
  ASSERT(n >= 20);
  ASSERT(smf_module_get("http", &err) != NULL);
  struct loaded l = {0};
  dl_iterate_phdr(count_loaded, &l);
  ASSERT_EQ(l.libssl, 1);
  ASSERT_EQ(l.libcrypto, 1);
  // Through the table directly: base64 of a SHA-256, as payload.c makes it.
  uint8_t dig[SMF_SHA256_LEN];
  struct smf_hash *h = smf_hash_new(SMF_HASH_SHA256);
  smf_hash_update(h, "abc", 3);
  ASSERT_EQ(smf_hash_final(h, dig), SMF_SHA256_LEN);
  smf_hash_free(h);
  char b64[45];
  ASSERT_EQ(c->EVP_EncodeBlock((unsigned char *)b64, dig, SMF_SHA256_LEN), 44);
  ASSERT_STREQ(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

TEST(cleanse)
{
  char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  smf_crypto_cleanse(secret, sizeof(secret));
  for (size_t i = 0; i < sizeof(secret); i++) {
    ASSERT_EQ(secret[i], 0);
  }
  smf_crypto_cleanse(NULL, 0);
  smf_crypto_clear_free(NULL, 0);
  smf_crypto_clear_free(smf_xstrdup("token"), 5);
}

int main(void)
{
  RUN_TEST(crypto_table);
  RUN_TEST(cleanse);
  RUN_TEST(sha256_vectors);
  RUN_TEST(md5_vectors);
  RUN_TEST(incremental_and_reuse);
  RUN_TEST(file_hashing);
  RUN_TEST(async_file_hashing);
  return TEST_REPORT();
}
