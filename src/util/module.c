// module.c: finding, loading and checking smflow-NAME.so, and finding the
// helper programs that live next to them (see module.h).
#include "smflow/module.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "smflow/error.h"
#include "smflow/util.h"

#ifndef SMF_BUILD_ID
#error "SMF_BUILD_ID must be defined for module.c"
#endif

struct mod_slot {
  const char *name;
  const void *table;
  const void *ready;  ///< table once loaded, read without the lock
  bool tried;
  char error[1024];
};

static pthread_mutex_t mod__lock = PTHREAD_MUTEX_INITIALIZER;
static struct mod_slot mod__slots[] = {{.name = "archive"}, {.name = "http"}};

// BIN/../lib/smflow for the running executable, or "" when unknown.
static void mod__installed_dir(char *out, size_t n)
{
  char exe[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  out[0] = '\0';
  if (len <= 0) {
    return;
  }
  exe[len] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash != NULL && (size_t)(slash - exe) + sizeof("/../lib/smflow") <= n) {
    memcpy(out, exe, (size_t)(slash - exe));
    memcpy(out + (slash - exe), "/../lib/smflow", sizeof("/../lib/smflow"));
  }
}

// dlopen DIR/smflow-NAME.so and check it. 0 and *table, or -1 with the
// reason appended to why (a missing file only when no other reason).
static int mod__try(struct mod_slot *m, const char *dir, const void **table, struct smf_buf *why)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/smflow-%s.so", dir, m->name);
  if (access(path, R_OK) != 0) {
    smf_buf_printf(why, "%s%s: not found", why->len ? "; " : "", path);
    return -1;
  }
  // Lazy: a module's libraries bind only the functions it calls (libcurl's
  // forty bound eagerly cost 0.45 ms more); its own code was linked with
  // --no-undefined.
  void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
  if (h == NULL) {
    smf_buf_printf(why, "%s%s: %s", why->len ? "; " : "", path, dlerror());
    return -1;
  }
  char sym[64];
  snprintf(sym, sizeof(sym), "smflow_module_%s", m->name);
  const struct smf_module_header *hdr = dlsym(h, sym);
  if (hdr == NULL || hdr->build == NULL || strcmp(hdr->build, SMF_BUILD_ID) != 0) {
    smf_buf_printf(why, "%s%s: %s", why->len ? "; " : "", path,
                   hdr == NULL ? "no module table in it"
                               : "built by another build of smflow (rebuild or reinstall)");
    dlclose(h);
    return -1;
  }
  *table = hdr;  // never closed: its code is in use until the process exits
  return 0;
}

// The places looked at, in order: $SMFLOW_MODULE_DIR alone when it is set;
// else BIN/../lib/smflow (written into installed, PATH_MAX bytes), then the
// build tree. Unused entries of dirs[3] are NULL.
static void mod__dirs(const char *dirs[3], char *installed)
{
  mod__installed_dir(installed, PATH_MAX);
  const char *env = getenv("SMFLOW_MODULE_DIR");
  bool only_env = env != NULL && *env != '\0';
  dirs[0] = only_env ? env : NULL;
  dirs[1] = only_env || !installed[0] ? NULL : installed;
#ifdef SMF_BUILD_MODULE_DIR
  dirs[2] = only_env ? NULL : SMF_BUILD_MODULE_DIR;
#else
  dirs[2] = NULL;
#endif
}

static void mod__load(struct mod_slot *m)
{
  char installed[PATH_MAX];
  const char *dirs[3];
  mod__dirs(dirs, installed);
  struct smf_buf why = {0};
  for (size_t i = 0; i < SMF_ARRAY_LEN(dirs) && m->table == NULL; i++) {
    if (dirs[i] != NULL) {
      mod__try(m, dirs[i], &m->table, &why);
    }
  }
  if (m->table == NULL) {
    snprintf(m->error, sizeof(m->error), "cannot load smflow's %s module (%s)", m->name,
             why.len ? smf_buf_cstr(&why) : "no directory to look in");
  }
  smf_buf_free(&why);
  m->tried = true;
}

char *smf_module_program(const char *name, struct smf_error *err)
{
  char installed[PATH_MAX];
  const char *dirs[3];
  mod__dirs(dirs, installed);
  struct smf_buf why = {0};
  for (size_t i = 0; i < SMF_ARRAY_LEN(dirs); i++) {
    if (dirs[i] == NULL) {
      continue;
    }
    char *path = smf_xasprintf("%s/%s", dirs[i], name);
    struct stat st;
    const char *bad = stat(path, &st) != 0                              ? "not found"
                      : !S_ISREG(st.st_mode) || access(path, X_OK) != 0 ? "not an executable file"
                                                                        : NULL;
    if (bad == NULL) {
      smf_buf_free(&why);
      return path;
    }
    smf_buf_printf(&why, "%s%s: %s", why.len ? "; " : "", path, bad);
    free(path);
  }
  SMF_ERR_SET(err, SMF_ENOENT, "cannot find smflow's program %s (%s)", name,
              why.len ? smf_buf_cstr(&why) : "no directory to look in");
  smf_buf_free(&why);
  return NULL;
}

const void *smf_module_get(const char *name, struct smf_error *err)
{
  struct mod_slot *m = NULL;
  for (size_t i = 0; i < SMF_ARRAY_LEN(mod__slots); i++) {
    if (strcmp(mod__slots[i].name, name) == 0) {
      m = &mod__slots[i];
    }
  }
  if (m == NULL) {
    SMF_ERR_SET(err, SMF_EINVAL, "internal: no module named %s", name);
    return NULL;
  }
  // Once loaded, a table never changes: the HTTP client's calls (a dozen per
  // request) read it without the lock.
  const void *table = __atomic_load_n(&m->ready, __ATOMIC_ACQUIRE);
  if (table != NULL) {
    return table;
  }
  pthread_mutex_lock(&mod__lock);
  if (!m->tried) {
    mod__load(m);
    __atomic_store_n(&m->ready, m->table, __ATOMIC_RELEASE);
  }
  table = m->table;
  if (table == NULL) {
    SMF_ERR_SET(err, SMF_EIO, "%s", m->error);
  }
  pthread_mutex_unlock(&mod__lock);
  return table;
}

struct mod_preload {
  uv_work_t work;
  const char *name;
};

static void mod__preload_work(uv_work_t *w)
{
  struct mod_preload *p = w->data;
  smf_module_get(p->name, NULL);
}

static void mod__preload_done(uv_work_t *w, int status)
{
  (void)status;
  free(w->data);
}

void smf_module_preload(struct uv_loop_s *loop, const char *name)
{
  struct mod_preload *p = smf_xcalloc(1, sizeof(*p));
  p->name = name;
  p->work.data = p;
  if (uv_queue_work(loop, &p->work, mod__preload_work, mod__preload_done) != 0) {
    free(p);
  }
}
