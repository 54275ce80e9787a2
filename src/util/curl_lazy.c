// curl_lazy.c: libcurl, loaded when it is first used instead of when smflow starts.
//
// libcurl brings some twenty libraries with it (TLS, SSH, LDAP, Kerberos, IDN,
// HTTP/2, compression...). Mapping and relocating them when the process starts
// costs about 2.5 ms of CPU, measured here, on every smflow command, while only
// the aws target, `smflow invoke`, deploy's smoke test and Lua's smflow.http
// speak HTTP. So smflow is not linked against libcurl: these definitions of the
// libcurl functions smflow calls open libcurl.so.4 (dlopen) on first use and
// forward to it. smf_curl_preload() opens it ahead of time (from a worker
// thread) where HTTP is likely to follow.
//
// A libcurl function not defined here fails to link: add it below (same
// prototype as in <curl/curl.h>, forwarded with CURL_LAZY).
#define CURL_DISABLE_TYPECHECK 1  // the typecheck macros would rename the definitions
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"

#define CURL_LAZY_SONAME "libcurl.so.4"

static pthread_once_t curl_lazy_once = PTHREAD_ONCE_INIT;
static void *curl_lazy_lib;

static void curl_lazy_open(void)
{
  curl_lazy_lib = dlopen(CURL_LAZY_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (curl_lazy_lib == NULL) {
    fprintf(stderr, "smflow: cannot load %s: %s\n", CURL_LAZY_SONAME, dlerror());
    abort();  // as the dynamic loader would have refused to start smflow
  }
}

void smf_curl_preload(void)
{
  pthread_once(&curl_lazy_once, curl_lazy_open);
}

static void *curl_lazy_sym(const char *name)
{
  pthread_once(&curl_lazy_once, curl_lazy_open);
  void *f = dlsym(curl_lazy_lib, name);
  if (f == NULL) {
    fprintf(stderr, "smflow: %s has no %s\n", CURL_LAZY_SONAME, name);
    abort();
  }
  return f;
}

// Resolve `name` once into a function pointer of its own type, named `real`.
// (A data pointer from dlsym converted to a function pointer: what POSIX
// guarantees for dlsym, spelled through memcpy for -Wpedantic.)
#define CURL_LAZY(name)                                                     \
  static __typeof__(name) *name##_real;                                     \
  __typeof__(name) *real = __atomic_load_n(&name##_real, __ATOMIC_ACQUIRE); \
  if (real == NULL) {                                                       \
    void *sym = curl_lazy_sym(#name);                                       \
    memcpy(&real, &sym, sizeof(real));                                      \
    __atomic_store_n(&name##_real, real, __ATOMIC_RELEASE);                 \
  }

CURLcode curl_global_init(long flags)
{
  CURL_LAZY(curl_global_init);
  return real(flags);
}

void curl_global_cleanup(void)
{
  CURL_LAZY(curl_global_cleanup);
  real();
}

CURL *curl_easy_init(void)
{
  CURL_LAZY(curl_easy_init);
  return real();
}

void curl_easy_cleanup(CURL *curl)
{
  CURL_LAZY(curl_easy_cleanup);
  real(curl);
}

void curl_easy_reset(CURL *curl)
{
  CURL_LAZY(curl_easy_reset);
  real(curl);
}

CURLcode curl_easy_perform(CURL *curl)
{
  CURL_LAZY(curl_easy_perform);
  return real(curl);
}

const char *curl_easy_strerror(CURLcode code)
{
  CURL_LAZY(curl_easy_strerror);
  return real(code);
}

// The one argument after the option is a long, an object or function pointer,
// a curl_off_t or a blob pointer, by the option's number range (curl.h's
// CURLOPTTYPE_*); curl_multi_setopt's options follow the same ranges.
#define CURL_LAZY_FORWARD_OPT(real, handle, option, ap)                              \
  ((option) < CURLOPTTYPE_OBJECTPOINT ? real(handle, option, va_arg(ap, long))       \
   : (option) < CURLOPTTYPE_OFF_T     ? real(handle, option, va_arg(ap, void *))     \
   : (option) < CURLOPTTYPE_BLOB      ? real(handle, option, va_arg(ap, curl_off_t)) \
                                      : real(handle, option, va_arg(ap, void *)))

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
  CURL_LAZY(curl_easy_setopt);
  va_list ap;
  va_start(ap, option);
  CURLcode rc = CURL_LAZY_FORWARD_OPT(real, curl, option, ap);
  va_end(ap);
  return rc;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
  CURL_LAZY(curl_easy_getinfo);
  va_list ap;
  va_start(ap, info);
  void *out = va_arg(ap, void *);  // always a pointer to where the value goes
  va_end(ap);
  return real(curl, info, out);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
  CURL_LAZY(curl_slist_append);
  return real(list, s);
}

void curl_slist_free_all(struct curl_slist *list)
{
  CURL_LAZY(curl_slist_free_all);
  real(list);
}

void curl_free(void *p)
{
  CURL_LAZY(curl_free);
  real(p);
}

CURLM *curl_multi_init(void)
{
  CURL_LAZY(curl_multi_init);
  return real();
}

CURLMcode curl_multi_cleanup(CURLM *multi)
{
  CURL_LAZY(curl_multi_cleanup);
  return real(multi);
}

CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
  CURL_LAZY(curl_multi_setopt);
  va_list ap;
  va_start(ap, option);
  CURLMcode rc = CURL_LAZY_FORWARD_OPT(real, multi, option, ap);
  va_end(ap);
  return rc;
}

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *curl)
{
  CURL_LAZY(curl_multi_add_handle);
  return real(multi, curl);
}

CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *curl)
{
  CURL_LAZY(curl_multi_remove_handle);
  return real(multi, curl);
}

CURLMcode curl_multi_socket_action(CURLM *multi, curl_socket_t s, int ev_bitmask,
                                   int *running_handles)
{
  CURL_LAZY(curl_multi_socket_action);
  return real(multi, s, ev_bitmask, running_handles);
}

CURLMcode curl_multi_assign(CURLM *multi, curl_socket_t s, void *sockp)
{
  CURL_LAZY(curl_multi_assign);
  return real(multi, s, sockp);
}

CURLMsg *curl_multi_info_read(CURLM *multi, int *msgs_in_queue)
{
  CURL_LAZY(curl_multi_info_read);
  return real(multi, msgs_in_queue);
}

const char *curl_multi_strerror(CURLMcode code)
{
  CURL_LAZY(curl_multi_strerror);
  return real(code);
}

CURLU *curl_url(void)
{
  CURL_LAZY(curl_url);
  return real();
}

void curl_url_cleanup(CURLU *handle)
{
  CURL_LAZY(curl_url_cleanup);
  real(handle);
}

CURLUcode curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags)
{
  CURL_LAZY(curl_url_get);
  return real(handle, what, part, flags);
}

CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags)
{
  CURL_LAZY(curl_url_set);
  return real(handle, what, part, flags);
}
