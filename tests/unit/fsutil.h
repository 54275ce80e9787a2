// fsutil.h: small filesystem and process helpers shared by the unit tests
// (temporary trees, running a command and capturing its output).
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/util.h"
#include "test.h"

// A new empty directory under /tmp. Caller frees.
static inline char *tu_mkdtemp(const char *tag)
{
  char *p = smf_xasprintf("/tmp/smf-%s-XXXXXX", tag);
  ASSERT(mkdtemp(p) != NULL);
  return p;
}

static inline void tu_rm_rf(const char *path)
{
  char *cmd = smf_xasprintf("rm -rf '%s'", path);
  ASSERT_EQ(system(cmd), 0);
  free(cmd);
}

// Write root/rel (parents created) with the given content and mode.
static inline void tu_write(const char *root, const char *rel, const void *data, size_t len,
                            mode_t mode)
{
  char *path = smf_xasprintf("%s/%s", root, rel);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  ASSERT_EQ(smf_mkdir_p(path, NULL), 0);
  *slash = '/';
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(write(fd, data, len), (long long)len);
  ASSERT_EQ(fchmod(fd, mode), 0);
  close(fd);
  free(path);
}

static inline void tu_write_str(const char *root, const char *rel, const char *s)
{
  tu_write(root, rel, s, strlen(s), 0644);
}

static inline bool tu_exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}

// Run a shell command; return its stdout (caller frees) and store the exit status.
static inline char *tu_run(const char *cmd, int *status)
{
  FILE *f = popen(cmd, "r");
  ASSERT(f != NULL);
  struct smf_buf b = SMF_BUF_INIT;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    smf_buf_append(&b, chunk, n);
  }
  int st = pclose(f);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  smf_buf_cstr(&b);
  return b.data ? smf_buf_steal(&b) : smf_xstrdup("");
}

// Run a command that must succeed; return its output (caller frees).
static inline char *tu_run_ok(const char *cmd)
{
  int status = 0;
  char *out = tu_run(cmd, &status);
  if (status != 0) {
    fprintf(stderr, "command failed (%d): %s\n%s\n", status, cmd, out);
  }
  ASSERT_EQ(status, 0);
  return out;
}

// Count the entries of a directory (without . and ..).
static inline int tu_count_entries(const char *dir)
{
  char *cmd = smf_xasprintf("ls -A '%s' | wc -l", dir);
  char *out = tu_run_ok(cmd);
  int n = atoi(out);
  free(out);
  free(cmd);
  return n;
}
