// bench_pyshim: the timing shim bench_quickstart.sh puts first on PATH as
// "python3". It records when the interpreter it stands for started and ended,
// with as little of its own cost as possible:
//
//   clock_gettime(CLOCK_REALTIME) -> write(2) "start NS PID NAME" -> fork ->
//   child: execv(real interpreter) / parent: waitpid -> clock_gettime ->
//   write(2) "end NS PID NAME" -> exit with the child's status.
//
// One append per line (O_APPEND, a single write(2) each: lines of concurrent
// shims never interleave). Signals the shim receives (SIGTERM, SIGINT, SIGHUP)
// are forwarded to the interpreter, and a child killed by a signal makes the
// shim die of the same signal, so whoever runs "python3" sees the same status.
//
// Environment: SMF_PYSHIM_REAL (the interpreter to run), SMF_PYSHIM_LOG (the
// intervals file). Not linked against anything of smflow's own: a benchmark
// instrument only.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
  if (child_pid > 0) {
    kill((pid_t)child_pid, sig);
  }
}

static long long now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// The script's base name: the first argument that is not an option (-S, -u).
static const char *script_name(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-') {
      const char *slash = strrchr(argv[i], '/');
      return slash ? slash + 1 : argv[i];
    }
  }
  return "-";
}

static void record(int fd, const char *what, long long ns, const char *name)
{
  char line[512];
  int n = snprintf(line, sizeof line, "%s %lld %ld %s\n", what, ns, (long)getpid(), name);
  if (fd >= 0 && n > 0 && (size_t)n < sizeof line) {
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
  }
}

int main(int argc, char **argv)
{
  const char *real = getenv("SMF_PYSHIM_REAL");
  const char *log = getenv("SMF_PYSHIM_LOG");
  if (!real || !log) {
    fprintf(stderr, "bench_pyshim: SMF_PYSHIM_REAL and SMF_PYSHIM_LOG must be set\n");
    return 127;
  }
  const char *name = script_name(argc, argv);
  int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  record(fd, "start", now_ns(), name);
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_pyshim: fork");
    return 127;
  }
  if (pid == 0) {
    argv[0] = (char *)real;
    execv(real, argv);
    perror("bench_pyshim: exec");
    _exit(127);
  }
  child_pid = pid;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  record(fd, "end", now_ns(), name);
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}
