// jobfs.c: small filesystem helpers for job directories (run on the thread pool
// or in short, bounded steps).
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/local/local.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
  return (rc != 0 && errno != ENOENT) ? -1 : 0;
}

int local_rm_rf(const char *path, struct smf_error *err)
{
  if (path == NULL || path[0] == '\0' || strcmp(path, "/") == 0) {
    return SMF_ERR_SET(err, SMF_EINVAL, "refusing to remove '%s'", path ? path : "");
  }
  struct stat st;
  if (lstat(path, &st) != 0) {
    return errno == ENOENT ? 0 : SMF_ERR_SET(err, SMF_EIO, "%s: %s", path, strerror(errno));
  }
  if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) != 0) {
    return SMF_ERR_SET(err, SMF_EIO, "cannot remove %s: %s", path, strerror(errno));
  }
  return 0;
}

int local_json_write_replace(const char *path, const json_t *v, struct smf_error *err)
{
  char *tmp = smf_xasprintf("%s.tmp.%ld", path, (long)getpid());
  int rc = local_json_write_scratch(tmp, v, err);
  if (rc == 0 && rename(tmp, path) != 0) {
    rc = SMF_ERR_SET(err, SMF_EIO, "%s: rename: %s", path, strerror(errno));
  }
  if (rc != 0) {
    unlink(tmp);
  }
  free(tmp);
  return rc;
}

int local_json_write_scratch(const char *path, const json_t *v, struct smf_error *err)
{
  if (json_dump_file(v, path, JSON_COMPACT | JSON_ENSURE_ASCII) != 0) {
    return SMF_ERR_SET(err, SMF_EIO, "%s: cannot write JSON", path);
  }
  return 0;
}

int local_json_read(const char *path, json_t **out, struct smf_error *err)
{
  *out = NULL;
  json_error_t jerr;
  json_t *v = json_load_file(path, JSON_DECODE_ANY, &jerr);
  if (v == NULL) {
    int code = access(path, F_OK) == 0 ? SMF_EPARSE : SMF_ENOENT;
    return SMF_ERR_SET(err, code, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
  }
  *out = v;
  return 0;
}

char *local_file_tail(const char *path, size_t max)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return NULL;
  }
  off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
  size_t want = (size_t)(st.st_size - from);
  char *buf = smf_xmalloc(want + 1);
  ssize_t n = pread(fd, buf, want, from);
  close(fd);
  if (n < 0) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}
