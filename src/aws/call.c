// call.c: the life of one AWS call: copy the request, hash a file body on the
// thread pool, wait for the operation's rate limit, sign (with the learnt clock
// offset), send, classify the answer with the standard retry mode, back off and
// resend, or hand an ambiguous failure of a non-idempotent call to its hook.
#include <errno.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/client_int.h"
#include "smflow/log.h"

static int call_send(struct aws_call *call, struct smf_error *err);
static void call_complete(struct aws_call *call, int code);

static const char *arena_dup(struct aws_call *call, const char *s)
{
  return s ? smf_arena_strdup(&call->arena, s) : NULL;
}

static struct aws_kv *copy_kvs(struct aws_call *call, const struct aws_kv *kv, size_t n)
{
  if (n == 0) {
    return NULL;
  }
  struct aws_kv *out = smf_arena_alloc(&call->arena, n * sizeof *out);
  for (size_t i = 0; i < n; i++) {
    out[i].name = arena_dup(call, kv[i].name);
    out[i].value = arena_dup(call, kv[i].value ? kv[i].value : "");
  }
  return out;
}

// Hash a file range through a read-only mapping: no copy out of the page cache.
static bool hash_mapped(EVP_MD_CTX *md, const struct aws_call *call)
{
  if (call->body_fd_len == 0) {
    return true;
  }
  long page = sysconf(_SC_PAGESIZE);
  uint64_t start = call->body_off - call->body_off % (uint64_t)page;
  size_t skip = (size_t)(call->body_off - start);
  size_t len = (size_t)call->body_fd_len + skip;
  void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, call->body_fd, (off_t)start);
  if (map == MAP_FAILED) {
    return false;
  }
  madvise(map, len, MADV_SEQUENTIAL);
  EVP_DigestUpdate(md, (const char *)map + skip, (size_t)call->body_fd_len);
  munmap(map, len);
  return true;
}

static int hash_read(EVP_MD_CTX *md, const struct aws_call *call, char *why, size_t why_cap)
{
  size_t cap = 1 << 20;
  unsigned char *buf = smf_xmalloc(cap);
  uint64_t pos = 0;
  int rc = 0;
  while (pos < call->body_fd_len) {
    size_t want = call->body_fd_len - pos < cap ? (size_t)(call->body_fd_len - pos) : cap;
    ssize_t got = pread(call->body_fd, buf, want, (off_t)(call->body_off + pos));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      snprintf(why, why_cap, "reading the body: %s", got < 0 ? strerror(errno) : "short file");
      rc = SMF_EIO;
      break;
    }
    EVP_DigestUpdate(md, buf, (size_t)got);
    pos += (uint64_t)got;
  }
  free(buf);
  return rc;
}

// SHA-256 of a buffer or file range: hex for the signature, base64 for x-amz-checksum-sha256.
static int hash_body(struct aws_call *call, char *why, size_t why_cap)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char dig[32];
  unsigned dlen = 0;
  int rc = 0;
  if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
    abort();
  }
  if (call->body_fd < 0) {
    EVP_DigestUpdate(md, call->body, call->body_len);
  } else if (!hash_mapped(md, call)) {
    rc = hash_read(md, call, why, why_cap);
  }
  EVP_DigestFinal_ex(md, dig, &dlen);
  EVP_MD_CTX_free(md);
  for (unsigned i = 0; i < 32; i++) {
    snprintf(call->payload_hex + 2 * i, 3, "%02x", dig[i]);
  }
  EVP_EncodeBlock((unsigned char *)call->checksum_b64, dig, 32);
  call->hashed = rc == 0;
  return rc;
}

static void hash_work(uv_work_t *w)
{
  struct aws_call *call = w->data;
  char why[200] = "";
  if (hash_body(call, why, sizeof why) != 0) {
    snprintf(call->last_err.message, sizeof call->last_err.message, "%s", why);
  }
}

static void hash_after(uv_work_t *w, int status)
{
  struct aws_call *call = w->data;
  call->work_busy = false;
  if (call->cancelled || status != 0) {
    call_complete(call, SMF_ECANCELLED);
    return;
  }
  if (!call->hashed) {
    char msg[sizeof call->last_err.message];
    snprintf(msg, sizeof msg, "%s", call->last_err.message);
    SMF_ERR_SET(&call->last_err, SMF_EIO, "%s: %s", call->op, msg);
    call_complete(call, SMF_EIO);
    return;
  }
  struct smf_error err = SMF_ERROR_INIT;
  if (call_send(call, &err) != 0) {
    call->last_err = err;
    call_complete(call, err.code);
  }
}

static void call_copy_request(struct aws_call *call, const struct aws_request *r)
{
  call->svc = r->service;
  call->op = arena_dup(call, r->op ? r->op : "request");
  call->method = arena_dup(call, r->method);
  call->bucket = arena_dup(call, r->bucket);
  call->path = arena_dup(call, r->path && *r->path ? r->path : "/");
  call->output_path = arena_dup(call, r->output_path);
  call->query = copy_kvs(call, r->query, r->n_query);
  call->n_query = r->n_query;
  call->headers = copy_kvs(call, r->headers, r->n_headers);
  call->n_headers = r->n_headers;
  call->body_fd = r->body_fd;
  if (r->body_fd >= 0) {
    call->body_off = r->body_off;
    call->body_fd_len = r->body_fd_len;
  } else if (r->body) {
    call->body = smf_xmalloc(r->body_len ? r->body_len : 1);
    memcpy(call->body, r->body, r->body_len);
    call->body_len = r->body_len;
  }
  call->checksum = r->checksum_sha256;
  call->max_response = r->max_response;
  call->idempotent = r->idempotent;
  call->anonymous = r->anonymous;
  call->timeout_ms = r->timeout_ms;
  call->on_ambiguous = r->on_ambiguous;
  call->ambiguous_data = r->ambiguous_data;
}

static void call_free(struct aws_call *call)
{
  aws_http_req_cleanup(&call->req);
  aws_sigv4_result_free(&call->sig);
  smf_arena_free(&call->arena);
  if (call->body) {
    memset(call->body, 0, call->body_len);  // may hold a token (STS web identity)
  }
  free(call->body);
  free(call);
}

static void call_timer_closed(uv_handle_t *h)
{
  call_free(h->data);
}

int aws_call_start(struct aws_client *c, const struct aws_request *r, aws_done_fn cb, void *data,
                   struct aws_call **out, struct smf_error *err)
{
  if (out) {
    *out = NULL;
  }
  if (c->closing) {
    return SMF_ERR_SET(err, SMF_ECANCELLED, "AWS client is closing");
  }
  if (!r->method || r->service < 0 || r->service >= AWS_SVC__COUNT) {
    return SMF_ERR_SET(err, SMF_EINVAL, "AWS request without a method or service");
  }
  if (!r->anonymous && !c->provider && !aws_creds_valid(&c->creds)) {
    return SMF_ERR_SET(err, SMF_ECREDS, "%s: no AWS credentials", r->op ? r->op : "request");
  }
  struct aws_call *call = smf_xcalloc(1, sizeof *call);
  call->c = c;
  call->cb = cb;
  call->cb_data = data;
  aws_http_req_init(&call->req);
  call_copy_request(call, r);
  call->next = c->calls;
  if (c->calls) {
    c->calls->prev = call;
  }
  c->calls = call;
  c->ncalls++;
  int rc = 0;
  if (call->body_fd >= 0) {
    // A file body is hashed off the loop; the first attempt starts afterwards.
    call->state = CALL_HASHING;
    call->work.data = call;
    call->work_busy = true;
    rc = uv_queue_work(c->loop, &call->work, hash_work, hash_after);
    if (rc != 0) {
      call->work_busy = false;
      rc = SMF_ERR_SET(err, SMF_EINTERNAL, "uv_queue_work: %s", uv_strerror(rc));
    }
  } else {
    if (call->checksum) {
      hash_body(call, NULL, 0);
    }
    rc = call_send(call, err);
  }
  if (rc != 0) {
    // Unlink without aws__client_call_gone: a failed start must not finish a close.
    if (call->prev) {
      call->prev->next = call->next;
    } else {
      c->calls = call->next;
    }
    if (call->next) {
      call->next->prev = call->prev;
    }
    c->ncalls--;
    if (call->timer_open) {
      uv_close((uv_handle_t *)&call->timer, call_timer_closed);
    } else {
      call_free(call);
    }
    return rc;
  }
  if (out) {
    *out = call;
  }
  return 0;
}

static void call_timer_cb(uv_timer_t *t)
{
  struct aws_call *call = t->data;
  if (call->cancelled) {
    call_complete(call, SMF_ECANCELLED);
    return;
  }
  struct smf_error err = SMF_ERROR_INIT;
  if (call_send(call, &err) != 0) {
    call->last_err = err;
    call_complete(call, err.code);
  }
}

static void call_wait(struct aws_call *call, uint64_t ms)
{
  if (!call->timer_open) {
    uv_timer_init(call->c->loop, &call->timer);
    call->timer.data = call;
    call->timer_open = true;
  }
  call->state = CALL_WAITING;
  uv_timer_start(&call->timer, call_timer_cb, ms, 0);
}

void aws_call_cancel(struct aws_call *call)
{
  if (call->cancelled || call->state == CALL_DONE) {
    return;
  }
  call->cancelled = true;
  switch (call->state) {
    case CALL_SENDING:
      aws_http_req_cancel(&call->req);
      break;
    case CALL_WAITING:
      call_wait(call, 0);
      break;
    default:
      break;  // hashing / ambiguous: completes when the work or the verdict arrives
  }
}

const char *aws_call_op(const struct aws_call *call)
{
  return call->op;
}

const char *aws_result_header(const struct aws_result *res, const char *name)
{
  return res->call ? aws_http_req_header_get(&res->call->req, name) : NULL;
}

static void call_complete(struct aws_call *call, int code)
{
  struct aws_client *c = call->c;
  call->state = CALL_DONE;
  if (call->timer_open) {
    uv_timer_stop(&call->timer);
  }
  struct aws_result res;
  memset(&res, 0, sizeof res);
  res.code = code;
  if (code == SMF_ECANCELLED && call->last_err.code != SMF_ECANCELLED) {
    SMF_ERR_SET(&call->last_err, SMF_ECANCELLED, "%s: cancelled", call->op);
  }
  if (code != 0) {
    res.err = call->last_err;
  }
  res.status = call->resolved ? 0 : call->req.status;
  res.body = call->req.body.data && !call->resolved ? call->req.body.data : "";
  res.body_len = call->resolved ? 0 : call->req.body.len;
  res.attempts = call->attempt;
  res.resolved = call->resolved;
  res.call = call;
  if (call->cb) {
    call->cb(&res, call->cb_data);
  }
  aws__client_call_gone(c, call);
  if (call->timer_open) {
    uv_close((uv_handle_t *)&call->timer, call_timer_closed);
  } else {
    call_free(call);
  }
}

// ---- one attempt ----

static void add_query(struct smf_buf *url, const struct aws_call *call)
{
  for (size_t i = 0; i < call->n_query; i++) {
    smf_buf_puts(url, i == 0 ? "?" : "&");
    aws_sigv4_uri_encode(url, call->query[i].name, strlen(call->query[i].name), false);
    smf_buf_puts(url, "=");
    aws_sigv4_uri_encode(url, call->query[i].value, strlen(call->query[i].value), false);
  }
}

static void on_http_done(struct aws_http_req *req, void *data);
static void on_creds(const struct aws_creds *creds, const struct smf_error *err, void *data);

// Sign the request for this attempt and fill the HTTP request with it.
static int call_sign(struct aws_call *call, const char *canon_path, const char *host,
                     struct smf_error *err)
{
  struct aws_client *c = call->c;
  size_t nh = call->n_headers + 2;
  struct aws_sigv4_kv *hs = smf_xcalloc(nh, sizeof *hs);
  size_t k = 0;
  hs[k++] = (struct aws_sigv4_kv){"Host", host};
  for (size_t i = 0; i < call->n_headers; i++) {
    hs[k++] = (struct aws_sigv4_kv){call->headers[i].name, call->headers[i].value};
  }
  if (call->checksum) {
    hs[k++] = (struct aws_sigv4_kv){"x-amz-checksum-sha256", call->checksum_b64};
  }
  for (size_t i = 1; i < k; i++) {
    aws_http_req_header(&call->req, hs[i].name, hs[i].value);
  }
  aws_http_req_header(&call->req, "Host", host);
  int rc = 0;
  if (!call->anonymous) {
    struct aws_sigv4_request sr = {
        .method = call->method,
        .path = canon_path,
        .query = (const struct aws_sigv4_kv *)call->query,
        .n_query = call->n_query,
        .headers = hs,
        .n_headers = k,
        .payload_hash = call->hashed ? call->payload_hex : NULL,
        .body = call->body,
        .body_len = call->body_len,
    };
    struct aws_sigv4_config cfg = {
        .creds = &c->creds,
        .region = aws__signing_region(c, call->svc),
        .service = aws__service_signing_name(call->svc),
        .time_s = ((int64_t)smf_time_now_ms() + c->skew_ms) / 1000,
        .flags = call->svc == AWS_SVC_S3 ? AWS_SIGV4_FLAGS_S3 : AWS_SIGV4_FLAGS_DEFAULT,
    };
    rc = aws_sigv4_sign_headers(c->signer, &sr, &cfg, &call->sig, err);
    for (size_t i = 0; rc == 0 && i < call->sig.n_add; i++) {
      aws_http_req_header(&call->req, call->sig.add[i].name, call->sig.add[i].value);
    }
  }
  free(hs);
  return rc;
}

static void on_creds(const struct aws_creds *creds, const struct smf_error *err, void *data)
{
  struct aws_call *call = data;
  if (call->cancelled) {
    call_complete(call, SMF_ECANCELLED);
    return;
  }
  if (!creds) {
    call->last_err = *err;
    smf_error_prefix(&call->last_err, "%s", call->op);
    call_complete(call, err->code ? err->code : SMF_ECREDS);
    return;
  }
  aws_client_set_creds(call->c, creds);
  call->creds_ready = true;
  struct smf_error e = SMF_ERROR_INIT;
  if (call_send(call, &e) != 0) {
    call->last_err = e;
    call_complete(call, e.code);
  }
}

static int call_send(struct aws_call *call, struct smf_error *err)
{
  struct aws_client *c = call->c;
  // A shared token bucket per operation family keeps many pollers under a rate.
  if (!call->token_held) {
    for (size_t i = 0; i < c->nrates; i++) {
      struct aws__rate_rule *r = &c->rates[i];
      if (r->svc == call->svc && smf_str_startswith(call->op, r->prefix)) {
        uint64_t wait = aws_rate_bucket_take(&r->bucket, (int64_t)uv_now(c->loop));
        call->token_held = true;
        if (wait > 0) {
          call_wait(call, wait);
          return 0;
        }
        break;
      }
    }
  }
  // Credentials from the provider: cached ones at once, else after its fetch.
  if (c->provider && !call->anonymous && !call->creds_ready) {
    struct aws_creds now = AWS_CREDS_INIT;
    int got = aws_creds_provider_get(c->provider, &now, on_creds, call, err);
    if (got < 0) {
      return got;
    }
    if (got == AWS_CREDS_PENDING) {
      call->state = CALL_CREDS;
      return 0;
    }
    aws_client_set_creds(c, &now);
    aws_creds_clear(&now);
  }
  call->creds_ready = false;
  struct smf_buf origin = SMF_BUF_INIT, host = SMF_BUF_INIT, path = SMF_BUF_INIT;
  struct smf_buf url = SMF_BUF_INIT;
  bool path_style = false;
  int rc = aws__endpoint(c, call->svc, call->bucket, &origin, &host, &path_style, err);
  if (rc != 0) {
    goto fail;
  }
  if (path_style) {
    smf_buf_printf(&path, "/%s", call->bucket);
  }
  smf_buf_puts(&path, call->path);
  smf_buf_printf(&url, "%s%s", smf_buf_cstr(&origin), smf_buf_cstr(&path));
  add_query(&url, call);
  aws_http_req_reset(&call->req);
  aws_http_req_set(&call->req, call->method, smf_buf_cstr(&url));
  rc = call_sign(call, smf_buf_cstr(&path), smf_buf_cstr(&host), err);
  if (rc != 0) {
    goto fail;
  }
  if (call->body_fd >= 0) {
    aws_http_req_body_fd(&call->req, call->body_fd, call->body_off, call->body_fd_len);
  } else if (call->body) {
    aws_http_req_body_mem(&call->req, call->body, call->body_len);
  }
  aws_http_req_stall_timeout(&call->req, c->read_timeout_ms);
  aws_http_req_ca_bundle(&call->req, c->ca_bundle);
  aws_http_req_fresh_connect(&call->req, !call->idempotent);
  if (call->output_path) {
    aws_http_req_output_file(&call->req, call->output_path);
  }
  if (call->max_response) {
    aws_http_req_max_response(&call->req, call->max_response);
  }
  aws_http_req_timeouts(&call->req, c->connect_ms, call->timeout_ms ? call->timeout_ms : c->timeout_ms);
  rc = aws_http_req_start(c->http, &call->req, on_http_done, call, err);
  if (rc != 0) {
    goto fail;
  }
  call->state = CALL_SENDING;
  call->token_held = false;
  call->attempt++;
  c->attempts++;
fail:
  smf_buf_free(&origin);
  smf_buf_free(&host);
  smf_buf_free(&path);
  smf_buf_free(&url);
  return rc;
}

static void call_transport_error(struct aws_call *call)
{
  const struct aws_http_req *req = &call->req;
  SMF_ERR_SET(&call->last_err, req->result, "%s %s: %s%s", aws__service_label(call->svc),
              call->op, req->curl_error,
              req->sent ? " (the request was sent; its outcome is unknown)" : "");
  call->last_err.klass = req->result == SMF_ETIMEOUT ? SMF_CLASS_TIMEOUT : SMF_CLASS_NONE;
}

static void on_http_done(struct aws_http_req *req, void *data)
{
  struct aws_call *call = data;
  struct aws_client *c = call->c;
  if (call->cancelled) {
    call_complete(call, SMF_ECANCELLED);
    return;
  }
  if (req->result == 0 && req->status >= 200 && req->status < 300) {
    aws_retry_quota_release(&c->quota, call->last_cost);
    call_complete(call, 0);
    return;
  }
  int64_t skew = 0, server_ms;
  if (req->result == 0) {
    smf_error_clear(&call->last_err);
    aws__parse_error(req, call->svc, call->op, &call->last_err);
    const char *date = aws_http_req_header_get(req, "Date");
    if (date && aws_retry_parse_date(date, &server_ms) == 0) {
      skew = server_ms - smf_time_now_ms();
    }
  } else {
    call_transport_error(call);
  }
  // A non-idempotent request that left this host may have been processed.
  if (req->result != 0 && req->result != SMF_ECANCELLED && req->sent && !call->idempotent) {
    if (call->on_ambiguous) {
      call->state = CALL_AMBIGUOUS;
      call->on_ambiguous(call, call->ambiguous_data);  // may complete and free the call
      return;
    }
    call_complete(call, call->last_err.code);
    return;
  }
  enum aws_retry_kind kind = aws_retry_classify(req->result, req->status, call->last_err.aws_code,
                                                call->last_err.message, skew);
  if (kind == AWS_RETRY_NONE || call->attempt >= c->max_attempts) {
    call_complete(call, call->last_err.code);
    return;
  }
  int cost = aws_retry_quota_acquire(&c->quota, kind);
  if (cost == 0) {
    smf_error_prefix(&call->last_err, "retry quota exhausted");
    call_complete(call, call->last_err.code);
    return;
  }
  call->last_cost = cost;
  uint64_t delay = 0;
  if (kind == AWS_RETRY_SKEW) {
    c->skew_ms = skew;  // re-sign at the server's time, at once
    SMF_WARN("%s: clock skew of %lld ms; re-signing with the server's time", call->op,
             (long long)skew);
  } else {
    delay = aws_retry_delay_ms(call->attempt, aws_rand_next(&c->rand));
  }
  SMF_DEBUG("%s: attempt %d failed (%s), retrying in %llu ms", call->op, call->attempt,
            call->last_err.message, (unsigned long long)delay);
  call_wait(call, delay);
}

void aws_call_resolve(struct aws_call *call, enum aws_verdict verdict)
{
  if (call->state != CALL_AMBIGUOUS) {
    return;
  }
  if (call->cancelled) {
    call_complete(call, SMF_ECANCELLED);
    return;
  }
  struct aws_client *c = call->c;
  if (verdict == AWS_VERDICT_DONE) {
    call->resolved = true;
    call_complete(call, 0);
    return;
  }
  int cost = 0;
  if (verdict == AWS_VERDICT_RETRY && call->attempt < c->max_attempts) {
    cost = aws_retry_quota_acquire(&c->quota, AWS_RETRY_TRANSPORT);
  }
  if (cost == 0) {
    call_complete(call, call->last_err.code);
    return;
  }
  call->last_cost = cost;
  call_wait(call, aws_retry_delay_ms(call->attempt, aws_rand_next(&c->rand)));
}
