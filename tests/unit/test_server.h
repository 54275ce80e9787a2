// test_server.h: start and stop tests/tools/http_test_server.py (a real HTTP
// server on a free loopback port) from a unit test.
#pragma once

#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/util.h"
#include "test.h"

extern char **environ;

struct test_server {
  pid_t pid;
  int stdin_fd;
  int port;
};

/// Start the server (HTTPS with cert/key when both are given, else HTTP); it
/// stops when its stdin closes (test_server_stop).
static inline void test_server_start_tls(struct test_server *s, const char *cert,
                                         const char *key)
{
  const char *src = getenv("SMF_SOURCE_DIR");
  ASSERT(src != NULL);
  char *script = smf_xasprintf("%s/tests/tools/http_test_server.py", src);
  int in[2], out[2];
  ASSERT(pipe(in) == 0 && pipe(out) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  char py[] = "python3", tls[] = "--tls";
  char *argv[] = {py, script, cert ? tls : NULL, (char *)cert, (char *)key, NULL};
  ASSERT(posix_spawnp(&s->pid, "python3", &fa, NULL, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  s->stdin_fd = in[1];
  char line[32] = {0};
  size_t n = 0;
  while (n < sizeof line - 1 && read(out[0], line + n, 1) == 1 && line[n] != '\n') {
    n++;
  }
  close(out[0]);
  s->port = atoi(line);
  ASSERT(s->port > 0);
  free(script);
}

static inline void test_server_stop(struct test_server *s)
{
  close(s->stdin_fd);
  int st;
  waitpid(s->pid, &st, 0);
}

static inline void test_server_start(struct test_server *s)
{
  test_server_start_tls(s, NULL, NULL);
}
