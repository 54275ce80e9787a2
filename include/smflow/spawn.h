// spawn.h: the posix_spawn set-up shared by every child smflow starts, the
// program search of execvp done ahead of the spawn, and the test of whether a
// command line needs a shell at all.
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

/// Where argv0 may be, in the order a shell or execvp tries them: argv0 itself
/// when it holds a '/', else NAME in each entry of env's PATH (the system's
/// default path when env has none; an empty entry is the current directory).
/// NULL-terminated; caller frees with smf_spawn_paths_free.
char **smf_spawn_paths(const char *argv0, char *const *env);
/// Free what smf_spawn_paths returned (NULL is fine).
void smf_spawn_paths_free(char **paths);
/// The candidate of smf_spawn_paths(argv0, env) that execvp would run from the
/// directory cwd: the first regular file this process may execute (a relative
/// candidate is looked at from cwd and returned as it is, for a child that
/// changes into cwd before its exec). NULL when there is none (then a spawn
/// would only fail: every failed posix_spawn is a child that exits with 127).
/// Caller frees.
char *smf_spawn_which(const char *argv0, char *const *env, const char *cwd);

/// The words of a command line that a POSIX shell would run as one simple
/// command with no expansion at all, split on blanks (space, tab): NULL when the
/// line needs the shell. Like make, it needs one when it has quotes, `\`, `$`,
/// a backquote, a glob (`*`, `?`, `[`), a redirection, a pipe, `;`, `&`, `(`,
/// `)`, `{`, `}`, `~`, `#`, `!`, `^`, a newline or another control character,
/// an `=` in its first word (an assignment), a first word that is a shell
/// builtin or keyword (cd, export, echo, exit, if, for, ...), or no word at all.
/// NULL-terminated; caller frees with smf_spawn_paths_free.
char **smf_cmd_split_simple(const char *line);

#endif
