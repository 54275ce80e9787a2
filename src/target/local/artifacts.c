// artifacts.c: the local target's bridge to the object store (store.c) and the
// archive module: channels, code, packed outputs. Synchronous: thread pool only.
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

int local_dir_pack_put(const struct target *t, const char *dir, const char *uri,
                       struct smf_error *err)
{
  static atomic_uint counter;
  char *tmpdir = smf_xasprintf("%s/tmp", t->state_dir);
  char *tmp =
      smf_xasprintf("%s/pack-%ld-%u.tar.gz", tmpdir, (long)getpid(), atomic_fetch_add(&counter, 1));
  int rc = smf_mkdir_p(tmpdir, err);
  if (rc == 0) {
    // Synced once; put_move renames it into the store and syncs that directory.
    struct smf_pack_spec spec = {.source_dir = dir, .output = tmp, .sync = SMF_PACK_SYNC_FILE};
    struct smf_pack_result res;
    rc = smf_archive_pack(&spec, &res, err);
  }
  if (rc == 0) {
    rc = local_store_put_move(local_impl_store(t), tmp, uri, err);  // packed durably: no copy
  }
  unlink(tmp);
  free(tmp);
  free(tmpdir);
  return rc;
}

int local_file_put(const struct target *t, const char *path, const char *uri, struct smf_error *err)
{
  return local_store_put_file(local_impl_store(t), path, uri, err);
}
