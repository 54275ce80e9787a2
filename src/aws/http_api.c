// http_api.c: the core's side of the http module — the functions of http.h
// forward to the table of smflow-http.so (http_module.h), which is loaded on
// first use. aws_http_new, aws_http_req_start, aws_http_url_split and
// aws_http_post_sync report a module that cannot be loaded as an error; the
// setters cannot return one and are only called on a request for a client
// that aws_http_new made (if the module is missing there, smflow stops with
// the loader's message); initialising, resetting and releasing a request need
// no module.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/http_module.h"
#include "smflow/error.h"

static const struct aws_http_module *http__mod(struct smf_error *err)
{
  return smf_module_get("http", err);
}

static const struct aws_http_module *http__must(void)
{
  struct smf_error err = SMF_ERROR_INIT;
  const struct aws_http_module *m = http__mod(&err);
  if (m == NULL) {
    fprintf(stderr, "error: %s\n", err.message);
    exit(4);
  }
  return m;
}

int aws_http_new(uv_loop_t *loop, struct aws_http **out, struct smf_error *err)
{
  const struct aws_http_module *m = http__mod(err);
  return m == NULL ? SMF_EIO : m->new(loop, out, err);
}

void aws_http_close(struct aws_http *http, aws_http_close_cb cb, void *data)
{
  http__must()->close(http, cb, data);
}

size_t aws_http_active(const struct aws_http *http)
{
  return http__must()->active(http);
}

uint64_t aws_http_connects(const struct aws_http *http)
{
  return http__must()->connects(http);
}

// Without the module nothing was ever set on a request: nothing to release.
void aws_http_req_cleanup(struct aws_http_req *req)
{
  const struct aws_http_module *m = http__mod(NULL);
  if (m != NULL) {
    m->req_cleanup(req);
  }
}

void aws_http_req_reset(struct aws_http_req *req)
{
  const struct aws_http_module *m = http__mod(NULL);
  if (m != NULL) {
    m->req_reset(req);
  }
}

void aws_http_req_set(struct aws_http_req *req, const char *method, const char *url)
{
  http__must()->req_set(req, method, url);
}

void aws_http_req_header(struct aws_http_req *req, const char *name, const char *value)
{
  http__must()->req_header(req, name, value);
}

void aws_http_req_body_mem(struct aws_http_req *req, const void *data, size_t len)
{
  http__must()->req_body_mem(req, data, len);
}

void aws_http_req_body_fd(struct aws_http_req *req, int fd, uint64_t off, uint64_t len)
{
  http__must()->req_body_fd(req, fd, off, len);
}

void aws_http_req_body_chunked_crc32(struct aws_http_req *req, const char *trailer_name, size_t chunk)
{
  http__must()->req_body_chunked_crc32(req, trailer_name, chunk);
}

uint64_t aws_http_chunked_length(uint64_t len, size_t chunk, const char *trailer_name)
{
  return http__must()->chunked_length(len, chunk, trailer_name);
}

void aws_http_req_output_file(struct aws_http_req *req, const char *path)
{
  http__must()->req_output_file(req, path);
}

void aws_http_req_max_response(struct aws_http_req *req, size_t max)
{
  http__must()->req_max_response(req, max);
}

void aws_http_req_timeouts(struct aws_http_req *req, long connect_ms, long total_ms)
{
  http__must()->req_timeouts(req, connect_ms, total_ms);
}

void aws_http_req_stall_timeout(struct aws_http_req *req, long ms)
{
  http__must()->req_stall_timeout(req, ms);
}

void aws_http_req_ca_bundle(struct aws_http_req *req, const char *path)
{
  http__must()->req_ca_bundle(req, path);
}

void aws_http_req_fresh_connect(struct aws_http_req *req, bool fresh)
{
  http__must()->req_fresh_connect(req, fresh);
}

int aws_http_req_start(struct aws_http *http, struct aws_http_req *req, aws_http_done_cb cb, void *data, struct smf_error *err)
{
  const struct aws_http_module *m = http__mod(err);
  return m == NULL ? SMF_EIO : m->req_start(http, req, cb, data, err);
}

void aws_http_req_cancel(struct aws_http_req *req)
{
  http__must()->req_cancel(req);
}

const char *aws_http_req_header_get(const struct aws_http_req *req, const char *name)
{
  return http__must()->req_header_get(req, name);
}

int aws_http_url_split(const char *url, struct aws_http_url *out)
{
  const struct aws_http_module *m = http__mod(NULL);
  if (m == NULL) {
    *out = (struct aws_http_url){0};
    return -1;
  }
  return m->url_split(url, out);
}

void aws_http_url_clear(struct aws_http_url *u)
{
  http__must()->url_clear(u);
}

int aws_http_post_sync(const char *url, const void *body, size_t len, const char *ctype, const char *accept, long *status, struct smf_buf *resp, char *why, size_t why_cap)
{
  struct smf_error err = SMF_ERROR_INIT;
  const struct aws_http_module *m = http__mod(&err);
  if (m == NULL) {
    *status = 0;
    snprintf(why, why_cap, "%s", err.message);
    return SMF_EIO;
  }
  return m->post_sync(url, body, len, ctype, accept, status, resp, why, why_cap);
}
