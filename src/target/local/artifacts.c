// artifacts.c: the local target's bridge to the object store (store.c) and the
// archive module: channels, code, packed outputs. Synchronous: thread pool only.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/archive.h"
#include "target/local/local.h"

int local_uri_path(const struct target *t, const char *uri, char **out, struct smf_error *err)
{
  return local_store_resolve(local_impl_store(t), uri, out, err);
}

int local_channel_fetch(const struct target *t, const char *uri, const char *dir,
                        struct smf_error *err)
{
  return local_store_materialise(local_impl_store(t), uri, dir, LOCAL_MATERIALISE_COPY, NULL, err);
}

int local_channel_fetch_shard(const struct target *t, const char *uri, const char *dir, int host,
                              int n_hosts, struct smf_error *err)
{
  if (host < 0 || n_hosts < 1 || host >= n_hosts) {
    return SMF_ERR_SET(err, SMF_EINVAL, "host %d of %d", host, n_hosts);
  }
  return local_store_materialise_shard(local_impl_store(t), uri, dir, LOCAL_MATERIALISE_COPY,
                                       (size_t)host, (size_t)n_hosts, NULL, err);
}

int local_code_fetch(const struct target *t, const char *uri, const char *dir,
                     struct smf_error *err)
{
  char *path = NULL;
  int rc = local_store_resolve(local_impl_store(t), uri, &path, err);
  if (rc != 0) {
    return rc;
  }
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
      (smf_str_endswith(path, ".tar.gz") || smf_str_endswith(path, ".tgz"))) {
    rc = smf_archive_extract(path, dir, NULL, err);
  } else {
    // A directory (its tree) or a single file (placed by its base name).
    rc = local_store_materialise(local_impl_store(t), uri, dir, LOCAL_MATERIALISE_COPY, NULL, err);
  }
  free(path);
  return rc;
}

struct pack_one {
  const char *dir;
  char *tmp;
  enum smf_pack_sync sync;
  int rc;
  struct smf_error err;
};

static void *pack_one_run(void *arg)
{
  struct pack_one *p = arg;
  // Synced once here (side by side), put_moves renames it into the store and
  // syncs that directory; or, when the state defers syncs, not synced here.
  struct smf_pack_spec spec = {.source_dir = p->dir, .output = p->tmp, .sync = p->sync};
  struct smf_pack_result res;
  p->rc = smf_archive_pack(&spec, &res, &p->err);
  return NULL;
}

int local_dirs_pack_put(const struct target *t, const char *const *dirs, const char *const *uris,
                        size_t n, struct smf_error *err)
{
  static atomic_uint counter;
  char *tmpdir = smf_xasprintf("%s/tmp", t->state_dir);
  int rc = smf_mkdir_p(tmpdir, err);
  struct pack_one *p = smf_xcalloc(n + 1, sizeof(*p));
  pthread_t *th = smf_xcalloc(n + 1, sizeof(*th));
  bool *started = smf_xcalloc(n + 1, sizeof(*started));
  enum smf_pack_sync sync =
      local_store_defers_sync(local_impl_store(t)) ? SMF_PACK_SYNC_NONE : SMF_PACK_SYNC_FILE;
  for (size_t i = 0; i < n; i++) {
    p[i].dir = dirs[i];
    p[i].sync = sync;
    p[i].tmp = smf_xasprintf("%s/pack-%ld-%u.tar.gz", tmpdir, (long)getpid(),
                             atomic_fetch_add(&counter, 1));
  }
  // Packed side by side when each is synced: the syncs overlap instead of
  // queueing. Unsynced (the state database syncs them later), one after the
  // other: a thread's start (its stack, its malloc arena) costs more than it
  // saves on the small archives a job leaves most of the time.
  for (size_t i = 1; rc == 0 && sync != SMF_PACK_SYNC_NONE && i < n; i++) {
    started[i] = pthread_create(&th[i], NULL, pack_one_run, &p[i]) == 0;
  }
  bool mkdir_ok = rc == 0;
  for (size_t i = 0; mkdir_ok && i < n; i++) {
    if (started[i]) {
      pthread_join(th[i], NULL);
    } else {
      pack_one_run(&p[i]);
    }
    if (p[i].rc != 0 && rc == 0) {
      rc = p[i].rc;
      *err = p[i].err;
    }
  }
  if (rc == 0) {
    const char **tmps = smf_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
      tmps[i] = p[i].tmp;
    }
    rc = local_store_put_moves(local_impl_store(t), tmps, uris, n, err);
    free(tmps);
  }
  for (size_t i = 0; i < n; i++) {
    unlink(p[i].tmp);
    free(p[i].tmp);
  }
  free(started);
  free(th);
  free(p);
  free(tmpdir);
  return rc;
}

int local_file_put(const struct target *t, const char *path, const char *uri, struct smf_error *err)
{
  return local_store_put_file(local_impl_store(t), path, uri, err);
}
