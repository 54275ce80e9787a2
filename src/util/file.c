// file.c: whole-file reads, atomic writes, mkdir -p.
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/error.h"
#include "smflow/util.h"

int smf_file_read(const char *path, char **out, size_t *len, struct smf_error *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return SMF_ERR_SET(err, errno == ENOENT ? SMF_ENOENT : SMF_EIO, "%s: %s", path,
                       strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return SMF_ERR_SET(err, SMF_EIO, "%s: %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return SMF_ERR_SET(err, SMF_EIO, "%s: is a directory, not a file", path);
  }
  struct smf_buf b = SMF_BUF_INIT;
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      int e = errno;
      close(fd);
      smf_buf_free(&b);
      return SMF_ERR_SET(err, SMF_EIO, "%s: %s", path, strerror(e));
    }
    if (n == 0) {
      break;
    }
    smf_buf_append(&b, chunk, (size_t)n);
  }
  close(fd);
  if (len) {
    *len = b.len;
  }
  *out = smf_buf_steal(&b);
  return 0;
}

static int smf__fsync_dir(const char *path)
{
  char *copy = smf_xstrdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(copy);
  if (fd < 0) {
    return -1;
  }
  int rc = fsync(fd);
  close(fd);
  return rc;
}

// A temporary file beside path, renamed over it; sync: the file and then its
// directory are synced too.
static int file__replace(const char *path, const void *data, size_t len, bool sync,
                         struct smf_error *err)
{
  char *tmp = smf_xasprintf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return SMF_ERR_SET(err, SMF_EIO, "%s: %s", path, strerror(e));
  }
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      goto fail;
    }
    p += n;
    left -= (size_t)n;
  }
  if (sync && fsync(fd) != 0) {
    goto fail;
  }
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    goto fail;
  }
  free(tmp);
  if (sync) {
    smf__fsync_dir(path);
  }
  return 0;

fail:;
  int e = errno;
  if (fd >= 0) {
    close(fd);
  }
  unlink(tmp);
  free(tmp);
  return SMF_ERR_SET(err, SMF_EIO, "%s: %s", path, strerror(e));
}

int smf_file_write_atomic(const char *path, const void *data, size_t len, struct smf_error *err)
{
  return file__replace(path, data, len, true, err);
}

int smf_file_write_replace(const char *path, const void *data, size_t len, struct smf_error *err)
{
  return file__replace(path, data, len, false, err);
}

static int mkdir__fail(const char *dir, struct smf_error *err)
{
  int e = errno;
  return SMF_ERR_SET(err, SMF_EIO, "cannot create directory %s: %s", dir, strerror(e));
}

// Bottom-up: the directory itself first (it usually exists, or only its last
// level is missing: one system call), then up to the deepest ancestor in
// place, then down again creating each level.
int smf_mkdir_p(const char *path, struct smf_error *err)
{
  if (mkdir(path, 0755) == 0 || errno == EEXIST) {
    return 0;
  }
  if (errno != ENOENT) {
    return mkdir__fail(path, err);
  }
  char *copy = smf_xstrdup(path);
  size_t len = strlen(copy);
  size_t *cuts = smf_xcalloc(len + 1, sizeof(*cuts));
  size_t n = 0, end = len;
  int rc = 0;
  bool top = true;  // the loop ran out of levels: the first one is still to make
  while (end > 0) {
    size_t j = end;
    while (j > 0 && copy[j - 1] != '/') {
      j--;
    }
    if (j <= 1) {
      break;  // no parent left to cut off (a relative first level, or "/x")
    }
    copy[j - 1] = '\0';
    cuts[n++] = j - 1;
    end = j - 1;
    if (mkdir(copy, 0755) == 0 || errno == EEXIST) {
      top = false;
      break;
    }
    if (errno != ENOENT) {
      rc = mkdir__fail(copy, err);
      goto done;
    }
  }
  if (top && n > 0 && mkdir(copy, 0755) != 0 && errno != EEXIST) {
    rc = mkdir__fail(copy, err);
    goto done;
  }
  while (n > 0) {
    copy[cuts[--n]] = '/';
    if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
      rc = mkdir__fail(copy, err);
      goto done;
    }
  }
done:
  free(cuts);
  free(copy);
  return rc;
}

const char *smf_share_dir(const char *given, const char *probe)
{
  if (given && *given) {
    return given;
  }
  const char *env = getenv("SMFLOW_SHARE_DIR");
  if (env && *env) {
    return env;
  }
#ifdef SMF_SHARE_DIR
  char path[4096];
  int n = snprintf(path, sizeof(path), "%s/%s", SMF_SHARE_DIR, probe);
  if (n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0) {
    return SMF_SHARE_DIR;
  }
#else
  (void)probe;
#endif
#ifdef SMF_SOURCE_SHARE_DIR
  return SMF_SOURCE_SHARE_DIR;
#else
  return "share/smflow";
#endif
}
