// http_module.h: the table of the http module, smflow-http.so (see http.h
// and include/smflow/module.h): one entry per function of http.h. Not a public
// header.
#pragma once

#include "aws/http.h"
#include "smflow/module.h"

struct aws_http_module {
  struct smf_module_header hdr;
  int (*new)(uv_loop_t *loop, struct aws_http **out, struct smf_error *err);
  void (*close)(struct aws_http *http, aws_http_close_cb cb, void *data);
  size_t (*active)(const struct aws_http *http);
  uint64_t (*connects)(const struct aws_http *http);
  void (*req_cleanup)(struct aws_http_req *req);
  void (*req_reset)(struct aws_http_req *req);
  void (*req_set)(struct aws_http_req *req, const char *method, const char *url);
  void (*req_header)(struct aws_http_req *req, const char *name, const char *value);
  void (*req_body_mem)(struct aws_http_req *req, const void *data, size_t len);
  void (*req_body_fd)(struct aws_http_req *req, int fd, uint64_t off, uint64_t len);
  void (*req_body_chunked_crc32)(struct aws_http_req *req, const char *trailer_name, size_t chunk);
  uint64_t (*chunked_length)(uint64_t len, size_t chunk, const char *trailer_name);
  void (*req_output_file)(struct aws_http_req *req, const char *path);
  void (*req_max_response)(struct aws_http_req *req, size_t max);
  void (*req_timeouts)(struct aws_http_req *req, long connect_ms, long total_ms);
  void (*req_stall_timeout)(struct aws_http_req *req, long ms);
  void (*req_ca_bundle)(struct aws_http_req *req, const char *path);
  void (*req_fresh_connect)(struct aws_http_req *req, bool fresh);
  int (*req_start)(struct aws_http *http, struct aws_http_req *req, aws_http_done_cb cb, void *data, struct smf_error *err);
  void (*req_cancel)(struct aws_http_req *req);
  const char *(*req_header_get)(const struct aws_http_req *req, const char *name);
  int (*url_split)(const char *url, struct aws_http_url *out);
  void (*url_clear)(struct aws_http_url *u);
  int (*post_sync)(const char *url, const void *body, size_t len, const char *ctype, const char *accept, long *status, struct smf_buf *resp, char *why, size_t why_cap);
};
