// spawn.h: the posix_spawn set-up shared by every child smflow starts.
#ifndef SMFLOW_SPAWN_H
#define SMFLOW_SPAWN_H

#include <spawn.h>

/// Initialise fa and at (the caller destroys both with smf_spawn_destroy) for a
/// child in a session of its own (so that its whole process group can be
/// signalled), with an empty signal mask and every signal at its default
/// disposition, stdin from /dev/null, stdout and stderr onto out_fd and err_fd
/// (which the caller keeps and closes), started in cwd.
void smf_spawn_init(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, int out_fd, int err_fd,
                    const char *cwd);
/// Destroy what smf_spawn_init initialised.
void smf_spawn_destroy(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at);

#endif
