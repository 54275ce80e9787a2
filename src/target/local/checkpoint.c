// checkpoint.c: a training job's checkpoint directory on this machine. The
// container path (checkpoint_local_path, default /opt/ml/checkpoints) is mapped
// into each host's job directory; as SageMaker does, what is under
// checkpoint_s3_uri is downloaded there before the script starts and the
// directory is uploaded back when the job ends (files at the URI + their path).
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "target/local/local.h"

#define CKPT_DEFAULT "/opt/ml/checkpoints"
#define CKPT_OPT_ML "/opt/ml"

bool local_checkpoint_path_ok(const char *local_path)
{
  if (local_path == NULL) {
    return true;
  }
  if (local_path[0] != '/') {
    return false;
  }
  for (const char *p = local_path; (p = strstr(p, "..")) != NULL; p += 2) {
    if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0')) {
      return false;
    }
  }
  return true;
}

char *local_checkpoint_dir(const char *root, const char *local_path)
{
  const char *p = local_path ? local_path : CKPT_DEFAULT;
  size_t n = strlen(CKPT_OPT_ML);
  if (strncmp(p, CKPT_OPT_ML, n) == 0 && (p[n] == '/' || p[n] == '\0')) {
    p += n;
  }
  p += strspn(p, "/");
  size_t len = strlen(p);
  while (len > 0 && p[len - 1] == '/') {
    len--;
  }
  return len ? smf_xasprintf("%s/%.*s", root, (int)len, p) : smf_xstrdup(root);
}

// Upload every regular file under dir/rel to PREFIX/rel (recursive).
static int ckpt_put_tree(const struct target *t, const char *dir, const char *rel,
                         const char *prefix, struct smf_error *err)
{
  char *path = rel[0] ? smf_xasprintf("%s/%s", dir, rel) : smf_xstrdup(dir);
  DIR *d = opendir(path);
  int rc = 0;
  if (d == NULL) {
    rc = errno == ENOENT ? 0 : SMF_ERR_SET(err, SMF_EIO, "%s: %s", path, strerror(errno));
    free(path);
    return rc;
  }
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    char *sub = rel[0] ? smf_xasprintf("%s/%s", rel, e->d_name) : smf_xstrdup(e->d_name);
    char *full = smf_xasprintf("%s/%s", dir, sub);
    struct stat st;
    if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
      rc = ckpt_put_tree(t, dir, sub, prefix, err);
    } else if (lstat(full, &st) == 0 && S_ISREG(st.st_mode)) {
      char *uri = smf_xasprintf("%s/%s", prefix, sub);
      rc = local_file_put(t, full, uri, err);
      free(uri);
    }
    free(full);
    free(sub);
  }
  closedir(d);
  free(path);
  return rc;
}

int local_checkpoint_upload(const struct target *t, const char *dir, const char *uri,
                            struct smf_error *err)
{
  size_t n = strlen(uri);
  while (n > 0 && uri[n - 1] == '/') {
    n--;
  }
  char *prefix = smf_xstrndup(uri, n);
  int rc = ckpt_put_tree(t, dir, "", prefix, err);
  free(prefix);
  return rc;
}
