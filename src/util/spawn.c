// spawn.c: the posix_spawn set-up shared by every child smflow starts, the
// program search done before a spawn, and the simple-command test that lets a
// `run` step's string command skip `/bin/sh -c` (see spawn.h).
#include "smflow/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/util.h"

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

// A file execve could start: regular, with execute permission for the
// effective ids (what execvp's search skips on EACCES).
static bool spawn__runnable(const char *path, const char *cwd)
{
  char *full = path[0] == '/' || cwd == NULL ? NULL : smf_xasprintf("%s/%s", cwd, path);
  const char *p = full ? full : path;
  struct stat st;
  bool ok = stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
            faccessat(AT_FDCWD, p, X_OK, AT_EACCESS) == 0;
  free(full);
  return ok;
}

char *smf_spawn_which(const char *argv0, char *const *env, const char *cwd)
{
  if (argv0 == NULL || argv0[0] == '\0') {
    return NULL;
  }
  char **paths = smf_spawn_paths(argv0, env);
  char *found = NULL;
  for (char **p = paths; *p && found == NULL; p++) {
    if (spawn__runnable(*p, cwd)) {
      found = smf_xstrdup(*p);
    }
  }
  smf_spawn_paths_free(paths);
  return found;
}

// Special built-ins, regular built-ins and reserved words of dash and of bash
// (either may be /bin/sh): as the first word they mean something else than the
// program of that name, or no program at all.
static const char *const spawn__shell_words[] = {
    ".",       ":",        "[",       "[[",       "]]",      "alias",   "bg",      "bind",
    "break",   "builtin",  "caller",  "case",     "cd",      "chdir",   "command", "compgen",
    "complete", "compopt", "continue", "coproc",  "declare", "dirs",    "disown",  "do",
    "done",    "echo",     "elif",    "else",     "enable",  "esac",    "eval",    "exec",
    "exit",    "export",   "false",   "fc",       "fg",      "fi",      "for",     "function",
    "getopts", "hash",     "help",    "history",  "if",      "in",      "jobs",    "kill",
    "let",     "local",    "login",   "logout",   "mapfile", "popd",    "printf",  "pushd",
    "pwd",     "read",     "readarray", "readonly", "return", "select", "set",     "shift",
    "shopt",   "source",   "suspend", "test",     "then",    "time",    "times",   "trap",
    "true",    "type",     "typeset", "ulimit",   "umask",   "unalias", "unset",   "until",
    "wait",    "while",
};

static bool spawn__shell_word(const char *w, size_t n)
{
  for (size_t i = 0; i < sizeof(spawn__shell_words) / sizeof(spawn__shell_words[0]); i++) {
    if (strlen(spawn__shell_words[i]) == n && memcmp(spawn__shell_words[i], w, n) == 0) {
      return true;
    }
  }
  return false;
}

char **smf_cmd_split_simple(const char *line)
{
  static const char special[] = "'\"\\$`*?[]|&;<>(){}~#!^";
  size_t words = 0;
  for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f || strchr(special, *p)) {
      return NULL;
    }
    bool blank = *p == ' ' || *p == '\t';
    bool start = (p == (const unsigned char *)line || p[-1] == ' ' || p[-1] == '\t');
    words += !blank && start;
  }
  const char *first = line + strspn(line, " \t");
  size_t flen = strcspn(first, " \t");
  if (words == 0 || memchr(first, '=', flen) || spawn__shell_word(first, flen)) {
    return NULL;
  }
  char **v = smf_xcalloc(words + 1, sizeof(char *));
  const char *p = first;
  for (size_t k = 0; k < words; k++) {
    size_t len = strcspn(p, " \t");
    v[k] = smf_xstrndup(p, len);
    p += len;
    p += strspn(p, " \t");
  }
  return v;
}
