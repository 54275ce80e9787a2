// proc.c: one host process of a local job.
//
// The command runs under a host process (hostexec.c) that records its exit
// status in a file, in a new session (its own process group, so that a signal
// reaches the script and everything it started), with stdout and stderr
// appended to the host's log file. The command's end is read from the host's
// status pipe (the host tells it before it writes the exit file and exits);
// the host itself is reaped through a pidfd, which also ends the job when the
// host dies without telling (killed). The
// log file is tailed with uv_fs_read on a timer and split into lines, so the
// job keeps running (and its output keeps its home) if smflow dies, and a
// re-attached job streams the same way as a fresh one.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/log.h"
#include "target/local/local.h"

#define HOST_TICK_MS 50
#define HOST_READ_SIZE 65536

struct local_host {
  uv_loop_t *loop;
  char *name, *log_path, *exit_path;
  uv_poll_t exit_poll;    // readable when the host process ends (is_child)
  uv_poll_t status_poll;  // the host's status pipe (is_child, while status_fd >= 0)
  int pidfd, status_fd;
  uv_timer_t timer;
  uv_fs_t fsreq;
  int handles;    // open uv handles; freed at 0 after close
  bool is_child;  // spawned by us (else watched by pid)
  bool ended;     // the command is gone (told on the pipe, or the host exited)
  bool reaped;    // the host process was waited for (is_child)
  bool finished;  // exit_cb delivered
  bool reading;   // a uv_fs_read is in flight
  bool closing;
  int log_fd;
  int64_t offset;
  int64_t pid;
  uint64_t start_time;
  int child_status;     // from waitpid, when a child
  int told_status;      // the command's status from the pipe, -1 until told
  char status_buf[16];  // what the pipe gave so far
  size_t status_len;
  struct smf_buf partial;  // an incomplete last line
  char rbuf[HOST_READ_SIZE];
  local_line_cb line_cb;
  local_exit_cb exit_cb;
  void *data;
};

// Fields 3 (state) and 22 (start time) of /proc/PID/stat; 0 when unknown.
static uint64_t proc_stat(int64_t pid, char *state)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
  char *text = NULL;
  *state = '?';
  if (smf_file_read(path, &text, NULL, NULL) != 0) {
    return 0;
  }
  // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
  const char *p = strrchr(text, ')');
  uint64_t v = 0;
  if (p && p[1] == ' ') {
    *state = p[2];
  }
  if (p) {
    p++;
    for (int field = 3; field <= 22 && *p; field++) {
      while (*p == ' ') {
        p++;
      }
      if (field == 22) {
        v = strtoull(p, NULL, 10);
        break;
      }
      while (*p && *p != ' ') {
        p++;
      }
    }
  }
  free(text);
  return v;
}

uint64_t local_proc_start_time(int64_t pid)
{
  char state;
  return proc_stat(pid, &state);
}

static int host_read_exit_file(const struct local_host *h)
{
  char *text = NULL;
  if (smf_file_read(h->exit_path, &text, NULL, NULL) != 0) {
    return -1;
  }
  char *end = NULL;
  long v = strtol(text, &end, 10);
  bool ok = end != text;
  free(text);
  return ok ? (int)v : -1;
}

static void host_emit_lines(struct local_host *h)
{
  char *start = h->partial.data;
  char *nl;
  while (start && (nl = memchr(start, '\n', h->partial.len - (size_t)(start - h->partial.data)))) {
    *nl = '\0';
    if (nl > start && nl[-1] == '\r') {
      nl[-1] = '\0';
    }
    h->line_cb(h, start, h->data);
    start = nl + 1;
  }
  if (start && start != h->partial.data) {
    size_t rest = h->partial.len - (size_t)(start - h->partial.data);
    memmove(h->partial.data, start, rest);
    h->partial.len = rest;
    h->partial.data[rest] = '\0';
  }
}

static void host_finish(struct local_host *h)
{
  if (h->partial.len) {
    h->line_cb(h, h->partial.data, h->data);
    smf_buf_reset(&h->partial);
  }
  uv_timer_stop(&h->timer);
  int code = h->told_status >= 0 ? h->told_status : host_read_exit_file(h);
  if (code < 0 && h->is_child && h->child_status >= 0) {
    code = h->child_status;
  }
  h->finished = true;
  h->exit_cb(h, code, h->data);
}

static void host_read(struct local_host *h);
static void host_on_close(uv_handle_t *handle);

static void host_free(struct local_host *h)
{
  if (h->log_fd >= 0) {
    close(h->log_fd);
  }
  smf_buf_free(&h->partial);
  free(h->name);
  free(h->log_path);
  free(h->exit_path);
  free(h);
}

static void host_on_read(uv_fs_t *req)
{
  struct local_host *h = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  h->reading = false;
  h->handles--;  // the read held a reference
  if (h->closing) {
    if (h->handles == 0) {
      host_free(h);
    }
    return;
  }
  if (n > 0) {
    h->offset += n;
    smf_buf_append(&h->partial, h->rbuf, (size_t)n);
    host_emit_lines(h);
    if (n == HOST_READ_SIZE) {
      host_read(h);  // more may be waiting
    } else if (h->ended && !h->finished) {
      host_finish(h);  // a short read after the end: nothing more to come
    }
    return;
  }
  if (h->ended && !h->finished) {
    host_finish(h);
  }
}

// Read what the log gained (thread pool); when it gained nothing (fstat, on
// the loop: the size of an open file, no I/O) there is no read at all, and a
// host that ended is finished at once.
static void host_read(struct local_host *h)
{
  if (h->reading || h->finished) {
    return;
  }
  struct stat st;
  if (fstat(h->log_fd, &st) == 0 && st.st_size <= h->offset) {
    if (h->ended) {
      host_finish(h);
    }
    return;
  }
  uv_buf_t buf = uv_buf_init(h->rbuf, sizeof(h->rbuf));
  h->fsreq.data = h;
  if (uv_fs_read(h->loop, &h->fsreq, h->log_fd, &buf, 1, h->offset, host_on_read) == 0) {
    h->reading = true;
    h->handles++;
  } else if (h->ended) {
    host_finish(h);
  }
}

static void host_on_tick(uv_timer_t *t)
{
  struct local_host *h = t->data;
  if (!h->is_child && !h->ended) {
    // A process we did not start: alive while kill(pid, 0) works and it is the same process.
    // A zombie has ended too (when this process started it and forgot its handle).
    bool alive = kill((pid_t)h->pid, 0) == 0 || errno == EPERM;
    char state = '?';
    if (alive && (proc_stat(h->pid, &state) != h->start_time || state == 'Z')) {
      alive = false;
      if (state == 'Z') {
        waitpid((pid_t)h->pid, NULL, WNOHANG);  // ours: reap it; anyone else's: ECHILD
      }
    }
    h->ended = !alive;
  }
  host_read(h);
}

static void host_on_exit(uv_poll_t *p, int status, int events)
{
  (void)status;
  (void)events;
  struct local_host *h = p->data;
  int ws = 0;
  pid_t got = waitpid((pid_t)h->pid, &ws, WNOHANG);
  if (got == 0 || (got < 0 && errno == EINTR)) {
    return;  // not yet
  }
  uv_poll_stop(p);
  h->reaped = true;
  if (h->closing) {  // told its status, then let go of by local_host_close
    uv_close((uv_handle_t *)p, host_on_close);
    return;
  }
  h->child_status = got > 0 && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  h->ended = true;
  host_read(h);
}

static void host_status_stop(struct local_host *h)
{
  if (h->status_fd >= 0 && !uv_is_closing((uv_handle_t *)&h->status_poll)) {
    uv_poll_stop(&h->status_poll);
    uv_close((uv_handle_t *)&h->status_poll, host_on_close);
  }
}

// The host's status pipe: "N\n" once the command was reaped (then the log is
// read to its end and the host finished with N); EOF without it (the host was
// killed) leaves the end to the pidfd.
static void host_on_status(uv_poll_t *p, int status, int events)
{
  (void)status;
  (void)events;
  struct local_host *h = p->data;
  size_t room = sizeof(h->status_buf) - 1 - h->status_len;
  ssize_t n;
  while ((n = read(h->status_fd, h->status_buf + h->status_len, room)) < 0 && errno == EINTR) {
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return;
  }
  if (n > 0) {
    h->status_len += (size_t)n;
    h->status_buf[h->status_len] = '\0';
    if (memchr(h->status_buf, '\n', h->status_len) == NULL && (size_t)n < room) {
      return;  // the rest of the line is still to come
    }
  }
  host_status_stop(h);
  char *end = NULL;
  long v = strtol(h->status_buf, &end, 10);
  if (n > 0 && end != h->status_buf && *end == '\n' && v >= 0 && v < 256 && !h->ended) {
    h->told_status = (int)v;
    h->ended = true;
    host_read(h);
  }
}

static void host_on_close(uv_handle_t *handle)
{
  struct local_host *h = handle->data;
  if (handle == (uv_handle_t *)&h->exit_poll && h->pidfd >= 0) {
    close(h->pidfd);
    h->pidfd = -1;
  }
  if (handle == (uv_handle_t *)&h->status_poll && h->status_fd >= 0) {
    close(h->status_fd);
    h->status_fd = -1;
  }
  if (--h->handles == 0) {
    host_free(h);
  }
}

static struct local_host *host_new(uv_loop_t *loop, const char *name, const char *log_path,
                                   const char *exit_path, local_line_cb line_cb,
                                   local_exit_cb exit_cb, void *data)
{
  struct local_host *h = smf_xcalloc(1, sizeof(*h));
  h->loop = loop;
  h->name = smf_xstrdup(name);
  h->log_path = smf_xstrdup(log_path);
  h->exit_path = smf_xstrdup(exit_path);
  h->line_cb = line_cb;
  h->exit_cb = exit_cb;
  h->data = data;
  h->log_fd = -1;
  h->pidfd = -1;
  h->status_fd = -1;
  h->child_status = -1;
  h->told_status = -1;
  uv_timer_init(loop, &h->timer);
  h->timer.data = h;
  h->handles = 1;
  return h;
}

static int host_open_log(struct local_host *h, bool at_end, struct smf_error *err)
{
  h->log_fd = open(h->log_path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  if (h->log_fd < 0) {
    return SMF_ERR_SET(err, SMF_EIO, "%s: %s", h->log_path, strerror(errno));
  }
  h->offset = at_end ? (int64_t)lseek(h->log_fd, 0, SEEK_END) : 0;
  if (h->offset < 0) {
    h->offset = 0;
  }
  return 0;
}

int local_host_adopt(uv_loop_t *loop, const char *name, int64_t pid, uint64_t start_time, int pidfd,
                     int status_fd, const char *log_path, const char *exit_path,
                     local_line_cb line_cb, local_exit_cb exit_cb, void *data,
                     struct local_host **out, struct smf_error *err)
{
  *out = NULL;
  struct local_host *h = host_new(loop, name, log_path, exit_path, line_cb, exit_cb, data);
  int rc = host_open_log(h, false, err);
  if (rc != 0) {
    close(pidfd);
    if (status_fd >= 0) {
      close(status_fd);
    }
    local_host_close(h);
    return rc;
  }
  if (status_fd >= 0) {
    h->status_fd = status_fd;
    uv_poll_init(loop, &h->status_poll, status_fd);
    h->status_poll.data = h;
    uv_poll_start(&h->status_poll, UV_READABLE, host_on_status);
    h->handles++;
  }
  h->pid = pid;
  h->pidfd = pidfd;
  uv_poll_init(loop, &h->exit_poll, h->pidfd);
  h->exit_poll.data = h;
  uv_poll_start(&h->exit_poll, UV_READABLE, host_on_exit);
  h->handles++;
  h->is_child = true;
  h->start_time = start_time;
  uv_timer_start(&h->timer, host_on_tick, HOST_TICK_MS, HOST_TICK_MS);
  *out = h;
  return 0;
}

int local_host_watch(uv_loop_t *loop, const char *name, int64_t pid, uint64_t start_time,
                     const char *log_path, const char *exit_path, local_line_cb line_cb,
                     local_exit_cb exit_cb, void *data, struct local_host **out,
                     struct smf_error *err)
{
  *out = NULL;
  struct local_host *h = host_new(loop, name, log_path, exit_path, line_cb, exit_cb, data);
  int rc = host_open_log(h, true, err);
  if (rc != 0) {
    local_host_close(h);
    return rc;
  }
  h->pid = pid;
  h->start_time = start_time;
  uv_timer_start(&h->timer, host_on_tick, 0, HOST_TICK_MS);
  *out = h;
  return 0;
}

void local_host_kill(struct local_host *h, int sig)
{
  if (h == NULL || h->ended || h->pid <= 0) {
    return;
  }
  if (!h->is_child && h->start_time && local_proc_start_time(h->pid) != h->start_time) {
    return;  // the pid was reused by another process: not ours to signal
  }
  if (kill(-(pid_t)h->pid, sig) != 0) {
    kill((pid_t)h->pid, sig);
  }
}

int64_t local_host_pid(const struct local_host *h)
{
  return h->pid;
}

uint64_t local_host_start_time(const struct local_host *h)
{
  return h->start_time;
}

const char *local_host_name(const struct local_host *h)
{
  return h->name;
}

void local_host_close(struct local_host *h)
{
  if (h == NULL || h->closing) {
    return;
  }
  h->closing = true;
  uv_timer_stop(&h->timer);
  uv_close((uv_handle_t *)&h->timer, host_on_close);
  host_status_stop(h);
  if (!h->is_child) {
    return;
  }
  if (!h->reaped && h->told_status >= 0 && waitpid((pid_t)h->pid, NULL, WNOHANG) == 0) {
    // It told its status and is writing its exit file: the watch stays until
    // it exits (microseconds), then reaps it and closes (host_on_exit).
    return;
  }
  uv_close((uv_handle_t *)&h->exit_poll, host_on_close);
}
