// hostexec.c: starting one host process of a local job without a shell.
//
// The host is a fork of this process that runs only async-signal-safe code:
// it starts a new session, points stdin at /dev/null and stdout/stderr at the
// host's log, closes every other descriptor (the state directory's lock among
// them), restores default signal dispositions, then vforks and execs the
// command and waits for it. When the command ends the host writes its status
// ("$?" as a shell reports it: the exit code, or 128 + the signal) to the exit
// file and exits with it. SIGTERM, SIGINT and SIGHUP sent to the session's
// process group reach the command and are caught (ignored) by the host, which
// stays to record the status. Everything the fork needs (the candidate paths
// of the command on the job's PATH, messages) is prepared before the fork.
//
// This is what a `bash -c 'trap : TERM INT HUP; "$@"; echo $? > FILE'` wrapper
// did, minus starting bash and bash starting the command: a few milliseconds
// per host. The exit file is read only once the host is gone (so a plain write
// is enough: a host killed mid-write leaves an empty or missing file, which
// reads as "killed").
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/spawn.h"
#include "target/local/local.h"

// What the forked host needs, all prepared (allocated) before the fork.
struct host_exec {
  char *const *argv;
  char *const *env;
  char **paths;    // where argv[0] may be: PATH entries in order, or argv[0] itself
  char **sh_argv;  // {"/bin/sh", <path>, argv[1..], NULL}: a script without #!
  const char *cwd, *exit_path;
  char *not_found, *denied;  // messages for the log
  int null_fd, log_fd;
  int max_fd;  // when close_range is missing (Linux < 5.9)
};

static void host_noop(int sig)
{
  (void)sig;
}

static void host_say(const char *msg)
{
  ssize_t w = write(2, msg, strlen(msg));
  (void)w;
}

// "N\n" into buf (at least 16 bytes); returns the length.
static size_t host_fmt_status(int v, char *buf)
{
  char tmp[16];
  size_t n = 0, len = 0;
  unsigned u = (unsigned)(v < 0 ? 0 : v);
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u && n < sizeof(tmp));
  while (n) {
    buf[len++] = tmp[--n];
  }
  buf[len++] = '\n';
  return len;
}

// The command itself (in the vfork child): each candidate path in turn, as a
// shell searches PATH; a file that is no executable format runs under /bin/sh.
static void host_exec_command(const struct host_exec *x)
{
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGTERM, &dfl, NULL);
  sigaction(SIGINT, &dfl, NULL);
  sigaction(SIGHUP, &dfl, NULL);
  bool denied = false;
  for (char **p = x->paths; *p; p++) {
    execve(*p, x->argv, x->env);
    if (errno == ENOEXEC) {
      x->sh_argv[1] = *p;
      execve("/bin/sh", x->sh_argv, x->env);
    }
    denied = denied || errno == EACCES;
  }
  host_say(denied ? x->denied : x->not_found);
  _exit(denied ? 126 : 127);
}

static void host_child(const struct host_exec *x) __attribute__((noreturn));

static void host_child(const struct host_exec *x)
{
  setsid();
  prctl(PR_SET_NAME, "smflow-host", 0, 0, 0);
  if (dup2(x->null_fd, 0) < 0 || dup2(x->log_fd, 1) < 0 || dup2(x->log_fd, 2) < 0) {
    _exit(127);
  }
  if (close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < x->max_fd; fd++) {
      close(fd);
    }
  }
  struct sigaction sa = {.sa_handler = SIG_DFL};
  for (int s = 1; s < NSIG; s++) {
    sigaction(s, &sa, NULL);  // KILL, STOP and the RT signals glibc keeps fail: fine
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (chdir(x->cwd) != 0) {
    host_say("smflow: cannot enter the job's code directory\n");
    _exit(127);
  }
  sa.sa_handler = host_noop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  pid_t pid = vfork();
  if (pid == 0) {
    host_exec_command(x);
  }
  int ws = 0, rc = 127;
  if (pid > 0) {
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 127;
  }
  int fd = open(x->exit_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    char buf[16];
    ssize_t w = write(fd, buf, host_fmt_status(rc, buf));
    (void)w;
    close(fd);
  }
  _exit(rc);
}

static void host_exec_free(struct host_exec *x)
{
  smf_spawn_paths_free(x->paths);
  free(x->sh_argv);
  free(x->not_found);
  free(x->denied);
  if (x->null_fd >= 0) {
    close(x->null_fd);
  }
  if (x->log_fd >= 0) {
    close(x->log_fd);
  }
}

static int host_exec_prepare(const struct local_host_spec *spec, struct host_exec *x,
                             struct smf_error *err)
{
  size_t argc = 0;
  while (spec->argv[argc]) {
    argc++;
  }
  *x = (struct host_exec){.argv = spec->argv,
                          .env = spec->env,
                          .cwd = spec->cwd,
                          .exit_path = spec->exit_path,
                          .null_fd = -1,
                          .log_fd = -1};
  if (argc == 0) {
    return SMF_ERR_SET(err, SMF_EINVAL, "%s: no command to start", spec->name);
  }
  struct stat st;
  if (stat(spec->cwd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return SMF_ERR_SET(err, SMF_ECHILD, "%s: cannot start %s: no directory %s", spec->name,
                       spec->argv[0], spec->cwd);
  }
  x->paths = smf_spawn_paths(spec->argv[0], spec->env);
  x->sh_argv = smf_xcalloc(argc + 2, sizeof(char *));
  x->sh_argv[0] = (char *)"/bin/sh";
  memcpy(x->sh_argv + 2, spec->argv + 1, (argc - 1) * sizeof(char *));
  bool slash = strchr(spec->argv[0], '/') != NULL;
  x->not_found = smf_xasprintf("smflow: %s: %s\n", spec->argv[0],
                               slash ? "No such file or directory" : "command not found");
  x->denied = smf_xasprintf("smflow: %s: Permission denied\n", spec->argv[0]);
  long max = sysconf(_SC_OPEN_MAX);
  x->max_fd = max > 0 && max < 65536 ? (int)max : 65536;
  x->null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  x->log_fd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (x->null_fd < 0 || x->log_fd < 0) {
    return SMF_ERR_SET(err, SMF_EIO, "%s: %s", x->log_fd < 0 ? spec->log_path : "/dev/null",
                       strerror(errno));
  }
  return 0;
}

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

int local_host_fork(const struct local_host_spec *spec, int64_t *pid_out, int *pidfd_out,
                    struct smf_error *err)
{
  struct host_exec x;
  int rc = host_exec_prepare(spec, &x, err);
  if (rc != 0) {
    host_exec_free(&x);
    return rc;
  }
  unlink(spec->exit_path);
  pid_t pid = fork();
  if (pid == 0) {
    host_child(&x);
  }
  int e = errno;
  host_exec_free(&x);
  if (pid < 0) {
    return SMF_ERR_SET(err, SMF_ECHILD, "%s: cannot start %s: fork: %s", spec->name, spec->argv[0],
                       strerror(e));
  }
  if ((e = host_watch(pid, pidfd_out)) != 0) {
    return SMF_ERR_SET(err, SMF_ECHILD, "%s: cannot watch %s: pidfd_open: %s", spec->name,
                       spec->argv[0], strerror(e));
  }
  *pid_out = pid;
  return 0;
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
