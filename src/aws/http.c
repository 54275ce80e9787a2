// http.c: one CURLM driven by libuv (curl's multi-uv.c design).
//
// curl tells us which sockets to watch (socket callback → one uv_poll each) and
// when to wake it up (timer callback → one uv_timer). Poll events and timer
// expiries call curl_multi_socket_action; finished transfers are collected with
// curl_multi_info_read and queued. Completion callbacks run only after curl has
// returned, so user code never re-enters curl from inside a curl callback.
#include "aws/http.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "smflow/log.h"

#define HTTP_POOL_MAX 64

// One watched socket: a uv_poll with its curl socket, freed in the close callback.
struct http_sock {
  uv_poll_t poll;
  curl_socket_t fd;
  struct aws_http *http;
  struct http_sock *prev, *next;
  bool closing;
};

struct aws_http {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  uv_idle_t idle;
  int open_handles;  // uv handles not yet closed (timer, idle, polls)
  struct http_sock *socks;
  struct aws_http_req *active_head;
  size_t nactive;
  struct aws_http_req *done_head, *done_tail;
  CURL *pool[HTTP_POOL_MAX];
  size_t npool;
  uint64_t connects;
  // TLS: every connection verifies against one X509_STORE loaded once (curl
  // would parse the CA bundle again for each new connection) and resumes
  // sessions from one shared cache.
  CURLSH *share;
  char *share_ca;  // sessions are shared only among requests trusting this bundle
  bool share_bound;
  X509_STORE *store;
  char *store_ca;  // the bundle `store` was loaded from; NULL: curl's defaults
  bool store_loaded;
  char *default_cainfo, *default_capath;
  bool closing, multi_gone, draining;
  aws_http_close_cb close_cb;
  void *close_data;
};

static void http_drain(struct aws_http *http);
static void http_maybe_finish_close(struct aws_http *http);

static void http_free(struct aws_http *http)
{
  X509_STORE_free(http->store);
  free(http->store_ca);
  free(http->share_ca);
  free(http->default_cainfo);
  free(http->default_capath);
  free(http);
}

static void http_handle_closed(uv_handle_t *h)
{
  struct aws_http *http = h->data;
  http->open_handles--;
  if (http->open_handles == 0) {
    aws_http_close_cb cb = http->close_cb;
    void *data = http->close_data;
    http_free(http);
    if (cb) {
      cb(data);
    }
  }
}

static void http_sock_closed(uv_handle_t *h)
{
  struct http_sock *sk = h->data;
  struct aws_http *http = sk->http;
  if (sk->prev) {
    sk->prev->next = sk->next;
  } else {
    http->socks = sk->next;
  }
  if (sk->next) {
    sk->next->prev = sk->prev;
  }
  free(sk);
  http->open_handles--;
  if (http->open_handles == 0) {
    aws_http_close_cb cb = http->close_cb;
    void *data = http->close_data;
    http_free(http);
    if (cb) {
      cb(data);
    }
  }
}

static void http_sock_close(struct http_sock *sk)
{
  if (sk->closing) {
    return;
  }
  sk->closing = true;
  uv_poll_stop(&sk->poll);
  uv_close((uv_handle_t *)&sk->poll, http_sock_closed);
}

// A finished easy handle: record the outcome, give the handle back, queue the callback.
static void http_finish(struct aws_http *http, struct aws_http_req *req, CURLcode code)
{
  CURL *easy = req->easy;
  req->curl_code = code;
  if (easy) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &req->status);
    long reqsize = 0, nconn = 0;
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &reqsize);
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &nconn);
    req->sent = reqsize > 0;
    http->connects += (uint64_t)nconn;
    if (!http->multi_gone) {
      curl_multi_remove_handle(http->multi, easy);
    }

    if (http->npool < HTTP_POOL_MAX && !http->closing) {
      curl_easy_reset(easy);
      http->pool[http->npool++] = easy;
    } else {
      curl_easy_cleanup(easy);
    }
    req->easy = NULL;
  }
  // A 2xx with an empty body still yields its (empty) output file.
  if (req->out_path && !req->out_decided && code == CURLE_OK && req->status >= 200 &&
      req->status <= 299 && strcmp(req->method, "HEAD") != 0) {
    req->out_fd = open(req->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (req->out_fd < 0) {
      code = CURLE_WRITE_ERROR;
      snprintf(req->local_error, sizeof req->local_error, "open %s: %s", req->out_path,
               strerror(errno));
    }
  }
  if (req->out_fd >= 0) {
    close(req->out_fd);
    req->out_fd = -1;
  }
  if (req->cancelled) {
    req->result = SMF_ECANCELLED;
    req->curl_code = CURLE_ABORTED_BY_CALLBACK;
  } else if (code == CURLE_OK) {
    req->result = 0;
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    req->result = SMF_ETIMEOUT;
  } else {
    req->result = SMF_EHTTP;
  }
  if (req->result != 0 && req->local_error[0] != '\0') {
    snprintf(req->curl_error, sizeof req->curl_error, "%s", req->local_error);
  } else if (req->result != 0 && req->curl_error[0] == '\0') {
    snprintf(req->curl_error, sizeof req->curl_error, "%s", curl_easy_strerror(req->curl_code));
  }
  // Unlink from the active list, append to the completion queue.
  if (req->prev_active) {
    req->prev_active->next_active = req->next_active;
  } else {
    http->active_head = req->next_active;
  }
  if (req->next_active) {
    req->next_active->prev_active = req->prev_active;
  }
  req->prev_active = req->next_active = NULL;
  req->next_done = NULL;
  if (http->done_tail) {
    http->done_tail->next_done = req;
  } else {
    http->done_head = req;
  }
  http->done_tail = req;
}

static void http_check_multi(struct aws_http *http)
{
  CURLMsg *msg;
  int pending;
  while ((msg = curl_multi_info_read(http->multi, &pending)) != NULL) {
    if (msg->msg != CURLMSG_DONE) {
      continue;
    }
    struct aws_http_req *req = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
    // `msg` is invalid once the handle is removed: copy the code first.
    CURLcode code = msg->data.result;
    http_finish(http, req, code);
  }
}

static void http_poll_cb(uv_poll_t *h, int status, int events)
{
  struct http_sock *sk = h->data;
  struct aws_http *http = sk->http;
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE) {
      flags |= CURL_CSELECT_IN;
    }
    if (events & UV_WRITABLE) {
      flags |= CURL_CSELECT_OUT;
    }
  }
  int running = 0;
  curl_multi_socket_action(http->multi, sk->fd, flags, &running);
  http_check_multi(http);
  http_drain(http);
}

static void http_timer_cb(uv_timer_t *h)
{
  struct aws_http *http = h->data;
  int running = 0;
  curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  http_check_multi(http);
  http_drain(http);
}

static void http_idle_cb(uv_idle_t *h)
{
  struct aws_http *http = h->data;
  uv_idle_stop(h);
  http_drain(http);
}

// CURLMOPT_TIMERFUNCTION: only (re)arm the uv timer; never call curl from here.
static int http_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
  (void)multi;
  struct aws_http *http = userp;
  if (timeout_ms < 0) {
    uv_timer_stop(&http->timer);
  } else {
    uv_timer_start(&http->timer, http_timer_cb, (uint64_t)timeout_ms, 0);
  }
  return 0;
}

// CURLMOPT_SOCKETFUNCTION: one uv_poll per socket, attached with curl_multi_assign.
static int http_socket_fn(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
  (void)easy;
  struct aws_http *http = userp;
  struct http_sock *sk = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (sk) {
      if (!http->multi_gone) {
        curl_multi_assign(http->multi, s, NULL);
      }
      http_sock_close(sk);
    }
    return 0;
  }
  if (!sk) {
    sk = smf_xcalloc(1, sizeof *sk);
    int rc = uv_poll_init_socket(http->loop, &sk->poll, s);
    if (rc != 0) {
      SMF_ERROR("http: cannot watch socket %d: %s", (int)s, uv_strerror(rc));
      free(sk);
      return -1;
    }
    sk->fd = s;
    sk->http = http;
    sk->poll.data = sk;
    sk->next = http->socks;
    if (http->socks) {
      http->socks->prev = sk;
    }
    http->socks = sk;
    http->open_handles++;
    curl_multi_assign(http->multi, s, sk);
  }
  int events = 0;
  if (what & CURL_POLL_IN) {
    events |= UV_READABLE;
  }
  if (what & CURL_POLL_OUT) {
    events |= UV_WRITABLE;
  }
  int rc = uv_poll_start(&sk->poll, events, http_poll_cb);
  if (rc != 0) {
    SMF_ERROR("http: cannot poll socket %d: %s", (int)s, uv_strerror(rc));
    return -1;
  }
  return 0;
}

int aws_http_new(uv_loop_t *loop, struct aws_http **out, struct smf_error *err)
{
  static bool global_done;
  *out = NULL;
  if (!global_done) {
    // Not thread-safe by curl's contract; smflow calls it from the main thread only.
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      return SMF_ERR_SET(err, SMF_EHTTP, "curl_global_init: %s", curl_easy_strerror(rc));
    }
    global_done = true;
  }
  struct aws_http *http = smf_xcalloc(1, sizeof *http);
  http->loop = loop;
  http->multi = curl_multi_init();
  if (!http->multi) {
    free(http);
    return SMF_ERR_SET(err, SMF_EHTTP, "curl_multi_init failed");
  }
  uv_timer_init(loop, &http->timer);
  http->timer.data = http;
  uv_idle_init(loop, &http->idle);
  http->idle.data = http;
  http->open_handles = 2;
  curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, http_socket_fn);
  curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
  curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, http_timer_fn);
  curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
  // Keep enough idle connections for many parallel requests to one endpoint.
  curl_multi_setopt(http->multi, CURLMOPT_MAXCONNECTS, 256L);
  http->share = curl_share_init();
  if (http->share) {
    // One thread uses it (the loop's), so no lock callbacks are needed.
    curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  // curl's built-in CA locations, used when no bundle is configured.
  CURL *probe = curl_easy_init();
  char *info = NULL;
  if (probe && curl_easy_getinfo(probe, CURLINFO_CAINFO, &info) == CURLE_OK && info) {
    http->default_cainfo = smf_xstrdup(info);
  }
  info = NULL;
  if (probe && curl_easy_getinfo(probe, CURLINFO_CAPATH, &info) == CURLE_OK && info) {
    http->default_capath = smf_xstrdup(info);
  }
  curl_easy_cleanup(probe);
  *out = http;
  return 0;
}

CURLSH *aws__http_share(struct aws_http *http)
{
  return http->share;
}

bool aws__http_share_sessions(struct aws_http *http, const char *ca_bundle)
{
  if (!http->share_bound) {
    http->share_bound = true;
    http->share_ca = ca_bundle ? smf_xstrdup(ca_bundle) : NULL;
  }
  return http->share && ((!ca_bundle && !http->share_ca) ||
                         (ca_bundle && http->share_ca && strcmp(ca_bundle, http->share_ca) == 0));
}

X509_STORE *aws__http_ca_store(struct aws_http *http, const char *ca_bundle, char *why,
                               size_t why_cap)
{
  bool same = http->store_loaded &&
              ((!ca_bundle && !http->store_ca) ||
               (ca_bundle && http->store_ca && strcmp(ca_bundle, http->store_ca) == 0));
  if (same) {
    return http->store;
  }
  X509_STORE_free(http->store);
  free(http->store_ca);
  http->store = X509_STORE_new();
  http->store_ca = ca_bundle ? smf_xstrdup(ca_bundle) : NULL;
  http->store_loaded = false;
  const char *file = ca_bundle ? ca_bundle : http->default_cainfo;
  const char *dir = ca_bundle ? NULL : http->default_capath;
  bool ok = http->store != NULL;
  if (ok && file && X509_STORE_load_file(http->store, file) != 1) {
    snprintf(why, why_cap, "cannot load the CA bundle %s", file);
    ok = false;
  }
  if (ok && dir && X509_STORE_load_path(http->store, dir) != 1) {
    snprintf(why, why_cap, "cannot use the CA directory %s", dir);
    ok = false;
  }
  if (ok && !file && !dir && X509_STORE_set_default_paths(http->store) != 1) {
    snprintf(why, why_cap, "cannot load OpenSSL's default CA locations");
    ok = false;
  }
  if (!ok) {
    X509_STORE_free(http->store);
    http->store = NULL;
    free(http->store_ca);
    http->store_ca = NULL;
    return NULL;
  }
  http->store_loaded = true;
  return http->store;
}

size_t aws_http_active(const struct aws_http *http)
{
  return http->nactive;
}

uint64_t aws_http_connects(const struct aws_http *http)
{
  return http->connects;
}

void aws_http_close(struct aws_http *http, aws_http_close_cb cb, void *data)
{
  if (http->closing) {
    return;
  }
  http->closing = true;
  http->close_cb = cb;
  http->close_data = data;
  while (http->active_head) {
    struct aws_http_req *req = http->active_head;
    req->cancelled = true;
    http_finish(http, req, CURLE_ABORTED_BY_CALLBACK);
  }
  uv_idle_start(&http->idle, http_idle_cb);
}

// Run queued completion callbacks. Safe against callbacks that start, cancel or
// close: each request is unlinked before its callback runs.
static void http_drain(struct aws_http *http)
{
  if (http->draining) {
    return;
  }
  http->draining = true;
  while (http->done_head) {
    struct aws_http_req *req = http->done_head;
    http->done_head = req->next_done;
    if (!http->done_head) {
      http->done_tail = NULL;
    }
    req->next_done = NULL;
    req->active = false;
    http->nactive--;
    if (req->cb) {
      req->cb(req, req->cb_data);
    }
  }
  http->draining = false;
  http_maybe_finish_close(http);
}

static void http_maybe_finish_close(struct aws_http *http)
{
  if (!http->closing || http->multi_gone || http->nactive > 0) {
    return;
  }
  for (size_t i = 0; i < http->npool; i++) {
    curl_easy_cleanup(http->pool[i]);
  }
  http->npool = 0;
  // curl_multi_cleanup closes cached connections, reporting CURL_POLL_REMOVE;
  // the socket callback must not call back into the multi handle meanwhile.
  CURLM *multi = http->multi;
  http->multi_gone = true;
  http->multi = NULL;
  curl_multi_cleanup(multi);
  if (http->share) {
    // Last: no easy handle and no connection refers to its sessions any more.
    CURLSHcode sc = curl_share_cleanup(http->share);
    if (sc != CURLSHE_OK) {
      SMF_ERROR("http: share handle still in use: %s", curl_share_strerror(sc));
    }
    http->share = NULL;
  }
  for (struct http_sock *sk = http->socks; sk; sk = sk->next) {
    http_sock_close(sk);
  }
  uv_timer_stop(&http->timer);
  uv_idle_stop(&http->idle);
  uv_close((uv_handle_t *)&http->timer, http_handle_closed);
  uv_close((uv_handle_t *)&http->idle, http_handle_closed);
}

void aws_http_req_cancel(struct aws_http_req *req)
{
  if (!req->active || req->cancelled || !req->easy) {
    return;
  }
  struct aws_http *http = req->http;
  req->cancelled = true;
  http_finish(http, req, CURLE_ABORTED_BY_CALLBACK);
  uv_idle_start(&http->idle, http_idle_cb);
}

int aws_http_req_start(struct aws_http *http, struct aws_http_req *req, aws_http_done_cb cb,
                       void *data, struct smf_error *err)
{
  if (http->closing) {
    return SMF_ERR_SET(err, SMF_ECANCELLED, "HTTP client is closing");
  }
  if (req->active) {
    return SMF_ERR_SET(err, SMF_EINVAL, "request already active");
  }
  if (!req->url || !req->method) {
    return SMF_ERR_SET(err, SMF_EINVAL, "request has no method or URL");
  }
  CURL *easy = http->npool ? http->pool[--http->npool] : curl_easy_init();
  if (!easy) {
    return SMF_ERR_SET(err, SMF_EHTTP, "curl_easy_init failed");
  }
  req->http = http;
  int rc = aws__http_req_setup(req, easy, err);
  if (rc != 0) {
    curl_easy_cleanup(easy);
    req->easy = NULL;
    return rc;
  }
  CURLMcode mc = curl_multi_add_handle(http->multi, easy);
  if (mc != CURLM_OK) {
    curl_easy_cleanup(easy);
    return SMF_ERR_SET(err, SMF_EHTTP, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
  }
  req->http = http;
  req->easy = easy;
  req->cb = cb;
  req->cb_data = data;
  req->active = true;
  req->cancelled = false;
  req->next_active = http->active_head;
  req->prev_active = NULL;
  if (http->active_head) {
    http->active_head->prev_active = req;
  }
  http->active_head = req;
  http->nactive++;
  return 0;
}
