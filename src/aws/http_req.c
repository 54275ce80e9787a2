// http_req.c: one HTTP request's setters and its curl easy-handle callbacks
// (request body from memory or a file range, response into a capped buffer or a
// file, response headers).
#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aws/http.h"


static void req_free_headers(struct aws_http_req *req)
{
  for (size_t i = 0; i < req->nheaders; i++) {
    free(req->headers[i].name);
    free(req->headers[i].value);
  }
  free(req->headers);
  req->headers = NULL;
  req->nheaders = 0;
}


void aws_http_req_cleanup(struct aws_http_req *req)
{
  if (req->active) {
    return;  // programmer error; leaking beats a use-after-free in curl
  }
  req_free_headers(req);
  smf_buf_free(&req->body);
  curl_slist_free_all(req->req_headers);
  free(req->method);
  free(req->url);
  free(req->out_path);
  free(req->ca_bundle);
  if (req->out_fd >= 0) {
    close(req->out_fd);
  }
  aws_http_req_init(req);
}

void aws_http_req_reset(struct aws_http_req *req)
{
  aws_http_req_cleanup(req);
}

void aws_http_req_set(struct aws_http_req *req, const char *method, const char *url)
{
  free(req->method);
  free(req->url);
  req->method = smf_xstrdup(method);
  req->url = smf_xstrdup(url);
}

void aws_http_req_header(struct aws_http_req *req, const char *name, const char *value)
{
  char *line = smf_xasprintf("%s: %s", name, value);
  struct curl_slist *l = curl_slist_append(req->req_headers, line);
  free(line);
  if (!l) {
    abort();  // out of memory
  }
  req->req_headers = l;
  if (strcasecmp(name, "Content-Type") == 0) {
    req->post_ctype = true;
  }
}

void aws_http_req_body_mem(struct aws_http_req *req, const void *data, size_t len)
{
  req->mem_body = data;
  req->body_fd = -1;
  req->body_off = 0;
  req->body_len = len;
  req->has_body = true;
}

void aws_http_req_body_fd(struct aws_http_req *req, int fd, uint64_t off, uint64_t len)
{
  req->mem_body = NULL;
  req->body_fd = fd;
  req->body_off = off;
  req->body_len = len;
  req->has_body = true;
}

void aws_http_req_output_file(struct aws_http_req *req, const char *path)
{
  free(req->out_path);
  req->out_path = path ? smf_xstrdup(path) : NULL;
}

void aws_http_req_max_response(struct aws_http_req *req, size_t max)
{
  req->max_response = max;
}

void aws_http_req_timeouts(struct aws_http_req *req, long connect_ms, long total_ms)
{
  req->connect_timeout_ms = connect_ms;
  req->timeout_ms = total_ms;
}

void aws_http_req_fresh_connect(struct aws_http_req *req, bool fresh)
{
  req->fresh_connect = fresh;
}

void aws_http_req_ca_bundle(struct aws_http_req *req, const char *path)
{
  free(req->ca_bundle);
  req->ca_bundle = path ? smf_xstrdup(path) : NULL;
}

void aws_http_req_stall_timeout(struct aws_http_req *req, long ms)
{
  req->stall_timeout_ms = ms;
}

const char *aws_http_req_header_get(const struct aws_http_req *req, const char *name)
{
  for (size_t i = 0; i < req->nheaders; i++) {
    if (strcasecmp(req->headers[i].name, name) == 0) {
      return req->headers[i].value;
    }
  }
  return NULL;
}

// ---- curl callbacks ----

size_t aws__http_body_read(struct aws_http_req *req, char *buf, size_t n)
{
  uint64_t left = req->body_len - req->body_pos;
  if (n > left) {
    n = (size_t)left;
  }
  if (n == 0) {
    return 0;
  }
  if (req->mem_body) {
    memcpy(buf, (const char *)req->mem_body + req->body_pos, n);
  } else {
    ssize_t got;
    do {
      got = pread(req->body_fd, buf, n, (off_t)(req->body_off + req->body_pos));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
      snprintf(req->local_error, sizeof req->local_error, "reading request body: %s",
               got < 0 ? strerror(errno) : "file shorter than expected");
      return (size_t)-1;
    }
    n = (size_t)got;
  }
  req->body_pos += n;
  return n;
}

// The body goes straight from the file (pread) into curl's upload buffer.
static size_t req_read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
  struct aws_http_req *req = userp;
  if (req->chunk_size > 0) {
    return aws__http_chunked_read(req, buf, size * nitems);
  }
  size_t n = aws__http_body_read(req, buf, size * nitems);
  return n == (size_t)-1 ? CURL_READFUNC_ABORT : n;
}

// curl rewinds the body when it must resend it (e.g. on a reused connection that closed).
static int req_seek_cb(void *userp, curl_off_t offset, int origin)
{
  struct aws_http_req *req = userp;
  if (req->chunk_size > 0) {
    if (origin != SEEK_SET || offset != 0) {
      return CURL_SEEKFUNC_CANTSEEK;  // the framing and CRC restart only from the top
    }
    aws__http_chunked_rewind(req);
    return CURL_SEEKFUNC_OK;
  }
  if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > req->body_len) {
    return CURL_SEEKFUNC_FAIL;
  }
  req->body_pos = (uint64_t)offset;
  return CURL_SEEKFUNC_OK;
}

static size_t req_header_cb(char *buf, size_t size, size_t nitems, void *userp)
{
  struct aws_http_req *req = userp;
  size_t n = size * nitems;
  if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
    req_free_headers(req);  // a new response (e.g. after 100 Continue)
    return n;
  }
  const char *colon = memchr(buf, ':', n);
  if (!colon) {
    return n;
  }
  const char *v = colon + 1, *end = buf + n;
  while (v < end && (*v == ' ' || *v == '\t')) {
    v++;
  }
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) {
    end--;
  }
  req->headers = smf_xrealloc(req->headers, (req->nheaders + 1) * sizeof *req->headers);
  req->headers[req->nheaders].name = smf_xstrndup(buf, (size_t)(colon - buf));
  req->headers[req->nheaders].value = smf_xstrndup(v, (size_t)(end - v));
  req->nheaders++;
  return n;
}

// Decide at the first body byte where the body goes: a 2xx answer to a request
// with an output file goes to that file; anything else (errors) to memory.
static int req_decide_sink(struct aws_http_req *req)
{
  req->out_decided = true;
  long status = 0;
  curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
  if (!req->out_path || status < 200 || status > 299) {
    return 0;
  }
  req->out_fd = open(req->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (req->out_fd < 0) {
    snprintf(req->local_error, sizeof req->local_error, "open %s: %s", req->out_path,
             strerror(errno));
    return -1;
  }
  return 0;
}

static size_t req_write_cb(char *buf, size_t size, size_t nitems, void *userp)
{
  struct aws_http_req *req = userp;
  size_t n = size * nitems;
  if (!req->out_decided && req_decide_sink(req) != 0) {
    return 0;
  }
  if (req->out_fd >= 0) {
    size_t done = 0;
    while (done < n) {
      ssize_t w = write(req->out_fd, buf + done, n - done);
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w <= 0) {
        snprintf(req->local_error, sizeof req->local_error, "write %s: %s", req->out_path,
                 strerror(errno));
        return 0;
      }
      done += (size_t)w;
    }
  } else if (smf_buf_append(&req->body, buf, n) != 0) {
    snprintf(req->local_error, sizeof req->local_error, "response body over %zu bytes",
             req->max_response);
    return 0;
  }
  req->body_bytes += n;
  return n;
}

// CURLOPT_SSL_CTX_FUNCTION: verify against the client's shared CA store. curl
// has set up the context (verification on, host name checked after the
// handshake); only the trust anchors come from here.
static CURLcode req_ssl_ctx_cb(CURL *easy, void *sslctx, void *userp)
{
  (void)easy;
  struct aws_http_req *req = userp;
  X509_STORE *store =
      aws__http_ca_store(req->http, req->ca_bundle, req->local_error, sizeof req->local_error);
  if (!store) {
    return CURLE_SSL_CACERT_BADFILE;
  }
  SSL_CTX_set1_cert_store(sslctx, store);
  return CURLE_OK;
}

static void req_set_tls(struct aws_http_req *req, CURL *easy)
{
  // With the CA store supplied here curl cannot tell bundles apart in its
  // session caches: resume only among requests that trust the same bundle.
  bool sessions = aws__http_share_sessions(req->http, req->ca_bundle);
  curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, sessions ? 1L : 0L);
  if (curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, req_ssl_ctx_cb) == CURLE_OK) {
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, req);
    // curl's own store cache is keyed by CURLOPT_CAINFO (NULL here for every
    // bundle) and would hand one request's store to the next: ours replaces it.
    curl_easy_setopt(easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);
    curl_easy_setopt(easy, CURLOPT_CAINFO, NULL);
    curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
  } else if (req->ca_bundle) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, req->ca_bundle);  // a TLS library without the hook
  }
}

static void req_set_method(struct aws_http_req *req, CURL *easy)
{
  const char *m = req->method;
  curl_off_t len =
      (curl_off_t)(req->chunk_size > 0
                       ? aws_http_chunked_length(req->body_len, req->chunk_size, req->trailer_name)
                       : req->body_len);
  if (strcmp(m, "HEAD") == 0) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    return;
  }
  if (strcmp(m, "GET") == 0 && !req->has_body) {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    return;
  }
  if (strcmp(m, "PUT") == 0) {
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, req->has_body ? len : (curl_off_t)0);
  } else if (strcmp(m, "POST") == 0 || req->has_body) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, req->has_body ? len : (curl_off_t)0);
    if (strcmp(m, "POST") != 0) {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m);
    }
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m);
  }
  // Large bodies go out in larger reads than curl's 64 KiB: fewer callbacks
  // and system calls. Not larger than 256 KiB: the bytes pread into the buffer
  // are then checksummed, copied into TLS records and encrypted while they are
  // still in the CPU's cache (1 MiB measured 5% more CPU than 256 KiB here).
  if (req->body_len >= ((uint64_t)1 << 20)) {
    curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, 256L << 10);
  }
  curl_easy_setopt(easy, CURLOPT_READFUNCTION, req_read_cb);
  curl_easy_setopt(easy, CURLOPT_READDATA, req);
  curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, req_seek_cb);
  curl_easy_setopt(easy, CURLOPT_SEEKDATA, req);
}

int aws__http_req_setup(struct aws_http_req *req, CURL *easy, struct smf_error *err)
{
  (void)err;
  req_free_headers(req);
  smf_buf_reset(&req->body);
  req->body.max = req->max_response;
  req->result = 0;
  req->curl_code = CURLE_OK;
  req->curl_error[0] = '\0';
  req->local_error[0] = '\0';
  req->status = 0;
  req->sent = false;
  req->body_bytes = 0;
  req->body_pos = 0;
  if (req->chunk_size > 0) {
    aws__http_chunked_rewind(req);
  }
  req->out_decided = false;
  req->easy = easy;
  // "Expect:" stops curl's 100-continue wait; an empty Content-Type stops the
  // form-encoded default for POST, which would not be covered by a signature.
  if (!req->post_ctype) {
    req->req_headers = curl_slist_append(req->req_headers, "Content-Type:");
    req->post_ctype = true;
  }
  static const char expect_hdr[] = "Expect:";
  bool have_expect = false;
  for (struct curl_slist *l = req->req_headers; l; l = l->next) {
    if (strcmp(l->data, expect_hdr) == 0) {
      have_expect = true;
    }
  }
  if (!have_expect) {
    req->req_headers = curl_slist_append(req->req_headers, expect_hdr);
  }
  CURLSH *share = aws__http_share(req->http);
  if (share) {
    curl_easy_setopt(easy, CURLOPT_SHARE, share);
  }
  curl_easy_setopt(easy, CURLOPT_URL, req->url);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->curl_error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->req_headers);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, req_header_cb);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, req);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, req_write_cb);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
  if (req->stall_timeout_ms > 0) {
    long s = (req->stall_timeout_ms + 999) / 1000;
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, s);
  }
  if (strncasecmp(req->url, "https:", 6) == 0) {
    req_set_tls(req, easy);
  }
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, req->fresh_connect ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "smflow/" SMF_VERSION);
  req_set_method(req, easy);
  return 0;
}
