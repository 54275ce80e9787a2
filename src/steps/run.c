// run.c: the `run` step kind — a local command (SPEC §4).
//
// A string command runs as `/bin/sh -c COMMAND`, unless it is one simple command without shell
// syntax (smf_cmd_split_simple) whose program is found on its environment's PATH: that is spawned
// directly, as make does, and a signal that ends it reads as the shell reported it (128 + N, the
// shell's "Killed" line). A list command is its argument vector, no shell. The child is spawned
// (posix_spawn; exit through a pidfd, Linux >= 5.3) in its own session (its whole process group
// can be signalled), with smflow's environment plus `env:`, in `workdir` (relative to the
// pipeline's directory); stdout and stderr go to the attempt's log and, with the `[step]` prefix,
// to stderr. Lines `key=value` (or `key<<DELIM`, value lines, `DELIM`) written to $SMFLOW_OUTPUT
// become the outputs (strings). A non-zero exit is an AlgorithmError with the last stderr lines.
//
// Intent: {attempt, marker}, then {.., pid, start_time} once spawned.
// The child's environment carries SMFLOW_ATTEMPT_KEY=marker. On resume the
// previous smflow's process is gone with it or is an orphan: every process that
// still has the marker (or the recorded pid with the same start time) is
// killed, and the attempt is reported lost so that a new attempt starts.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/log.h"
#include "smflow/spawn.h"
#include "smflow/step.h"
#include "steps/common.h"
#include "steps/kinds.h"

extern char **environ;

#define RUN_TAIL_MAX 2048

struct run_pipe {
  uv_pipe_t pipe;
  struct smf_buf line;  ///< partial line
  bool is_err;
  bool eof;
};

struct run_proc {
  struct step_ctx *ctx;
  pid_t pid;
  int pidfd;       ///< pidfd of the shell: readable when it exits
  uv_work_t work;  ///< the spawn, in the thread pool
  bool spawning;
  int spawn_errno;
  int child_out, child_err;  ///< the child's ends of the pipes, closed after the spawn
  char *cwd;                 ///< in ctx->arena
  char **argv, **envp;       ///< in ctx->arena
  bool use_path;             ///< argv[0] is looked up in PATH (a list command)
  char **words;              ///< a simple string command's words (owned), or NULL
  char **sh_argv;            ///< a string command's `/bin/sh -c COMMAND` (in arena)
  bool direct;               ///< the words were spawned without the shell
  int direct_signal;         ///< the signal that ended a directly spawned program
  bool core_dumped;
  uv_poll_t exit_poll;
  struct run_pipe out, err;
  uv_timer_t timer;  ///< kill grace, then output drain after exit
  int open_handles;
  bool spawned, exited, finished, freed;
  int64_t exit_status;
  int term_signal;
  int cancel_reason;
  struct smf_buf tail;  ///< last lines of stderr
  char *output_path;
  char buf[65536];
  // resume: processes being killed
  pid_t *victims;
  unsigned long long *victim_start;
  size_t n_victims;
  int polls;
};

const char *step_run_command(const struct dsl_node *spec)
{
  return spec->type == DSL_STR ? spec->u.str.s : dsl_map_str(spec, "command", NULL);
}

static char **run__sh_argv(struct step_ctx *ctx, const char *line)
{
  char **argv = smf_arena_alloc(ctx->arena, 4 * sizeof(*argv));
  argv[0] = smf_arena_strdup(ctx->arena, "/bin/sh");
  argv[1] = smf_arena_strdup(ctx->arena, "-c");
  argv[2] = smf_arena_strdup(ctx->arena, line ? line : "");
  argv[3] = NULL;
  return argv;
}

// The argument vector, in the arena: a list runs as is, without a shell (argv[0]
// looked up in PATH); a string command runs as `/bin/sh -c COMMAND`, unless it is
// a simple one (r->words) whose program the spawn finds on the environment's PATH.
static void run__argv(struct run_proc *r)
{
  struct step_ctx *ctx = r->ctx;
  const struct dsl_node *cmd =
      ctx->spec->type == DSL_MAP ? dsl_map_get(ctx->spec, "command") : ctx->spec;
  if (cmd != NULL && cmd->type == DSL_SEQ && cmd->u.seq.n > 0) {
    size_t n = cmd->u.seq.n;
    char **argv = smf_arena_alloc(ctx->arena, (n + 1) * sizeof(*argv));
    for (size_t i = 0; i < n; i++) {
      // A number or boolean (unquoted, or a typed `${...}`) is its text.
      argv[i] = smf_arena_strdup(ctx->arena, step_scalar(ctx, cmd->u.seq.items[i]));
    }
    argv[n] = NULL;
    r->argv = argv;
    r->use_path = true;
    return;
  }
  const char *line = step_run_command(ctx->spec);
  r->sh_argv = run__sh_argv(ctx, line);
  r->argv = r->sh_argv;
  r->words = line ? smf_cmd_split_simple(line) : NULL;
}

static char *run__marker(struct step_ctx *ctx)
{
  return smf_xasprintf("%s/%s/%d", ctx->run_id, ctx->step_id, ctx->attempt);
}

static char *run_intent(struct step_ctx *ctx)
{
  char *marker = run__marker(ctx);
  // The command itself is not stored: interpolated, it may hold a secret.
  json_t *j = json_pack("{s:i, s:s}", "attempt", ctx->attempt, "marker", marker);
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  free(marker);
  return t;
}

/// Start time (clock ticks since boot) of a process from /proc/PID/stat; 0 if gone.
unsigned long long step_proc_start_time(pid_t pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return 0;
  }
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (p == NULL) {
    return 0;
  }
  // Fields after the command: state(3) ... starttime(22).
  char state = 0;
  unsigned long long start = 0;
  int field = 2;
  for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
    field++;
    if (field == 3) {
      state = tok[0];
    } else if (field == 22) {
      start = strtoull(tok, NULL, 10);
      break;
    }
  }
  return state == 'Z' ? 0 : start;  // a zombie has finished running
}

// ---- output streaming ----

static void run__tail_add(struct run_proc *r, const char *line, size_t n)
{
  smf_buf_append(&r->tail, line, n);
  smf_buf_append(&r->tail, "\n", 1);
  if (r->tail.len > RUN_TAIL_MAX) {
    size_t cut = r->tail.len - RUN_TAIL_MAX;
    const char *nl = memchr(r->tail.data + cut, '\n', r->tail.len - cut);
    cut = nl ? (size_t)(nl - r->tail.data) + 1 : cut;
    memmove(r->tail.data, r->tail.data + cut, r->tail.len - cut);
    r->tail.len -= cut;
    r->tail.data[r->tail.len] = '\0';
  }
}

static void run__emit_line(struct run_proc *r, struct run_pipe *p, const char *s, size_t n)
{
  smf_log_step(SMF_LOG_INFO, r->ctx->step_id, "%.*s", (int)n, s);
  if (p->is_err) {
    run__tail_add(r, s, n);
  }
}

static void run__flush_partial(struct run_proc *r, struct run_pipe *p)
{
  if (p->line.len > 0) {
    run__emit_line(r, p, p->line.data, p->line.len);
    smf_buf_reset(&p->line);
  }
}

static void run__alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)suggested;
  struct run_proc *r = h->data;
  *buf = uv_buf_init(r->buf, sizeof(r->buf));
}

static void run__maybe_finish(struct run_proc *r);

static void run__read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  struct run_proc *r = s->data;
  struct run_pipe *p = (uv_pipe_t *)s == &r->out.pipe ? &r->out : &r->err;
  if (n < 0) {
    uv_read_stop(s);
    run__flush_partial(r, p);
    p->eof = true;
    run__maybe_finish(r);
    return;
  }
  if (r->ctx->log_fd >= 0 && n > 0) {
    ssize_t w = write(r->ctx->log_fd, buf->base, (size_t)n);
    (void)w;
  }
  const char *data = buf->base;
  size_t len = (size_t)n;
  const char *nl;
  while ((nl = memchr(data, '\n', len)) != NULL) {
    size_t k = (size_t)(nl - data);
    if (p->line.len > 0) {
      smf_buf_append(&p->line, data, k);
      run__emit_line(r, p, p->line.data, p->line.len);
      smf_buf_reset(&p->line);
    } else {
      run__emit_line(r, p, data, k);
    }
    data += k + 1;
    len -= k + 1;
  }
  smf_buf_append(&p->line, data, len);
}

// ---- completion ----

// The next line of text[*pos..len): NUL-terminated in place, without "\r\n";
// NULL at the end.
static char *run__next_line(char *text, size_t len, size_t *pos)
{
  if (*pos >= len) {
    return NULL;
  }
  char *line = text + *pos;
  char *nl = memchr(line, '\n', len - *pos);
  size_t n = nl ? (size_t)(nl - line) : len - *pos;
  *pos += n + (nl ? 1 : 0);
  line[n] = '\0';
  if (n > 0 && line[n - 1] == '\r') {
    line[n - 1] = '\0';
  }
  return line;
}

// `KEY<<DELIM` then the value's lines up to a line DELIM (GitHub Actions' form).
static void run__output_heredoc(struct run_proc *r, struct dsl_node *m, char *line, char *lt,
                                char *text, size_t len, size_t *pos)
{
  struct step_ctx *ctx = r->ctx;
  const char *delim = lt + 2;
  *lt = '\0';
  struct smf_buf v = SMF_BUF_INIT;
  bool closed = false, first = true;
  for (char *l = run__next_line(text, len, pos); l; l = run__next_line(text, len, pos)) {
    if (strcmp(l, delim) == 0) {
      closed = true;
      break;
    }
    smf_buf_printf(&v, "%s%s", first ? "" : "\n", l);
    first = false;
  }
  if (!closed) {
    step_ctx_log(ctx, "ignoring output '%.80s' of $SMFLOW_OUTPUT: no closing line %.80s", line,
                 delim);
  } else {
    dsl_map_set(ctx->arena, m, smf_arena_strdup(ctx->arena, line),
                dsl_node_str(ctx->arena, v.len ? v.data : "", v.len));
  }
  smf_buf_free(&v);
}

// Lines of $SMFLOW_OUTPUT → a map of strings: `key=value`, or `key<<DELIM`, the
// value's lines, `DELIM`. A missing file is no outputs.
static struct dsl_node *run__outputs(struct run_proc *r)
{
  struct step_ctx *ctx = r->ctx;
  struct dsl_node *m = dsl_node_new(ctx->arena, DSL_MAP);
  char *text = NULL;
  size_t len = 0, pos = 0;
  if (smf_file_read(r->output_path, &text, &len, NULL) != 0) {
    return m;
  }
  for (char *line = run__next_line(text, len, &pos); line; line = run__next_line(text, len, &pos)) {
    if (line[0] == '\0' || line[0] == '#') {
      continue;
    }
    char *eq = strchr(line, '='), *lt = strstr(line, "<<");
    if (lt != NULL && lt != line && lt[2] != '\0' && (eq == NULL || lt < eq)) {
      run__output_heredoc(r, m, line, lt, text, len, &pos);
      continue;
    }
    if (eq == NULL || eq == line) {
      step_ctx_log(ctx, "ignoring a line of $SMFLOW_OUTPUT without key=value: %.80s", line);
      continue;
    }
    char *key = smf_arena_strndup(ctx->arena, line, (size_t)(eq - line));
    dsl_map_set(ctx->arena, m, key, dsl_node_str(ctx->arena, eq + 1, strlen(eq + 1)));
  }
  free(text);
  return m;
}

// What /bin/sh writes to stderr when its command dies of a signal (other than
// SIGINT and SIGPIPE): "Killed", "Segmentation fault (core dumped)", ... A
// program spawned without the shell gets the same line in its log and error.
static void run__shell_says(struct run_proc *r)
{
  char line[128];
  int n = snprintf(line, sizeof(line), "%s%s", strsignal(r->direct_signal),
                   r->core_dumped ? " (core dumped)" : "");
  n = n < 0 ? 0 : n >= (int)sizeof(line) ? (int)sizeof(line) - 1 : n;
  if (r->ctx->log_fd >= 0) {
    line[n] = '\n';
    ssize_t w = write(r->ctx->log_fd, line, (size_t)n + 1);
    (void)w;
  }
  run__emit_line(r, &r->err, line, (size_t)n);
}

static void run__finish(struct run_proc *r)
{
  r->finished = true;
  uv_timer_stop(&r->timer);
  run__flush_partial(r, &r->out);
  run__flush_partial(r, &r->err);
  struct step_ctx *ctx = r->ctx;
  if (r->cancel_reason) {
    struct smf_error err = SMF_ERROR_INIT;
    SMF_ERR_SET(&err, r->cancel_reason, "command stopped");
    err.klass = r->cancel_reason == SMF_ETIMEOUT ? SMF_CLASS_TIMEOUT : SMF_CLASS_NONE;
    step_ctx_done(ctx, r->cancel_reason, &err, NULL);
    return;
  }
  if (r->exit_status == 0 && r->term_signal == 0) {
    step_ctx_done(ctx, 0, NULL, run__outputs(r));
    return;
  }
  if (r->direct_signal && r->direct_signal != SIGINT && r->direct_signal != SIGPIPE) {
    run__shell_says(r);
  }
  struct smf_error err = SMF_ERROR_INIT;
  const char *tail = smf_buf_cstr(&r->tail);
  size_t tl = strlen(tail);
  while (tl > 0 && tail[tl - 1] == '\n') {
    tl--;
  }
  if (r->term_signal) {
    SMF_ERR_SET(&err, SMF_ECHILD, "command killed by signal %d (%s)%s%.*s", r->term_signal,
                strsignal(r->term_signal), tl ? ": " : "", (int)tl, tail);
  } else {
    SMF_ERR_SET(&err, SMF_ECHILD, "command exited with status %lld%s%.*s",
                (long long)r->exit_status, tl ? ": " : "", (int)tl, tail);
  }
  err.klass = SMF_CLASS_ALGORITHM;
  step_ctx_done(ctx, SMF_ECHILD, &err, NULL);
}

static void run__drain_cb(uv_timer_t *t)
{
  // The shell exited but something it started keeps the pipes open: stop waiting.
  struct run_proc *r = t->data;
  if (!r->finished) {
    run__finish(r);
  }
}

static void run__maybe_finish(struct run_proc *r)
{
  if (r->finished || !r->exited) {
    return;
  }
  if (r->out.eof && r->err.eof) {
    run__finish(r);
  } else {
    uv_timer_start(&r->timer, run__drain_cb, 500, 0);
  }
}

static void run__exit_poll_cb(uv_poll_t *h, int status, int events)
{
  (void)status;
  (void)events;
  struct run_proc *r = h->data;
  int ws = 0;
  pid_t got = waitpid(r->pid, &ws, WNOHANG);
  if (got == 0 || (got < 0 && errno == EINTR)) {
    return;  // not yet
  }
  uv_poll_stop(h);
  r->exited = true;
  r->exit_status = got < 0 ? 127 : WIFEXITED(ws) ? WEXITSTATUS(ws) : 0;
  r->term_signal = got > 0 && WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
  if (r->direct && r->term_signal) {
    // Run directly in place of `sh -c`: the status the shell would have reported.
    r->direct_signal = r->term_signal;
    r->core_dumped = WCOREDUMP(ws);
    r->exit_status = 128 + r->term_signal;
    r->term_signal = 0;
  }
  uv_timer_stop(&r->timer);
  // The group may hold children of the shell: they go with it.
  kill(-r->pid, SIGKILL);
  run__maybe_finish(r);
}

// ---- start ----

static char **run__env(struct run_proc *r)
{
  struct step_ctx *ctx = r->ctx;
  struct smf_arena *a = ctx->arena;
  const struct dsl_node *env = ctx->spec->type == DSL_MAP ? dsl_map_get(ctx->spec, "env") : NULL;
  size_t n_env = env && env->type == DSL_MAP ? env->u.map.n : 0;
  size_t n = 0;
  while (environ[n]) {
    n++;
  }
  char **out = smf_arena_alloc(a, (n + n_env + 8) * sizeof(*out));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    bool overridden = smf_str_startswith(environ[i], "SMFLOW_OUTPUT=") ||
                      smf_str_startswith(environ[i], "SMFLOW_ATTEMPT_KEY=");
    for (size_t j = 0; j < n_env && !overridden; j++) {
      size_t kl = strlen(env->u.map.pairs[j].key);
      overridden = strncmp(environ[i], env->u.map.pairs[j].key, kl) == 0 && environ[i][kl] == '=';
    }
    if (!overridden) {
      out[k++] = environ[i];
    }
  }
  for (size_t j = 0; j < n_env; j++) {
    out[k++] = smf_arena_printf(a, "%s=%s", env->u.map.pairs[j].key,
                                step_scalar(ctx, env->u.map.pairs[j].value));
  }
  out[k++] = smf_arena_printf(a, "SMFLOW_OUTPUT=%s", r->output_path);
  out[k++] = smf_arena_printf(a, "SMFLOW_RUN_ID=%s", ctx->run_id);
  out[k++] = smf_arena_printf(a, "SMFLOW_STEP=%s", ctx->step_id);
  out[k++] = smf_arena_printf(a, "SMFLOW_ATTEMPT=%d", ctx->attempt);
  out[k++] =
      smf_arena_printf(a, "SMFLOW_ATTEMPT_KEY=%s/%s/%d", ctx->run_id, ctx->step_id, ctx->attempt);
  out[k] = NULL;
  return out;
}

static void run__close_cb(uv_handle_t *h)
{
  struct run_proc *r = h->data;
  if (h == (uv_handle_t *)&r->exit_poll && r->pidfd >= 0) {
    close(r->pidfd);
    r->pidfd = -1;
  }
  if (--r->open_handles == 0) {
    smf_buf_free(&r->out.line);
    smf_buf_free(&r->err.line);
    smf_buf_free(&r->tail);
    free(r->output_path);
    smf_spawn_paths_free(r->words);
    free(r->victims);
    free(r->victim_start);
    free(r);
  }
}

static struct run_proc *run__new(struct step_ctx *ctx)
{
  struct run_proc *r = smf_xcalloc(1, sizeof(*r));
  r->ctx = ctx;
  r->err.is_err = true;
  r->pidfd = -1;
  uv_timer_init(ctx->loop, &r->timer);
  r->timer.data = r;
  r->open_handles = 1;
  ctx->kind_data = r;
  return r;
}

// Start failed after run__new: release what exists; done is not called.
static void run__abandon(struct run_proc *r)
{
  r->ctx->kind_data = NULL;
  if (r->spawned) {
    uv_close((uv_handle_t *)&r->exit_poll, run__close_cb);
  }
  uv_close((uv_handle_t *)&r->out.pipe, run__close_cb);
  uv_close((uv_handle_t *)&r->err.pipe, run__close_cb);
  uv_close((uv_handle_t *)&r->timer, run__close_cb);
}

static char *run__workdir(struct step_ctx *ctx)
{
  const char *wd = ctx->spec->type == DSL_MAP ? dsl_map_str(ctx->spec, "workdir", NULL) : NULL;
  if (wd == NULL) {
    return smf_xstrdup(ctx->pipeline_dir);
  }
  return wd[0] == '/' ? smf_xstrdup(wd) : smf_xasprintf("%s/%s", ctx->pipeline_dir, wd);
}

static void run__record_pid(struct run_proc *r)
{
  struct step_ctx *ctx = r->ctx;
  char *marker = run__marker(ctx);
  json_t *j = json_pack("{s:i, s:s, s:i, s:I}", "attempt", ctx->attempt, "marker", marker, "pid",
                        r->pid, "start_time", (json_int_t)step_proc_start_time(r->pid));
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  free(marker);
  // Batched: a crash before it is committed is covered by the marker.
  step_ctx_update_intent(ctx, t, false, NULL);
  free(t);
  char name[32];
  snprintf(name, sizeof(name), "pid %d", r->pid);
  step_ctx_set_remote_name(ctx, name);
}

// ---- spawning, in the thread pool: posix_spawn returns only once the child has
// exec'd, which on a busy machine takes milliseconds the loop must not wait for.

static void run__spawn_work(uv_work_t *w)
{
  struct run_proc *r = w->data;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  smf_spawn_init(&fa, &at, r->child_out, r->child_err, r->cwd);
  // A simple command's program is looked up first: not found (or a script
  // without #!, which posix_spawn cannot start) leaves it to the shell, which
  // then behaves and reports exactly as it always did.
  char *path = r->words ? smf_spawn_which(r->words[0], r->envp, r->cwd) : NULL;
  if (path != NULL && posix_spawn(&r->pid, path, &fa, &at, r->words, r->envp) == 0) {
    r->direct = true;
    r->argv = r->words;
  }
  free(path);
  if (!r->direct) {
    r->spawn_errno = r->use_path ? posix_spawnp(&r->pid, r->argv[0], &fa, &at, r->argv, r->envp)
                                 : posix_spawn(&r->pid, r->argv[0], &fa, &at, r->argv, r->envp);
  }
  smf_spawn_destroy(&fa, &at);
  close(r->child_out);
  close(r->child_err);
  if (r->spawn_errno == 0 && (r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0)) < 0) {
    r->spawn_errno = errno;
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);  // just killed: returns at once
  }
}

static void run__spawn_after(uv_work_t *w, int status)
{
  (void)status;
  struct run_proc *r = w->data;
  struct step_ctx *ctx = r->ctx;
  r->spawning = false;
  if (r->spawn_errno != 0) {
    struct smf_error err = SMF_ERROR_INIT;
    struct stat sb;
    // Name the workdir when it is what is missing, not the program.
    const char *bad_dir = stat(r->cwd, &sb) != 0 ? strerror(errno)
                          : !S_ISDIR(sb.st_mode) ? "not a directory"
                                                 : NULL;
    if (bad_dir != NULL) {
      SMF_ERR_SET(&err, SMF_ECHILD, "cannot start %s: workdir %s: %s", r->argv[0], r->cwd,
                  bad_dir);
    } else {
      SMF_ERR_SET(&err, SMF_ECHILD, "cannot start %s in %s: %s", r->argv[0], r->cwd,
                  strerror(r->spawn_errno));
    }
    err.klass = SMF_CLASS_CLIENT;
    r->finished = true;
    step_ctx_done(ctx, SMF_ECHILD, &err, NULL);
    return;
  }
  uv_poll_init(ctx->loop, &r->exit_poll, r->pidfd);
  r->exit_poll.data = r;
  r->spawned = true;
  r->open_handles++;
  uv_poll_start(&r->exit_poll, UV_READABLE, run__exit_poll_cb);
  uv_read_start((uv_stream_t *)&r->out.pipe, run__alloc_cb, run__read_cb);
  uv_read_start((uv_stream_t *)&r->err.pipe, run__alloc_cb, run__read_cb);
  run__record_pid(r);
  if (r->cancel_reason) {
    kill(-r->pid, SIGKILL);  // cancelled while it was being started
  }
}

static int run_start(struct step_ctx *ctx, struct smf_error *err)
{
  struct run_proc *r = run__new(ctx);
  r->output_path = smf_xasprintf("%.*s.out", (int)(strlen(ctx->log_path) - 4), ctx->log_path);
  unlink(r->output_path);
  uv_pipe_init(ctx->loop, &r->out.pipe, 0);
  uv_pipe_init(ctx->loop, &r->err.pipe, 0);
  r->out.pipe.data = r->err.pipe.data = r;
  r->open_handles += 2;
  int out[2] = {-1, -1}, errp[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    SMF_ERR_SET(err, SMF_ECHILD, "pipe: %s", strerror(e));
    err->klass = SMF_CLASS_CLIENT;
    run__abandon(r);
    return SMF_ECHILD;
  }
  uv_pipe_open(&r->out.pipe, out[0]);
  uv_pipe_open(&r->err.pipe, errp[0]);
  r->child_out = out[1];
  r->child_err = errp[1];
  char *cwd = run__workdir(ctx);
  r->cwd = smf_arena_strdup(ctx->arena, cwd);
  free(cwd);
  r->envp = run__env(r);
  run__argv(r);
  r->work.data = r;
  r->spawning = true;
  uv_queue_work(ctx->loop, &r->work, run__spawn_work, run__spawn_after);
  return 0;
}

static void run__kill_cb(uv_timer_t *t)
{
  struct run_proc *r = t->data;
  if (!r->exited) {
    kill(-r->pid, SIGKILL);
  }
}

static void run_cancel(struct step_ctx *ctx, int reason, bool kill_now)
{
  struct run_proc *r = ctx->kind_data;
  if (r == NULL || r->finished || r->victims) {
    return;
  }
  if (r->cancel_reason == 0) {
    r->cancel_reason = reason;
  }
  if (r->exited || r->spawning) {
    return;  // a spawn in progress is killed when it completes
  }
  kill(-r->pid, kill_now ? SIGKILL : SIGTERM);
  if (!kill_now) {
    uv_timer_start(&r->timer, run__kill_cb, (uint64_t)ctx->kill_grace_ms, 0);
  }
}

static void run_free(struct step_ctx *ctx)
{
  struct run_proc *r = ctx->kind_data;
  if (r == NULL) {
    return;
  }
  ctx->kind_data = NULL;
  r->freed = true;
  if (r->spawned) {
    uv_close((uv_handle_t *)&r->exit_poll, run__close_cb);
  }
  if (r->out.pipe.loop) {
    uv_close((uv_handle_t *)&r->out.pipe, run__close_cb);
    uv_close((uv_handle_t *)&r->err.pipe, run__close_cb);
  }
  uv_close((uv_handle_t *)&r->timer, run__close_cb);
}

// ---- resume: make sure the previous smflow's process is gone, then report lost ----

static bool run__has_marker(pid_t pid, const char *needle, size_t nlen)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
  char *env = NULL;
  size_t len = 0;
  if (smf_file_read(path, &env, &len, NULL) != 0) {
    return false;
  }
  bool found = false;
  for (size_t i = 0; i < len && !found; i += strlen(env + i) + 1) {
    found = strncmp(env + i, needle, nlen) == 0 && env[i + nlen] == '\0';
  }
  free(env);
  return found;
}

static void run__add_victim(struct run_proc *r, pid_t pid)
{
  unsigned long long st = step_proc_start_time(pid);
  for (size_t i = 0; i < r->n_victims; i++) {
    if (r->victims[i] == pid) {
      return;
    }
  }
  if (st == 0) {
    return;
  }
  r->victims = smf_xrealloc(r->victims, (r->n_victims + 1) * sizeof(*r->victims));
  r->victim_start = smf_xrealloc(r->victim_start, (r->n_victims + 1) * sizeof(*r->victim_start));
  r->victims[r->n_victims] = pid;
  r->victim_start[r->n_victims++] = st;
  kill(pid, SIGKILL);
}

static void run__find_victims(struct run_proc *r, pid_t pid, unsigned long long start,
                              const char *marker)
{
  if (pid > 0 && start != 0 && step_proc_start_time(pid) == start) {
    run__add_victim(r, pid);  // noted before it dies (a zombie has no start time), then killed
    kill(-pid, SIGKILL);      // with the rest of its group
  }
  if (marker == NULL) {
    return;
  }
  char *needle = smf_xasprintf("SMFLOW_ATTEMPT_KEY=%s", marker);
  size_t nlen = strlen(needle);
  DIR *d = opendir("/proc");
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    pid_t p = (pid_t)strtol(de->d_name, NULL, 10);
    if (p > 0 && p != getpid() && run__has_marker(p, needle, nlen)) {
      run__add_victim(r, p);
    }
  }
  if (d) {
    closedir(d);
  }
  free(needle);
}

static void run__victims_cb(uv_timer_t *t)
{
  struct run_proc *r = t->data;
  size_t alive = 0;
  for (size_t i = 0; i < r->n_victims; i++) {
    if (step_proc_start_time(r->victims[i]) == r->victim_start[i]) {
      kill(r->victims[i], SIGKILL);
      alive++;
    }
  }
  if (alive > 0 && ++r->polls < 250) {
    return;  // poll again in 20 ms
  }
  uv_timer_stop(&r->timer);
  r->finished = true;
  struct smf_error err = SMF_ERROR_INIT;
  SMF_ERR_SET(&err, SMF_ENOENT, "the process of attempt %d is gone", r->ctx->attempt);
  step_ctx_done(r->ctx, SMF_ENOENT, &err, NULL);
}

static int run_resume(struct step_ctx *ctx, const char *intent_json, struct smf_error *err)
{
  (void)err;
  struct run_proc *r = run__new(ctx);
  json_t *j = json_loads(intent_json, 0, NULL);
  pid_t pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
  unsigned long long start =
      (unsigned long long)json_integer_value(json_object_get(j, "start_time"));
  run__find_victims(r, pid, start, json_string_value(json_object_get(j, "marker")));
  json_decref(j);
  if (r->n_victims > 0) {
    step_ctx_log(ctx, "killed %zu leftover process%s of attempt %d", r->n_victims,
                 r->n_victims == 1 ? "" : "es", ctx->attempt);
  }
  r->victims = r->victims ? r->victims : smf_xcalloc(1, sizeof(*r->victims));
  uv_timer_start(&r->timer, run__victims_cb, 0, 20);
  return 0;
}

const struct step_kind step_kind_run = {
    .name = "run",
    .kind = DSL_KIND_RUN,
    .intent = run_intent,
    .start = run_start,
    .resume = run_resume,
    .cancel = run_cancel,
    .free = run_free,
};
