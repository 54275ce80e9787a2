// http.h: an asynchronous HTTP client, one curl multi handle driven by a libuv
// loop (the design of curl's docs/examples/multi-uv.c, with error handling).
//
// The implementation (http.c, http_req.c, http_chunked.c, http_url.c,
// http_sync.c) is the http module, smflow-http.so, the only code that links
// libcurl; it is loaded on first use (include/smflow/module.h). The rest of
// smflow calls the functions declared here through http_api.c, which forwards
// to the module's table (http_module.h).
//
// One struct aws_http per loop. A struct aws_http_req is one HTTP exchange: the
// caller fills it (method, URL, headers, body source, response sink, timeouts),
// starts it, and gets exactly one completion callback, always from the loop and
// never from inside a curl callback. A finished request may be reset and started
// again (a retry re-signs and re-sends it). Connections are kept alive in the
// multi handle's cache; easy handles are pooled and reused.
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "aws/checksum.h"
#include "smflow/error.h"
#include "smflow/util.h"

struct aws_http;
struct aws_http_req;

/// Default cap of an in-memory response body (aws_http_req_max_response).
#define AWS_HTTP_DEFAULT_MAX_RESPONSE ((size_t)16 << 20)

/// Completion: the request finished (transport error, HTTP response of any status,
/// or cancellation). `req` stays owned by the caller, who may free or restart it here.
typedef void (*aws_http_done_cb)(struct aws_http_req *req, void *data);
/// Called once every handle of the client is closed; the client memory is freed.
typedef void (*aws_http_close_cb)(void *data);

/// One response header (name as received; compare case-insensitively).
struct aws_http_header {
  char *name;
  char *value;
};

/// A request. Fill the public fields with aws_http_req_* setters; read the result
/// fields in the completion callback.
struct aws_http_req {
  // ---- result, valid in the completion callback ----
  int result;                ///< 0, SMF_EHTTP (transport), SMF_ETIMEOUT or SMF_ECANCELLED
  CURLcode curl_code;        ///< CURLE_OK on a complete HTTP exchange
  char curl_error[CURL_ERROR_SIZE];
  long status;               ///< HTTP status, 0 when none arrived
  bool sent;                 ///< the request left this host (its outcome is unknown on error)
  struct smf_buf body;       ///< response body when not written to a file (capped)
  struct aws_http_header *headers;  ///< response headers of the final response
  size_t nheaders;
  uint64_t body_bytes;       ///< bytes of response body received (file or memory)
  /// aws-chunked bodies: the CRC32 trailer's value as last sent (base64).
  char trailer_crc32[AWS_CRC_B64_SIZE];

  // ---- private ----
  struct aws_http *http;
  CURL *easy;
  struct curl_slist *req_headers;
  char *method;
  char *url;
  const void *mem_body;      ///< borrowed until completion
  int body_fd;               ///< file body, -1 when none
  uint64_t body_off, body_len, body_pos;
  bool has_body;
  // aws-chunked encoding (chunk_size > 0): framing generated while sending
  size_t chunk_size;
  char trailer_name[48];
  uint64_t chunk_left;       ///< payload bytes left in the current chunk
  char pending[96];          ///< framing text still to send
  size_t pending_len, pending_off;
  bool chunked_done;         ///< the last chunk and trailer are queued
  uint32_t crc;              ///< CRC32 of the payload sent so far
  char *out_path;            ///< response file sink (2xx only)
  char *ca_bundle;
  int out_fd;
  bool out_decided;
  size_t max_response;
  long connect_timeout_ms, timeout_ms, stall_timeout_ms;
  bool active, cancelled;
  char local_error[192];    ///< our own reason (curl overwrites its error buffer)
  bool fresh_connect;
  bool post_ctype;           ///< a Content-Type header was given
  aws_http_done_cb cb;
  void *cb_data;
  struct aws_http_req *next_done;  ///< completion queue link
  struct aws_http_req *prev_active, *next_active;
};

/// Create a client on `loop`. Caller closes it with aws_http_close.
int aws_http_new(uv_loop_t *loop, struct aws_http **out, struct smf_error *err);
/// Cancel every active request (each gets its callback with SMF_ECANCELLED first),
/// close every uv handle, and call `cb` once all are closed. The client is freed then.
void aws_http_close(struct aws_http *http, aws_http_close_cb cb, void *data);
/// Number of requests in flight (started, callback not yet run).
size_t aws_http_active(const struct aws_http *http);
/// Connections opened so far (a measure of keep-alive reuse).
uint64_t aws_http_connects(const struct aws_http *http);

/// Initialise a caller-owned request (on the stack or inside a larger struct).
void aws_http_req_init(struct aws_http_req *req);
/// Release what the request owns (headers, body, files). Not while active.
void aws_http_req_cleanup(struct aws_http_req *req);
/// Clear the request and result so it can be filled again; keeps nothing.
void aws_http_req_reset(struct aws_http_req *req);

/// Method ("GET", "PUT", "POST", "HEAD", "DELETE") and full URL. Copied.
void aws_http_req_set(struct aws_http_req *req, const char *method, const char *url);
/// Add a request header "Name: value". Copied.
void aws_http_req_header(struct aws_http_req *req, const char *name, const char *value);
/// Body from memory: borrowed, must stay valid until the completion callback.
void aws_http_req_body_mem(struct aws_http_req *req, const void *data, size_t len);
/// Body streamed from `fd` (borrowed, not closed) at [off, off+len) with pread.
void aws_http_req_body_fd(struct aws_http_req *req, int fd, uint64_t off, uint64_t len);
/// Send the body (set before) with S3's aws-chunked content coding: chunks of
/// `chunk` payload bytes, then a zero-length chunk and the trailer
/// "`trailer_name`:CRC32" (base64, big-endian) of the payload, computed while
/// the payload is sent: one pass over the data. Content-Length becomes the
/// encoded length (aws_http_chunked_length); the caller adds the headers S3
/// wants (Content-Encoding, x-amz-decoded-content-length, x-amz-trailer).
/// The value sent is in trailer_crc32 after completion.
void aws_http_req_body_chunked_crc32(struct aws_http_req *req, const char *trailer_name,
                                     size_t chunk);
/// Encoded length of `len` payload bytes sent by aws_http_req_body_chunked_crc32.
uint64_t aws_http_chunked_length(uint64_t len, size_t chunk, const char *trailer_name);
/// Response body of a 2xx answer goes to `path` (created/truncated); other
/// answers still go to the capped memory buffer. Copied.
void aws_http_req_output_file(struct aws_http_req *req, const char *path);
/// Cap of the in-memory response body (default 16 MiB); over it the request fails.
void aws_http_req_max_response(struct aws_http_req *req, size_t max);
/// Timeouts in milliseconds (0 = none): connect, and the whole exchange.
void aws_http_req_timeouts(struct aws_http_req *req, long connect_ms, long total_ms);
/// Stall timeout in milliseconds (0 = none): fail with SMF_ETIMEOUT when no byte
/// moves either way for this long (the SDKs' read timeout). Whole seconds, at least 1.
void aws_http_req_stall_timeout(struct aws_http_req *req, long ms);

/// CA bundle (PEM file) to verify the server with instead of the system's. Copied.
/// Verification itself is never turned off.
void aws_http_req_ca_bundle(struct aws_http_req *req, const char *path);

/// Open a new connection for this request instead of reusing one. curl silently
/// resends a request whose reused connection died before any answer; that is
/// wrong for a request that is not idempotent, so those ask for a fresh one.
void aws_http_req_fresh_connect(struct aws_http_req *req, bool fresh);

/// Start the request. On failure the callback never runs.
int aws_http_req_start(struct aws_http *http, struct aws_http_req *req, aws_http_done_cb cb,
                       void *data, struct smf_error *err);
/// Cancel an active request: its callback runs later from the loop with
/// result SMF_ECANCELLED. No-op when the request is not active.
void aws_http_req_cancel(struct aws_http_req *req);

/// A response header's value by case-insensitive name, or NULL. Borrowed.
const char *aws_http_req_header_get(const struct aws_http_req *req, const char *name);

/// The parts of a URL (libcurl's parser); strings owned, NULL when absent.
struct aws_http_url {
  char *scheme, *host, *port, *path;
};
/// Split `url`; 0, or -1 when it is not a URL with a scheme and a host.
/// Release with aws_http_url_clear.
int aws_http_url_split(const char *url, struct aws_http_url *out);
void aws_http_url_clear(struct aws_http_url *u);
/// One blocking POST (no event loop: for a command's single call). *status is
/// the HTTP status, 0 with SMF_EHTTP and the reason in why on a transport error.
/// The response body is appended to resp. 5 s to connect, 120 s in all.
int aws_http_post_sync(const char *url, const void *body, size_t len, const char *ctype,
                       const char *accept, long *status, struct smf_buf *resp, char *why,
                       size_t why_cap);

// ---- internal to http.c / http_req.c ----
/// Copy up to n body bytes at the current position into buf (pread for a
/// file); 0 at the end, (size_t)-1 on a read error (reason in local_error).
size_t aws__http_body_read(struct aws_http_req *req, char *buf, size_t n);
/// The aws-chunked read callback's work (http_chunked.c); same returns as curl's.
size_t aws__http_chunked_read(struct aws_http_req *req, char *buf, size_t n);
/// Restart the aws-chunked stream from its first byte (a resend).
void aws__http_chunked_rewind(struct aws_http_req *req);
/// Reset the result fields and configure `easy` for `req` (options, callbacks).
int aws__http_req_setup(struct aws_http_req *req, CURL *easy, struct smf_error *err);
/// The client's share handle (TLS sessions), or NULL. Borrowed. Every easy
/// handle is attached to it before its first transfer and stays attached:
/// curl 7.88 leaks a handle's own session cache when a share is attached later.
CURLSH *aws__http_share(struct aws_http *http);
/// Whether a request trusting `ca_bundle` may resume TLS sessions from the
/// share: a session is resumed without verifying the server again, so only
/// requests with the same trust share them (the first bundle asked for wins;
/// others get no session cache).
bool aws__http_share_sessions(struct aws_http *http, const char *ca_bundle);
/// The client's CA store for `ca_bundle` (NULL: curl's built-in locations),
/// loaded on first use and kept until another bundle is asked for. Borrowed:
/// take a reference (SSL_CTX_set1_cert_store) to keep it. NULL with a reason.
struct x509_store_st *aws__http_ca_store(struct aws_http *http, const char *ca_bundle,
                                         char *why, size_t why_cap);
