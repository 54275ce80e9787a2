// spawn.c: the posix_spawn set-up shared by every child smflow starts.
#include "smflow/spawn.h"

#include <fcntl.h>
#include <signal.h>

void smf_spawn_init(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, int out_fd, int err_fd,
                    const char *cwd)
{
  posix_spawn_file_actions_init(fa);
  posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(fa, err_fd, 2);
  posix_spawn_file_actions_addchdir_np(fa, cwd);
  posix_spawnattr_init(at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(at, &none);
  posix_spawnattr_setsigdefault(at, &all);
  posix_spawnattr_setflags(at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

void smf_spawn_destroy(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at)
{
  posix_spawn_file_actions_destroy(fa);
  posix_spawnattr_destroy(at);
}
