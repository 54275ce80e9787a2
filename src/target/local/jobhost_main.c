// jobhost_main.c: smflow-jobhost, the host process of one local job's host.
//
//   smflow-jobhost --cwd DIR --exit-file FILE [--status-fd N] [--] COMMAND [ARG...]
//
// smflow starts it (hostexec.c) with posix_spawn, in a session of its own,
// with stdin on /dev/null, stdout and stderr on the host's log, and the job's
// environment as its environment. It is a program of its own, linked with the
// C library alone (statically when the build allows it) and the two files of
// smflow its PATH search needs (spawn_paths.c, memory.c), so that starting it
// copies nothing of smflow: no fork of smflow's address space, no
// copy-on-write faults in either process.
//
// It starts a new session when it is not yet a session leader (so that it and
// everything it starts form one process group), closes every descriptor above
// stderr, restores the default signal dispositions and an empty mask, enters
// DIR, then ignores SIGTERM, SIGINT and SIGHUP itself (a signal sent to the
// process group reaches the command; the host stays to record its status),
// vforks and execs COMMAND as a shell would (each candidate on the PATH of its
// environment in turn; a file that is no executable format runs under
// /bin/sh; 127 and "command not found", or 126 and "Permission denied", in the
// log otherwise), waits for it, writes its status ("$?": the exit code, or
// 128 + the signal) to FILE and exits with it. FILE is read only once the host
// is gone, so a plain write is enough: a host killed mid-write leaves an empty
// or missing file, which reads as "killed".
//
// With --status-fd N (the write end of a pipe smflow keeps the other end of),
// N is kept open (close-on-exec: the command never sees it) and the status is
// written to it first, "N\n", as soon as the command is reaped: smflow reads
// the script's end there instead of waiting for the exit file and the host's
// own exit. The exit file is still written after it, for a smflow that
// re-attaches. A closed pipe (smflow gone) is ignored.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/spawn.h"
#include "smflow/util.h"

extern char **environ;

// What the vfork child needs, all prepared before the vfork.
struct jobhost {
  const char *cwd, *exit_path;
  int status_fd;             // --status-fd, or -1
  char **argv;               // the command
  char **paths;              // where argv[0] may be: PATH entries in order, or argv[0] itself
  char **sh_argv;            // {"/bin/sh", <path>, argv[1..], NULL}: a script without #!
  char *not_found, *denied;  // messages for the log
};

static void jobhost_noop(int sig)
{
  (void)sig;
}

static void jobhost_say(const char *msg)
{
  ssize_t w = write(2, msg, strlen(msg));
  (void)w;
}

// 0 and x filled from argv, or -1 after a usage message.
static int jobhost_args(int argc, char **argv, struct jobhost *x)
{
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (argv[i][0] != '-') {
      break;
    }
    const char *status_fd = NULL;
    const char **opt = strcmp(argv[i], "--cwd") == 0         ? &x->cwd
                       : strcmp(argv[i], "--exit-file") == 0 ? &x->exit_path
                       : strcmp(argv[i], "--status-fd") == 0 ? &status_fd
                                                             : NULL;
    if (opt == NULL || i + 1 >= argc) {
      i = argc;  // an unknown option, or one without its value
      break;
    }
    *opt = argv[++i];
    if (status_fd != NULL) {
      char *end = NULL;
      long fd = strtol(status_fd, &end, 10);
      x->status_fd = (*end == '\0' && fd > 2 && fd < INT_MAX) ? (int)fd : -2;
    }
  }
  if (x->cwd == NULL || x->exit_path == NULL || i >= argc || x->status_fd == -2) {
    jobhost_say(
        "usage: smflow-jobhost --cwd DIR --exit-file FILE [--status-fd N] [--] COMMAND [ARG...]\n");
    return -1;
  }
  x->argv = argv + i;
  return 0;
}

static void jobhost_prepare(struct jobhost *x)
{
  size_t argc = 0;
  while (x->argv[argc]) {
    argc++;
  }
  x->paths = smf_spawn_paths(x->argv[0], environ);
  x->sh_argv = smf_xcalloc(argc + 2, sizeof(char *));
  x->sh_argv[0] = (char *)"/bin/sh";
  memcpy(x->sh_argv + 2, x->argv + 1, (argc - 1) * sizeof(char *));
  bool slash = strchr(x->argv[0], '/') != NULL;
  x->not_found = smf_xasprintf("smflow: %s: %s\n", x->argv[0],
                               slash ? "No such file or directory" : "command not found");
  x->denied = smf_xasprintf("smflow: %s: Permission denied\n", x->argv[0]);
}

// Close the descriptors from..to (inclusive).
static void jobhost_close_fds(unsigned from, unsigned to)
{
  if (from > to || close_range(from, to, 0) == 0) {
    return;
  }
  long max = sysconf(_SC_OPEN_MAX);
  unsigned last = max > 0 && max < 65536 ? (unsigned)max : 65536;
  for (unsigned fd = from; fd <= to && fd < last; fd++) {
    close((int)fd);
  }
}

// A new session, no inherited descriptor above stderr but keep (-1: none; it
// becomes close-on-exec), default signals. Returns keep, or -1 when it is not
// an open descriptor.
static int jobhost_detach(int keep)
{
  if (getsid(0) != getpid()) {
    setsid();
  }
  if (keep > 2 && fcntl(keep, F_SETFD, FD_CLOEXEC) == 0) {
    jobhost_close_fds(3, (unsigned)keep - 1);
    jobhost_close_fds((unsigned)keep + 1, ~0U);
  } else {
    jobhost_close_fds(3, ~0U);
    keep = -1;
  }
  struct sigaction sa = {.sa_handler = SIG_DFL};
  for (int s = 1; s < NSIG; s++) {
    sigaction(s, &sa, NULL);  // KILL, STOP and the RT signals glibc keeps fail: fine
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  return keep;
}

// The command itself (in the vfork child): each candidate path in turn, as a
// shell searches PATH; a file that is no executable format runs under /bin/sh.
static void jobhost_exec(const struct jobhost *x) __attribute__((noreturn));

static void jobhost_exec(const struct jobhost *x)
{
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGTERM, &dfl, NULL);
  sigaction(SIGINT, &dfl, NULL);
  sigaction(SIGHUP, &dfl, NULL);
  bool denied = false;
  for (char **p = x->paths; *p; p++) {
    execve(*p, x->argv, environ);
    if (errno == ENOEXEC) {
      x->sh_argv[1] = *p;
      execve("/bin/sh", x->sh_argv, environ);
    }
    denied = denied || errno == EACCES;
  }
  jobhost_say(denied ? x->denied : x->not_found);
  _exit(denied ? 126 : 127);
}

// "N\n" for v into buf (at least 16 bytes); returns the length.
static size_t jobhost_fmt_status(int v, char *buf)
{
  int n = snprintf(buf, 16, "%d\n", v < 0 ? 0 : v);
  return n > 0 ? (size_t)n : 0;
}

// The status on the pipe to smflow (SIGPIPE ignored: smflow may be gone; the
// command was reaped, so nothing inherits the disposition).
static void jobhost_tell(int fd, const char *buf, size_t n)
{
  if (fd < 0) {
    return;
  }
  struct sigaction ign = {.sa_handler = SIG_IGN};
  sigaction(SIGPIPE, &ign, NULL);
  ssize_t w = write(fd, buf, n);
  (void)w;
  close(fd);
}

int main(int argc, char **argv)
{
  struct jobhost x = {.status_fd = -1};
  if (jobhost_args(argc, argv, &x) != 0) {
    _exit(127);
  }
  x.status_fd = jobhost_detach(x.status_fd);
  if (chdir(x.cwd) != 0) {
    jobhost_say("smflow: cannot enter the job's code directory\n");
    _exit(127);
  }
  jobhost_prepare(&x);
  struct sigaction sa = {.sa_handler = jobhost_noop};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  pid_t pid = vfork();
  if (pid == 0) {
    jobhost_exec(&x);
  }
  int ws = 0, rc = 127;
  if (pid > 0) {
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 127;
  }
  char buf[16];
  size_t n = jobhost_fmt_status(rc, buf);
  jobhost_tell(x.status_fd, buf, n);
  int fd = open(x.exit_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ssize_t w = write(fd, buf, n);
    (void)w;
    close(fd);
  }
  _exit(rc);
}
