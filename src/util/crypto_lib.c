// crypto_lib.c: libcrypto.so.3 loaded with dlopen and its functions resolved
// into one table, once per process (see crypto_lib.h for why).
//
// RTLD_NOW: every symbol libcrypto binds is bound inside the one dlopen call,
// on whichever thread loads it (the hash warm-up thread, during a run), rather
// than lazily on the first calls. RTLD_LOCAL: nothing of libcrypto enters the
// global scope, where it could satisfy another object's lookup by accident;
// libssl (the http module) finds the already mapped libcrypto by its soname.
#include "smflow/crypto_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/error.h"

// The status smf_crypto() exits with when libcrypto cannot be loaded: the
// command line's "environment error" (CLI_EXIT_ENV).
#define CRYPTO_EXIT_STATUS 4

static pthread_once_t crypto__once = PTHREAD_ONCE_INIT;
static struct smf_crypto_fns crypto__fns;
static bool crypto__loaded;
static void *crypto__handle;  // the dlopen handle, kept until exit
static char crypto__error[768];  // why it could not be loaded, when it could not

// dlsym's void * into a function pointer slot: ISO C has no cast between the
// two, so the bytes are copied (POSIX guarantees they have the same size).
static int crypto__resolve(void *h, const char *name, void *slot)
{
  dlerror();
  void *sym = dlsym(h, name);
  if (sym == NULL) {
    const char *why = dlerror();
    snprintf(crypto__error, sizeof(crypto__error),
             "cannot load OpenSSL's libcrypto (" SMF_CRYPTO_SONAME "): no function %s in it: %s",
             name, why ? why : "null symbol");
    return -1;
  }
  memcpy(slot, &sym, sizeof(sym));
  return 0;
}

static void crypto__load(void)
{
  void *h = dlopen(SMF_CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *why = dlerror();
    snprintf(crypto__error, sizeof(crypto__error),
             "cannot load OpenSSL's libcrypto (" SMF_CRYPTO_SONAME "): %s",
             why ? why : "unknown reason");
    return;
  }
  struct smf_crypto_fns t;
  _Static_assert(sizeof(void *) == sizeof(t.EVP_MD_fetch), "function pointers as wide as void *");
#define CRYPTO__RESOLVE(name)                            \
  if (crypto__resolve(h, #name, (void *)&t.name) != 0) { \
    dlclose(h);                                          \
    return;                                              \
  }
  SMF_CRYPTO_FUNCS(CRYPTO__RESOLVE)
#undef CRYPTO__RESOLVE
  crypto__fns = t;
  crypto__handle = h;
  crypto__loaded = true;
}

void *smf_crypto_sym(const char *name)
{
  pthread_once(&crypto__once, crypto__load);
  return crypto__loaded ? dlsym(crypto__handle, name) : NULL;
}

int smf_crypto_load(struct smf_error *err)
{
  pthread_once(&crypto__once, crypto__load);
  if (!crypto__loaded) {
    return SMF_ERR_SET(err, SMF_EIO, "%s", crypto__error);
  }
  return 0;
}

const struct smf_crypto_fns *smf_crypto(void)
{
  pthread_once(&crypto__once, crypto__load);
  if (!crypto__loaded) {
    // Reached only by code that has no error to return (a digest into a
    // buffer); the paths that start a run or a client check first.
    fprintf(stderr, "smflow: %s\n", crypto__error);
    _exit(CRYPTO_EXIT_STATUS);
  }
  return &crypto__fns;
}

void smf_crypto_cleanse(void *p, size_t n)
{
  if (p != NULL && n > 0) {
    explicit_bzero(p, n);
  }
}

void smf_crypto_clear_free(void *p, size_t n)
{
  smf_crypto_cleanse(p, n);
  free(p);
}
