// hostexec.c: starting the host process of a local job, and a detached
// process (a model server), both with posix_spawn.
//
// The host is smflow-jobhost (jobhost_main.c), a small program of its own,
// found where smflow's loadable modules are (smf_module_program). It is
// started in a new session (its process group is the job's: stop and max_run
// signal it), with stdin on /dev/null and stdout/stderr appended to the host's
// log, and the job's environment as its environment; it runs the command,
// waits for it and records its status ("$?") in the exit file, which is
// removed here first. Before that it tells the status on a pipe (its
// descriptor 3, --status-fd) whose read end the caller watches: the script's
// end is known without waiting for the exit file and the host's own exit.
// posix_spawn's child shares smflow's memory until the exec (vfork
// semantics): nothing of smflow is copied. The caller waits until the exec,
// which on a busy machine can take milliseconds (the child waits for a CPU):
// job.c starts its hosts on the thread pool. A fork of smflow on the loop did
// this before: ~0.45 ms for the page tables of Lua, SQLite and libuv's
// threads, then copy-on-write faults in both processes.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/module.h"
#include "smflow/spawn.h"
#include "target/local/local.h"

#define JOBHOST_PROGRAM "smflow-jobhost"

// A pidfd for the child just started (its exit wakes the loop); 0, or the
// errno after killing the child (process group too) and reaping it.
static int host_watch(pid_t pid, int *pidfd_out)
{
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    int e = errno;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return e;
  }
  *pidfd_out = pidfd;
  return 0;
}

// The job host's end of the status pipe, in the host (and as its argument).
#define JOBHOST_STATUS_FD 3
#define JOBHOST_STATUS_FD_ARG "3"

// argv of smflow-jobhost for spec: the options, "--", then the command
// (borrowed strings; caller frees the array).
static char **host_argv(const struct local_host_spec *spec, size_t argc)
{
  char **v = smf_xcalloc(argc + 9, sizeof(char *));
  v[0] = (char *)JOBHOST_PROGRAM;
  v[1] = (char *)"--cwd";
  v[2] = (char *)spec->cwd;
  v[3] = (char *)"--exit-file";
  v[4] = (char *)spec->exit_path;
  v[5] = (char *)"--status-fd";
  v[6] = (char *)JOBHOST_STATUS_FD_ARG;
  v[7] = (char *)"--";
  memcpy(v + 8, spec->argv, argc * sizeof(char *));
  return v;
}

// posix_spawn smflow-jobhost at path for spec, with status_wr as its
// JOBHOST_STATUS_FD: 0 and *pid, or an errno.
static int host_spawn(const char *path, const struct local_host_spec *spec, size_t argc, int log_fd,
                      int status_wr, pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
  // After the log's dups (log_fd may be JOBHOST_STATUS_FD); a dup2 onto itself
  // clears close-on-exec as well.
  posix_spawn_file_actions_adddup2(&fa, status_wr, JOBHOST_STATUS_FD);
  posix_spawnattr_init(&at);
  // The session (and so the process group) exists when posix_spawn returns: a
  // stop right away reaches the group. The host resets the signals itself.
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
  char **argv = host_argv(spec, argc);
  int e = posix_spawn(pid, path, &fa, &at, argv, spec->env);
  free(argv);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return e;
}

int local_host_start(const struct local_host_spec *spec, int64_t *pid_out, int *pidfd_out,
                     int *status_fd_out, struct smf_error *err)
{
  *status_fd_out = -1;
  size_t argc = 0;
  while (spec->argv[argc]) {
    argc++;
  }
  if (argc == 0) {
    return SMF_ERR_SET(err, SMF_EINVAL, "%s: no command to start", spec->name);
  }
  struct stat st;
  if (stat(spec->cwd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return SMF_ERR_SET(err, SMF_ECHILD, "%s: cannot start %s: no directory %s", spec->name,
                       spec->argv[0], spec->cwd);
  }
  struct smf_error perr = SMF_ERROR_INIT;
  char *path = smf_module_program(JOBHOST_PROGRAM, &perr);
  if (path == NULL) {
    return SMF_ERR_SET(err, SMF_ECHILD, "%s: cannot start %s: %s", spec->name, spec->argv[0],
                       perr.message);
  }
  int rc = 0;
  int pipefd[2] = {-1, -1};
  int log_fd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    rc = SMF_ERR_SET(err, SMF_EIO, "%s: %s", spec->log_path, strerror(errno));
    goto fail;
  }
  if (pipe2(pipefd, O_CLOEXEC) != 0 || fcntl(pipefd[0], F_SETFL, O_NONBLOCK) != 0) {
    rc = SMF_ERR_SET(err, SMF_EIO, "%s: pipe: %s", spec->name, strerror(errno));
    goto fail;
  }
  unlink(spec->exit_path);
  pid_t pid = -1;
  int e = host_spawn(path, spec, argc, log_fd, pipefd[1], &pid);
  if (e != 0) {
    rc = SMF_ERR_SET(err, SMF_ECHILD, "%s: cannot start %s: %s: %s", spec->name, spec->argv[0],
                     path, strerror(e));
    goto fail;
  }
  if ((e = host_watch(pid, pidfd_out)) != 0) {
    rc = SMF_ERR_SET(err, SMF_ECHILD, "%s: cannot watch %s: pidfd_open: %s", spec->name,
                     spec->argv[0], strerror(e));
    goto fail;
  }
  *pid_out = pid;
  *status_fd_out = pipefd[0];
  pipefd[0] = -1;
fail:
  for (int i = 0; i < 2; i++) {
    if (pipefd[i] >= 0) {
      close(pipefd[i]);
    }
  }
  if (log_fd >= 0) {
    close(log_fd);
  }
  free(path);
  return rc;
}

int local_spawn_detached(char *const *argv, char *const *env, const char *cwd, int out_fd,
                         int64_t *pid_out, int *pidfd_out, struct smf_error *err)
{
  // The program is looked up here rather than by spawning each PATH candidate
  // in turn: a candidate that is not there would cost a whole child (clone,
  // failed execve, exit 127) before the right one starts.
  char *path = smf_spawn_which(argv[0], env, cwd);
  if (path == NULL) {
    return SMF_ERR_SET(err, SMF_ECHILD, "cannot start %s: %s", argv[0],
                       strchr(argv[0], '/') ? "no such executable file" : "not found on PATH");
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  smf_spawn_init(&fa, &at, out_fd, out_fd, cwd);
  pid_t pid = -1;
  int e = posix_spawn(&pid, path, &fa, &at, argv, env);
  smf_spawn_destroy(&fa, &at);
  free(path);
  if (e != 0) {
    return SMF_ERR_SET(err, SMF_ECHILD, "cannot start %s: %s", argv[0], strerror(e));
  }
  if ((e = host_watch(pid, pidfd_out)) != 0) {
    return SMF_ERR_SET(err, SMF_ECHILD, "cannot watch %s: pidfd_open: %s", argv[0], strerror(e));
  }
  *pid_out = pid;
  return 0;
}
