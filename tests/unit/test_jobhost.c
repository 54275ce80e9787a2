// test_jobhost.c: the host process of a local job (src/target/local/hostexec.c
// and jobhost_main.c): smflow-jobhost found where the modules are (a clear
// error naming every place looked at when it is missing), started with
// posix_spawn as a program of its own (not a fork of this process) in a
// session of its own, and running the command as a shell would, its status
// recorded in the exit file. Real processes, real files.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smflow/error.h"
#include "smflow/module.h"
#include "smflow/util.h"
#include "target/local/local.h"
#include "test.h"

extern char **environ;

static char *tmpdir(void)
{
  char tmpl[] = "/tmp/smf-jobhost-XXXXXX";
  ASSERT(mkdtemp(tmpl) != NULL);
  return smf_xstrdup(tmpl);
}

static void rm_rf(const char *dir)
{
  ASSERT_EQ(local_rm_rf(dir, NULL), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  ASSERT(fd >= 0);
  ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
  close(fd);
  ASSERT_EQ(chmod(path, mode), 0);
}

static char *read_text(const char *path)
{
  char *text = NULL;
  if (smf_file_read(path, &text, NULL, NULL) != 0) {
    return NULL;
  }
  return text;
}

// Wait for pid (a child of this process); its "$?".
static int reap(int64_t pid)
{
  int ws = 0;
  while (waitpid((pid_t)pid, &ws, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
}

// A host of dir: argv run in dir/code, log dir/host.log, exit file dir/host.exit.
struct host_run {
  char *code, *log, *exit;
  int64_t pid;
  int pidfd, status_fd;
};

static int host_start(const char *dir, char *const *argv, char *const *env, struct host_run *r,
                      struct smf_error *err)
{
  r->code = smf_xasprintf("%s/code", dir);
  r->log = smf_xasprintf("%s/host.log", dir);
  r->exit = smf_xasprintf("%s/host.exit", dir);
  mkdir(r->code, 0755);
  struct local_host_spec spec = {.name = "algo-1",
                                 .cwd = r->code,
                                 .argv = argv,
                                 .env = env ? env : environ,
                                 .log_path = r->log,
                                 .exit_path = r->exit};
  r->pid = -1;
  r->pidfd = -1;
  r->status_fd = -1;
  return local_host_start(&spec, &r->pid, &r->pidfd, &r->status_fd, err);
}

static void host_run_free(struct host_run *r)
{
  if (r->pidfd >= 0) {
    close(r->pidfd);
  }
  if (r->status_fd >= 0) {
    close(r->status_fd);
  }
  free(r->code);
  free(r->log);
  free(r->exit);
}

// The build tree's smflow-jobhost is found when nothing else is set (this test
// binary has no BIN/../lib/smflow); $SMFLOW_MODULE_DIR alone when it is set.
TEST(program_lookup)
{
  unsetenv("SMFLOW_MODULE_DIR");
  struct smf_error err = SMF_ERROR_INIT;
  char *path = smf_module_program("smflow-jobhost", &err);
  ASSERT(path != NULL);
  ASSERT_CONTAINS(path, "/modules/smflow-jobhost");
  ASSERT_EQ(access(path, X_OK), 0);
  free(path);

  char *dir = tmpdir();
  setenv("SMFLOW_MODULE_DIR", dir, 1);
  ASSERT(smf_module_program("smflow-jobhost", &err) == NULL);
  ASSERT_EQ(err.code, SMF_ENOENT);
  char *want = smf_xasprintf(
      "cannot find smflow's program smflow-jobhost (%s/smflow-jobhost: "
      "not found)",
      dir);
  ASSERT_STREQ(err.message, want);
  free(want);
  // A file that is not executable is named as such, and not used.
  char *fake = smf_xasprintf("%s/smflow-jobhost", dir);
  write_file(fake, "not a program\n", 0644);
  ASSERT(smf_module_program("smflow-jobhost", &err) == NULL);
  ASSERT_CONTAINS(err.message, "smflow-jobhost: not an executable file");
  // The same error reaches a job's start, which then starts nothing.
  unlink(fake);
  const char *argv[] = {"true", NULL};
  struct host_run r;
  int rc = host_start(dir, (char *const *)argv, NULL, &r, &err);
  ASSERT_EQ(rc, SMF_ECHILD);
  ASSERT_EQ(r.pid, -1);
  ASSERT_CONTAINS(err.message,
                  "algo-1: cannot start true: cannot find smflow's program "
                  "smflow-jobhost");
  ASSERT_CONTAINS(err.message, dir);
  host_run_free(&r);
  unsetenv("SMFLOW_MODULE_DIR");
  free(fake);
  rm_rf(dir);
  free(dir);
}

// The target of /proc/PID/exe. Caller frees.
static char *exe_of(int64_t pid)
{
  char link[64], exe[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/%lld/exe", (long long)pid);
  ssize_t n = readlink(link, exe, sizeof(exe) - 1);
  if (n <= 0) {
    return NULL;
  }
  exe[n] = '\0';
  return smf_xstrdup(exe);
}

// The host is smflow-jobhost, not a fork of this process: its executable, no
// descriptor of ours, a session and process group of its own; a SIGTERM to
// the group reaches the command, and the host records 128 + 15.
TEST(host_is_its_own_program)
{
  char *dir = tmpdir();
  int keep = open("/dev/null", O_RDONLY);  // not close-on-exec: the host must not keep it
  ASSERT(keep >= 0);
  const char *argv[] = {"sh", "-c", "echo ready; exec sleep 30", NULL};
  struct host_run r;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(host_start(dir, (char *const *)argv, NULL, &r, &err), 0);
  ASSERT(r.pid > 0 && r.pidfd >= 0);
  ASSERT_EQ(getpgid((pid_t)r.pid), (pid_t)r.pid);
  ASSERT_EQ(getsid((pid_t)r.pid), (pid_t)r.pid);
  char *exe = exe_of(r.pid);
  char *self = exe_of(getpid());
  ASSERT(exe != NULL && self != NULL);
  ASSERT_CONTAINS(exe, "/smflow-jobhost");
  ASSERT(strcmp(exe, self) != 0);
  char *fdpath = smf_xasprintf("/proc/%lld/fd/%d", (long long)r.pid, keep);
  char *kids = smf_xasprintf("/proc/%lld/task/%lld/children", (long long)r.pid, (long long)r.pid);
  char *log = NULL, *children = NULL;
  for (int i = 0; i < 400 && (log == NULL || strstr(log, "ready") == NULL); i++) {
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    free(log);
    log = read_text(r.log);
  }
  ASSERT_CONTAINS(log, "ready");
  // The host closed it before starting the command.
  ASSERT(access(fdpath, F_OK) != 0);
  // The command is the host's child, in the host's process group.
  children = read_text(kids);
  ASSERT(children != NULL);
  long child = strtol(children, NULL, 10);
  ASSERT(child > 0);
  ASSERT_EQ(getpgid((pid_t)child), (pid_t)r.pid);
  free(log);
  free(children);
  free(kids);
  ASSERT_EQ(kill((pid_t)-r.pid, SIGTERM), 0);
  ASSERT_EQ(reap(r.pid), 128 + SIGTERM);
  char *status = read_text(r.exit);
  ASSERT_STREQ(status, "143\n");
  free(status);
  free(fdpath);
  free(exe);
  free(self);
  close(keep);
  host_run_free(&r);
  rm_rf(dir);
  free(dir);
}

// Run argv under a host in a fresh directory (with setup's file in code/ when
// given); its "$?", with the log and the exit file's text.
static int run_host(const char *script_name, const char *script, mode_t mode, char *const *argv,
                    char *const *env, char **log, char **exit_text)
{
  char *dir = tmpdir();
  char *code = smf_xasprintf("%s/code", dir);
  ASSERT_EQ(mkdir(code, 0755), 0);
  if (script_name) {
    char *p = smf_xasprintf("%s/%s", code, script_name);
    write_file(p, script, mode);
    free(p);
  }
  struct host_run r;
  struct smf_error err = SMF_ERROR_INIT;
  int rc = host_start(dir, argv, env, &r, &err);
  if (rc != 0) {
    fprintf(stderr, "%s\n", err.message);
  }
  ASSERT_EQ(rc, 0);
  int status = reap(r.pid);
  *log = read_text(r.log);
  *exit_text = read_text(r.exit);
  // The status pipe told the same status before the host exited.
  char told[16] = "";
  ASSERT(r.status_fd >= 0);
  ASSERT(read(r.status_fd, told, sizeof(told) - 1) > 0);
  ASSERT_STREQ(told, *exit_text);
  host_run_free(&r);
  free(code);
  rm_rf(dir);
  free(dir);
  return status;
}

// As a shell runs a command: found on the job's PATH (the environment given,
// not this process's), in cwd, stdin from /dev/null; a script without #! runs
// under /bin/sh; a missing command is 127, one that may not be run 126, each
// with its message in the log; the status is also in the exit file.
TEST(host_runs_the_command_as_a_shell_would)
{
  char *log, *text;
  const char *env_path[] = {"PATH=/nonexistent-dir::/usr/bin:/bin", "MY_VAR=from the job", NULL};
  const char *cmd[] = {"sh", "-c", "echo \"$MY_VAR\" in \"$(pwd)\"; cat; exit 3", NULL};
  ASSERT_EQ(run_host(NULL, NULL, 0, (char *const *)cmd, (char *const *)env_path, &log, &text), 3);
  ASSERT_CONTAINS(log, "from the job in /tmp/smf-jobhost-");
  ASSERT_CONTAINS(log, "/code\n");
  ASSERT_STREQ(text, "3\n");
  free(log);
  free(text);

  // The empty PATH entry is the working directory: a script there, no #!.
  const char *script[] = {"noshebang.sh", "one", NULL};
  ASSERT_EQ(run_host("noshebang.sh", "echo \"sh ran $1\"\nexit 5\n", 0755, (char *const *)script,
                     (char *const *)env_path, &log, &text),
            5);
  ASSERT_CONTAINS(log, "sh ran one");
  ASSERT_STREQ(text, "5\n");
  free(log);
  free(text);

  const char *missing[] = {"no-such-command-smflow", NULL};
  ASSERT_EQ(run_host(NULL, NULL, 0, (char *const *)missing, (char *const *)env_path, &log, &text),
            127);
  ASSERT_STREQ(log, "smflow: no-such-command-smflow: command not found\n");
  ASSERT_STREQ(text, "127\n");
  free(log);
  free(text);

  const char *denied[] = {"./data.txt", NULL};
  ASSERT_EQ(run_host("data.txt", "1,2\n", 0644, (char *const *)denied, (char *const *)env_path,
                     &log, &text),
            126);
  ASSERT_STREQ(log, "smflow: ./data.txt: Permission denied\n");
  ASSERT_STREQ(text, "126\n");
  free(log);
  free(text);
}

// Read the status pipe (non-blocking) until a line or EOF, for up to 5 s.
static char *read_told(int fd)
{
  static char buf[32];
  size_t len = 0;
  for (int i = 0; i < 1000 && len < sizeof(buf) - 1; i++) {
    ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
    if (n == 0 || (n > 0 && memchr(buf + len, '\n', (size_t)n))) {
      len += n > 0 ? (size_t)n : 0;
      break;
    }
    if (n > 0) {
      len += (size_t)n;
      continue;
    }
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  buf[len] = '\0';
  return buf;
}

// The status pipe: the command's status is told there before the host writes
// its exit file (here a FIFO nobody reads yet, so the host is held at that
// point and still alive), the command does not inherit the pipe, and a host
// whose reader is gone (smflow died) still writes its exit file and exits with
// the command's status, not of SIGPIPE.
TEST(host_tells_the_status_first)
{
  char *dir = tmpdir();
  const char *argv[] = {
      "sh", "-c", "test -e /proc/$$/fd/3 && echo fd3 open || echo fd3 closed; sleep 0.3; exit 4",
      NULL};
  struct host_run r;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(host_start(dir, (char *const *)argv, NULL, &r, &err), 0);
  ASSERT(r.status_fd >= 0);
  ASSERT((fcntl(r.status_fd, F_GETFL) & O_NONBLOCK) != 0);
  ASSERT((fcntl(r.status_fd, F_GETFD) & FD_CLOEXEC) != 0);
  ASSERT_EQ(mkfifo(r.exit, 0644), 0);  // after the start removed any old exit file
  ASSERT_STREQ(read_told(r.status_fd), "4\n");
  int ws = 0;
  ASSERT_EQ(waitpid((pid_t)r.pid, &ws, WNOHANG), 0);  // blocked opening the FIFO
  int fifo = open(r.exit, O_RDONLY);
  ASSERT(fifo >= 0);
  char text[16] = "";
  for (int i = 0; i < 400 && text[0] == '\0'; i++) {
    ASSERT(read(fifo, text, sizeof(text) - 1) >= 0);
  }
  close(fifo);
  ASSERT_STREQ(text, "4\n");
  ASSERT_EQ(reap(r.pid), 4);
  char *log = read_text(r.log);
  ASSERT_STREQ(log, "fd3 closed\n");
  free(log);
  host_run_free(&r);
  rm_rf(dir);
  free(dir);

  dir = tmpdir();
  const char *six[] = {"sh", "-c", "sleep 0.1; exit 6", NULL};
  ASSERT_EQ(host_start(dir, (char *const *)six, NULL, &r, &err), 0);
  close(r.status_fd);  // nobody reads any more
  r.status_fd = -1;
  ASSERT_EQ(reap(r.pid), 6);
  char *exit_text = read_text(r.exit);
  ASSERT_STREQ(exit_text, "6\n");
  free(exit_text);
  host_run_free(&r);
  rm_rf(dir);
  free(dir);
}

// smflow-jobhost run by hand with bad arguments: a usage line, 127, no exit file.
TEST(jobhost_usage)
{
  struct smf_error err = SMF_ERROR_INIT;
  char *path = smf_module_program("smflow-jobhost", &err);
  ASSERT(path != NULL);
  char *cmd = smf_xasprintf("'%s' --cwd /tmp --bogus x -- true 2>&1", path);
  FILE *p = popen(cmd, "r");
  ASSERT(p != NULL);
  char line[256] = "";
  ASSERT(fgets(line, sizeof(line), p) != NULL);
  int ws = pclose(p);
  ASSERT(WIFEXITED(ws));
  ASSERT_EQ(WEXITSTATUS(ws), 127);
  ASSERT_CONTAINS(line, "usage: smflow-jobhost --cwd DIR --exit-file FILE");
  free(cmd);
  free(path);
}

int main(void)
{
  RUN_TEST(program_lookup);
  RUN_TEST(host_is_its_own_program);
  RUN_TEST(host_runs_the_command_as_a_shell_would);
  RUN_TEST(host_tells_the_status_first);
  RUN_TEST(jobhost_usage);
  return TEST_REPORT();
}
