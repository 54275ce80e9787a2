// hosting.c: local endpoints. A deploy extracts the model (with the inference
// code under model/code), starts a model server on a free loopback port in its
// own session (so that it outlives the run), waits until `GET /ping` answers
// 200, and only then stops the endpoint's previous server and records the new
// one in STATE_DIR/endpoints/NAME.json. Delete stops the server's process group.
// Each server's pid and start time are also noted in CONFIG/server.json when it
// is spawned, so that one left starting by a smflow that died is stopped by the
// next deploy or delete; the servers this process started (posix_spawn) keep an
// unref'd watch on their pidfd until they exit, so that they are reaped
// (struct local_server).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/archive.h"
#include "target/local/local.h"

extern char **environ;

#define HOSTING_POLL_MS 2  // a refused loopback connect is cheap; the tick bounds deploy latency
#define HOSTING_START_TIMEOUT_MS 60000

struct deploy {
  struct target *t;
  char *endpoint, *model_name, *config_name, *model_data, *entry_point, *source_dir;
  char *dir, *model_dir, *log_path;
  char **serve, **env;  // NULL-terminated
  int port;
  uv_work_t work;
  struct local_server *srv;  // the server while it runs and this deploy watches it
  int64_t pid;               // the server's, once spawned
  int pidfd;                 // its pidfd from the spawn until deploy_watch takes it
  bool spawn_failed;
  uv_timer_t timer;
  int handles;
  bool spawned, exited, pinging, recording, done;
  char url[64];
  char arn[512];
  int64_t deadline_ms;
  uint64_t start_time;
  int rc;
  struct smf_error err;
  target_endpoint_cb cb;
  void *data;
};

struct local_server {
  uv_poll_t poll;  // on the pidfd: readable when the server exits
  int pidfd;
  int64_t pid;
  struct target *t;
  struct deploy *d;  // NULL once the deploy is over
  struct local_server *next;
};

static void server_unlink(struct local_server *srv)
{
  for (struct local_server **p = local_impl_servers(srv->t); *p; p = &(*p)->next) {
    if (*p == srv) {
      *p = srv->next;
      break;
    }
  }
}

static void server_free(struct local_server *srv)
{
  if (srv->pidfd >= 0) {
    close(srv->pidfd);
  }
  free(srv);
}

static void server_on_close(uv_handle_t *h)
{
  server_free(h->data);
}

// The server exited (reaped here): tell its deploy, if one still watches.
static void server_on_exit(uv_poll_t *p, int status, int events)
{
  (void)status;
  (void)events;
  struct local_server *srv = p->data;
  pid_t got = waitpid((pid_t)srv->pid, NULL, WNOHANG);
  if (got == 0 || (got < 0 && errno == EINTR)) {
    return;  // not yet
  }
  if (srv->d) {
    srv->d->exited = true;
    srv->d->srv = NULL;
  }
  server_unlink(srv);
  uv_close((uv_handle_t *)&srv->poll, server_on_close);
}

void local_servers_release(struct target *t)
{
  struct local_server **head = local_impl_servers(t);
  while (*head) {
    struct local_server *srv = *head;
    *head = srv->next;
    if (srv->d) {
      srv->d->srv = NULL;
    }
    if (uv_is_closing((uv_handle_t *)&srv->poll)) {
      server_free(srv);  // the loop's owner closed every handle and ran the loop first: done
    } else {
      uv_close((uv_handle_t *)&srv->poll, server_on_close);
    }
  }
}

static char *record_path(const struct target *t, const char *endpoint)
{
  return smf_xasprintf("%s/endpoints/%s.json", t->state_dir, endpoint);
}

static bool endpoint_name_ok(const char *name)
{
  if (name == NULL || *name == '\0' || strlen(name) > 63) {
    return false;
  }
  for (const char *p = name; *p; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// A process recorded earlier is still the same one: alive, same start time.
static bool record_alive(const json_t *rec)
{
  json_int_t pid = json_integer_value(json_object_get(rec, "pid"));
  json_int_t st = json_integer_value(json_object_get(rec, "start_time"));
  if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM)) {
    return false;
  }
  return st == 0 || local_proc_start_time(pid) == (uint64_t)st;
}

static void record_stop(const json_t *rec)
{
  if (rec && record_alive(rec)) {
    pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "pid"));
    if (kill(-pid, SIGTERM) != 0) {
      kill(pid, SIGTERM);
    }
  }
}

static void deploy_free(struct deploy *d)
{
  free(d->endpoint);
  free(d->model_name);
  free(d->config_name);
  free(d->model_data);
  free(d->entry_point);
  free(d->source_dir);
  free(d->dir);
  free(d->model_dir);
  free(d->log_path);
  local_strv_free(d->serve);
  local_strv_free(d->env);
  if (d->pidfd >= 0) {
    close(d->pidfd);
  }
  free(d);
}

static void deploy_on_close(uv_handle_t *h)
{
  struct deploy *d = h->data;
  if (--d->handles == 0) {
    deploy_free(d);
  }
}

static void deploy_close(struct deploy *d)
{
  uv_timer_stop(&d->timer);
  uv_close((uv_handle_t *)&d->timer, deploy_on_close);
  if (d->srv) {  // the server keeps running; its handle reaps it when it exits
    d->srv->d = NULL;
    uv_unref((uv_handle_t *)&d->srv->poll);
    d->srv = NULL;
  }
}

static void deploy_report(struct deploy *d, int rc, const struct target_endpoint_info *info)
{
  d->done = true;
  if (rc != 0 && d->err.code == 0) {
    SMF_ERR_SET(&d->err, rc, "endpoint %s failed", d->endpoint);
  }
  d->cb(d->data, rc, info, rc ? &d->err : NULL);
  deploy_close(d);
}

static void deploy_fail_server(struct deploy *d, const char *why)
{
  if (d->spawned && !d->exited) {
    kill(-(pid_t)d->pid, SIGKILL);
  }
  char *tail = local_file_tail(d->log_path, 600);
  SMF_ERR_SET(&d->err, SMF_ECHILD, "endpoint %s: the model server %s; its log ends:\n%s",
              d->endpoint, why, tail ? tail : "");
  d->err.klass = SMF_CLASS_CLIENT;
  free(tail);
  deploy_report(d, SMF_ECHILD, NULL);
}

// Healthy (thread pool): stop the previous server, record the new one.
static void deploy_record_work(uv_work_t *w)
{
  struct deploy *d = w->data;
  char *path = record_path(d->t, d->endpoint);
  json_t *old = NULL;
  if (local_json_read(path, &old, NULL) == 0 &&
      json_integer_value(json_object_get(old, "pid")) != d->pid) {
    record_stop(old);
  }
  json_decref(old);
  json_t *rec = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:I}", "endpoint", d->endpoint,
      "endpoint_arn", d->arn, "model_name", d->model_name, "config_name", d->config_name, "url",
      d->url, "port", d->port, "pid", (json_int_t)d->pid, "start_time", (json_int_t)d->start_time,
      "model_dir", d->model_dir, "log", d->log_path, "created_ms", (json_int_t)smf_time_now_ms());
  // Replaced atomically, not synced: the record names a process, which a crash
  // of the machine ends too (the endpoint's row in the state database, written
  // by the registry, is committed as every result is).
  d->rc = local_json_write_replace(path, rec, &d->err);
  json_decref(rec);
  free(path);
}

static void deploy_record_after(uv_work_t *w, int status)
{
  (void)status;
  struct deploy *d = w->data;
  struct target_endpoint_info info = {.endpoint = d->endpoint,
                                      .endpoint_arn = d->arn,
                                      .config_name = d->config_name,
                                      .model_name = d->model_name,
                                      .status = "InService",
                                      .url = d->url,
                                      .pid = d->pid};
  deploy_report(d, d->rc, d->rc ? NULL : &info);
}

static void deploy_healthy(struct deploy *d)
{
  d->recording = true;
  uv_timer_stop(&d->timer);
  snprintf(d->url, sizeof(d->url), "http://127.0.0.1:%d", d->port);
  snprintf(d->arn, sizeof(d->arn), "arn:aws:sagemaker:%s:000000000000:endpoint/%s", d->t->region,
           d->endpoint);
  d->work.data = d;
  int rc = uv_queue_work(d->t->loop, &d->work, deploy_record_work, deploy_record_after);
  if (rc != 0) {
    SMF_ERR_SET(&d->err, SMF_EINTERNAL, "cannot queue work: %s", uv_strerror(rc));
    deploy_report(d, SMF_EINTERNAL, NULL);
  }
}

static void deploy_on_ping(void *data, int status)
{
  struct deploy *d = data;
  d->pinging = false;
  if (d->done || d->recording) {
    return;
  }
  if (status == 200) {
    deploy_healthy(d);
  }
}

static void deploy_on_tick(uv_timer_t *t)
{
  struct deploy *d = t->data;
  if (d->done || d->pinging || d->recording) {
    return;
  }
  if (d->exited) {
    deploy_fail_server(d, "exited before it answered /ping");
  } else if (smf_time_now_ms() > d->deadline_ms) {
    deploy_fail_server(d, "did not answer /ping with 200 in time");
  } else if (local_ping(d->t->loop, d->port, "/ping", deploy_on_ping, d, NULL) == 0) {
    d->pinging = true;
  }
}

// STATE_DIR/endpoints/NAME/CONFIG/server.json: the server's pid and start time,
// written as soon as it is spawned (before it can answer /ping) so that a server
// left starting by a process that died is found again by the next deploy of the
// endpoint or by its delete (stray_servers_stop). Scratch: no fsync (a crash of
// the machine ends the server too).
static void deploy_note_server(struct deploy *d)
{
  char *path = smf_xasprintf("%s/server.json", d->dir);
  json_t *o =
      json_pack("{s:I, s:I}", "pid", (json_int_t)d->pid, "start_time", (json_int_t)d->start_time);
  local_json_write_scratch(path, o, NULL);
  json_decref(o);
  free(path);
}

static char *subst(const char *arg, const struct deploy *d)
{
  if (strcmp(arg, "{port}") == 0) {
    return smf_xasprintf("%d", d->port);
  }
  if (strcmp(arg, "{model_dir}") == 0) {
    return smf_xstrdup(d->model_dir);
  }
  return smf_xstrdup(arg);
}

// The server's command line, once the port is known (thread pool).
static void deploy_argv(struct deploy *d)
{
  char **argv;
  if (d->serve) {
    size_t n = 0;
    while (d->serve[n]) {
      n++;
    }
    argv = smf_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
      argv[i] = subst(d->serve[i], d);
    }
    local_strv_free(d->serve);
  } else {
    // -S: no site set-up (its .pth files cost tens of ms); the server puts the
    // site directories on sys.path itself and falls back to the full set-up.
    argv = smf_xcalloc(9, sizeof(char *));
    argv[0] = smf_xstrdup("python3");
    argv[1] = smf_xstrdup("-S");
    argv[2] = smf_xasprintf("%s/model_server.py", local_share_dir(d->t));
    argv[3] = smf_xstrdup("--port");
    argv[4] = smf_xasprintf("%d", d->port);
    argv[5] = smf_xstrdup("--model-dir");
    argv[6] = smf_xstrdup(d->model_dir);
  }
  d->serve = argv;
}

// Start the server (thread pool: posix_spawn returns only once the child has
// exec'd, milliseconds the loop should not wait for); deploy_watch takes it on.
static int deploy_spawn(struct deploy *d)
{
  deploy_argv(d);
  int fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return SMF_ERR_SET(&d->err, SMF_EIO, "%s: %s", d->log_path, strerror(errno));
  }
  struct smf_error serr = SMF_ERROR_INIT;
  int rc = local_spawn_detached(d->serve, d->env, d->model_dir, fd, &d->pid, &d->pidfd, &serr);
  close(fd);
  if (rc != 0) {
    d->spawn_failed = true;
    return SMF_ERR_SET(&d->err, SMF_ECHILD, "endpoint %s: %s", d->endpoint, serr.message);
  }
  d->start_time = local_proc_start_time(d->pid);
  deploy_note_server(d);
  return 0;
}

// The spawned server, watched from the loop: reaped through its pidfd.
static void deploy_watch(struct deploy *d)
{
  struct local_server *srv = smf_xcalloc(1, sizeof(*srv));
  srv->t = d->t;
  srv->pid = d->pid;
  srv->pidfd = d->pidfd;
  d->pidfd = -1;
  d->spawned = true;
  uv_poll_init(d->t->loop, &srv->poll, srv->pidfd);
  srv->poll.data = srv;
  uv_poll_start(&srv->poll, UV_READABLE, server_on_exit);
  srv->d = d;
  srv->next = *local_impl_servers(d->t);
  *local_impl_servers(d->t) = srv;
  d->srv = srv;
}

// Parent pid (field 4 of /proc/PID/stat); -1 if unknown.
static int64_t proc_ppid(int64_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
  char *text = NULL;
  if (smf_file_read(path, &text, NULL, NULL) != 0) {
    return -1;
  }
  const char *p = strrchr(text, ')');
  long long ppid = -1;
  if (p == NULL || sscanf(p + 1, " %*c %lld", &ppid) != 1) {
    ppid = -1;
  }
  free(text);
  return ppid;
}

// Stop the servers noted in STATE_DIR/endpoints/NAME/*/server.json that are
// still running, are not the endpoint's recorded server (keep_pid) and are not
// children of this process (a deploy in flight here): servers left starting by
// a smflow that died. Returns how many were stopped. Thread pool.
static int stray_servers_stop(const struct target *t, const char *endpoint, int64_t keep_pid)
{
  char *dir = smf_xasprintf("%s/endpoints/%s", t->state_dir, endpoint);
  DIR *dh = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (dh && (e = readdir(dh)) != NULL) {
    if (e->d_name[0] == '.') {
      continue;
    }
    char *path = smf_xasprintf("%s/%s/server.json", dir, e->d_name);
    json_t *rec = NULL;
    if (local_json_read(path, &rec, NULL) == 0) {
      int64_t pid = json_integer_value(json_object_get(rec, "pid"));
      if (pid > 0 && pid != keep_pid && proc_ppid(pid) != (int64_t)getpid() && record_alive(rec)) {
        record_stop(rec);
        n++;
      }
    }
    json_decref(rec);
    free(path);
  }
  if (dh) {
    closedir(dh);
  }
  free(dir);
  return n;
}

// A free loopback port: bind port 0 and ask which one the kernel gave.
static int pick_port(struct smf_error *err)
{
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
      getsockname(s, (struct sockaddr *)&a, &len) != 0) {
    if (s >= 0) {
      close(s);
    }
    return SMF_ERR_SET(err, SMF_EIO, "no free port: %s", strerror(errno));
  }
  close(s);
  return ntohs(a.sin_port);
}

static void deploy_work(uv_work_t *w)
{
  struct deploy *d = w->data;
  char *tgz = NULL;
  // A server left starting by an interrupted deploy of this endpoint (a run
  // that died and is resumed now) is stopped; the endpoint's live one is kept.
  char *path = record_path(d->t, d->endpoint);
  json_t *rec = NULL;
  int64_t keep = 0;
  if (local_json_read(path, &rec, NULL) == 0) {
    keep = json_integer_value(json_object_get(rec, "pid"));
  }
  json_decref(rec);
  free(path);
  stray_servers_stop(d->t, d->endpoint, keep);
  d->rc = local_rm_rf(d->dir, &d->err);
  if (d->rc == 0) {
    d->rc = local_uri_path(d->t, d->model_data, &tgz, &d->err);
  }
  if (d->rc == 0) {
    d->rc = smf_archive_extract(tgz, d->model_dir, NULL, &d->err);
  }
  if (d->rc == 0 && d->source_dir) {
    char *code = smf_xasprintf("%s/code", d->model_dir);
    d->rc = local_code_fetch(d->t, d->source_dir, code, &d->err);
    free(code);
  }
  if (d->rc == 0) {
    int port = pick_port(&d->err);
    d->rc = port < 0 ? port : 0;
    d->port = port;
  }
  if (d->rc == 0) {
    d->rc = deploy_spawn(d);
  }
  free(tgz);
}

// The server's command line and environment (as the SDK's Model.deploy sets them).
static void deploy_command(struct deploy *d, const struct target_endpoint_spec *spec)
{
  size_t n = 0;
  if (spec->n_serve_command) {
    d->serve = smf_xcalloc(spec->n_serve_command + 1, sizeof(char *));
    for (size_t i = 0; i < spec->n_serve_command; i++) {
      d->serve[n++] = (char *)spec->serve_command[i];  // substituted after the port is known
    }
  }
  char **over = smf_xcalloc(spec->n_environment + 6, sizeof(char *));
  size_t k = 0;
  if (spec->entry_point) {
    over[k++] = smf_xasprintf("SAGEMAKER_PROGRAM=%s", spec->entry_point);
    over[k++] = smf_xasprintf("SAGEMAKER_SUBMIT_DIRECTORY=%s/code", d->model_dir);
  }
  over[k++] = smf_xstrdup("SAGEMAKER_CONTAINER_LOG_LEVEL=20");
  over[k++] = smf_xasprintf("SAGEMAKER_REGION=%s", d->t->region);
  for (size_t i = 0; i < spec->n_environment; i++) {
    over[k++] = smf_xasprintf("%s=%s", spec->environment[i].key, spec->environment[i].value);
  }
  d->env = local_env_merge(environ, over, k);
  for (size_t i = 0; i < k; i++) {
    free(over[i]);
  }
  free(over);
}

static void deploy_after(uv_work_t *w, int status)
{
  (void)status;
  struct deploy *d = w->data;
  if (d->rc != 0) {
    if (d->spawn_failed) {
      d->spawned = d->exited = true;
    } else {
      d->err.klass = SMF_CLASS_CLIENT;
    }
    deploy_report(d, d->rc, NULL);
    return;
  }
  deploy_watch(d);
  d->deadline_ms = smf_time_now_ms() + HOSTING_START_TIMEOUT_MS;
  uv_timer_start(&d->timer, deploy_on_tick, HOSTING_POLL_MS, HOSTING_POLL_MS);
}

static int hosting_deploy(struct target *t, const struct target_endpoint_spec *spec,
                          target_endpoint_cb cb, void *data, struct smf_error *err)
{
  if (spec == NULL || cb == NULL || !endpoint_name_ok(spec->endpoint) || !spec->model_data) {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "deploy needs an endpoint name ([a-zA-Z0-9-]{1,63}), "
                       "model data and a callback");
  }
  struct deploy *d = smf_xcalloc(1, sizeof(*d));
  d->t = t;
  d->pidfd = -1;
  d->cb = cb;
  d->data = data;
  d->endpoint = smf_xstrdup(spec->endpoint);
  d->model_name = smf_xstrdup(spec->model_name ? spec->model_name : spec->endpoint);
  d->config_name = spec->config_name
                       ? smf_xstrdup(spec->config_name)
                       : smf_xasprintf("%s-%lld", spec->endpoint, (long long)smf_time_now_ms());
  d->model_data = smf_xstrdup(spec->model_data);
  d->entry_point = spec->entry_point ? smf_xstrdup(spec->entry_point) : NULL;
  d->source_dir = spec->source_dir ? smf_xstrdup(spec->source_dir) : NULL;
  d->dir = smf_xasprintf("%s/endpoints/%s/%s", t->state_dir, d->endpoint, d->config_name);
  d->model_dir = smf_xasprintf("%s/model", d->dir);
  d->log_path = smf_xasprintf("%s/server.log", d->dir);
  deploy_command(d, spec);
  if (d->serve) {  // copy the templates: the spec is borrowed only during this call
    for (char **p = d->serve; *p; p++) {
      *p = smf_xstrdup(*p);
    }
  }
  uv_timer_init(t->loop, &d->timer);
  d->timer.data = d;
  d->handles = 1;
  d->work.data = d;
  int rc = uv_queue_work(t->loop, &d->work, deploy_work, deploy_after);
  if (rc != 0) {
    d->done = true;
    deploy_close(d);
    return SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue work: %s", uv_strerror(rc));
  }
  return 0;
}

// ---------------------------------------------------------------------------
// describe / delete: read (and for delete stop and remove) the endpoint record.

struct ep_req {
  uv_work_t work;
  struct target *t;
  char *endpoint;
  bool remove;
  json_t *rec;
  bool alive;
  int rc;
  struct smf_error err;
  target_endpoint_cb ep_cb;
  target_done_cb done_cb;
  void *data;
};

static void ep_work(uv_work_t *w)
{
  struct ep_req *r = w->data;
  char *path = record_path(r->t, r->endpoint);
  // Delete also stops servers that were starting when an earlier smflow died.
  int strays = r->remove ? stray_servers_stop(r->t, r->endpoint, 0) : 0;
  r->rc = local_json_read(path, &r->rec, &r->err);
  if (r->rc == SMF_ENOENT && strays > 0) {
    smf_error_clear(&r->err);
    r->rc = 0;
    r->rec = json_object();  // nothing recorded: the strays were all there was
  }
  if (r->rc == SMF_ENOENT) {
    smf_error_clear(&r->err);
    r->rc = SMF_ERR_SET(&r->err, SMF_ENOENT, "no endpoint named '%s'", r->endpoint);
  }
  if (r->rc == 0) {
    r->alive = record_alive(r->rec);
  }
  if (r->rc == 0 && r->remove) {
    record_stop(r->rec);
    if (unlink(path) != 0 && errno != ENOENT) {
      r->rc = SMF_ERR_SET(&r->err, SMF_EIO, "%s: %s", path, strerror(errno));
    }
    char *dir = smf_xasprintf("%s/endpoints/%s", r->t->state_dir, r->endpoint);
    local_rm_rf(dir, NULL);
    free(dir);
  }
  free(path);
}

static const char *rec_str(const json_t *rec, const char *key)
{
  return json_string_value(json_object_get(rec, key));
}

static void ep_after(uv_work_t *w, int status)
{
  (void)status;
  struct ep_req *r = w->data;
  const struct smf_error *e = r->rc ? &r->err : NULL;
  if (r->remove) {
    r->done_cb(r->data, r->rc, e);
  } else if (r->rc != 0) {
    r->ep_cb(r->data, r->rc, NULL, e);
  } else {
    struct target_endpoint_info info = {.endpoint = rec_str(r->rec, "endpoint"),
                                        .endpoint_arn = rec_str(r->rec, "endpoint_arn"),
                                        .config_name = rec_str(r->rec, "config_name"),
                                        .model_name = rec_str(r->rec, "model_name"),
                                        .status = r->alive ? "InService" : "Failed",
                                        .url = rec_str(r->rec, "url"),
                                        .pid = json_integer_value(json_object_get(r->rec, "pid"))};
    r->ep_cb(r->data, 0, &info, NULL);
  }
  json_decref(r->rec);
  free(r->endpoint);
  free(r);
}

static int ep_queue(struct target *t, const char *endpoint, bool remove, target_endpoint_cb ep_cb,
                    target_done_cb done_cb, void *data, struct smf_error *err)
{
  if (!endpoint_name_ok(endpoint) || (ep_cb == NULL && done_cb == NULL)) {
    return SMF_ERR_SET(err, SMF_EINVAL, "invalid endpoint name '%s'", endpoint ? endpoint : "");
  }
  struct ep_req *r = smf_xcalloc(1, sizeof(*r));
  r->t = t;
  r->endpoint = smf_xstrdup(endpoint);
  r->remove = remove;
  r->ep_cb = ep_cb;
  r->done_cb = done_cb;
  r->data = data;
  r->work.data = r;
  int rc = uv_queue_work(t->loop, &r->work, ep_work, ep_after);
  if (rc != 0) {
    free(r->endpoint);
    free(r);
    return SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue work: %s", uv_strerror(rc));
  }
  return 0;
}

static int hosting_describe(struct target *t, const char *endpoint, target_endpoint_cb cb,
                            void *data, struct smf_error *err)
{
  return ep_queue(t, endpoint, false, cb, NULL, data, err);
}

static int hosting_remove(struct target *t, const char *endpoint, target_done_cb cb, void *data,
                          struct smf_error *err)
{
  return ep_queue(t, endpoint, true, NULL, cb, data, err);
}

const struct target_hosting_ops local_hosting_ops = {
    .deploy = hosting_deploy,
    .describe = hosting_describe,
    .remove = hosting_remove,
};
