// client_int.h: internals shared by client.c, call.c and the service files.
#pragma once

#include <uv.h>

#include "aws/http.h"
#include "aws/retry.h"
#include "aws/sigv4.h"
#include "smflow/aws.h"

struct aws__rate_rule {
  enum aws_service svc;
  char *prefix;
  struct aws_rate_bucket bucket;
};

struct aws_client {
  uv_loop_t *loop;
  struct aws_http *http;
  struct aws_sigv4_signer *signer;
  char *region;
  char *ca_bundle;  ///< NULL: the system's CAs
  char *endpoints[AWS_SVC__COUNT];  ///< explicit or resolved endpoint URL
  bool overridden[AWS_SVC__COUNT];  ///< not AWS's own endpoint: S3 goes path-style
  char signing_region[AWS_SVC__COUNT][64];
  struct aws_creds_provider *provider;  ///< borrowed, may be NULL
  bool path_style, virtual_style;
  int max_attempts;
  long connect_ms, timeout_ms, read_timeout_ms;
  struct aws_creds creds;
  struct aws_retry_quota quota;
  struct aws_rand rand;
  int64_t skew_ms;
  struct aws__rate_rule *rates;
  size_t nrates;
  struct aws_call *calls;  ///< calls in flight
  size_t ncalls;
  uint64_t attempts;
  bool closing;
  void (*close_cb)(void *);
  void *close_data;
};

enum aws__call_state {
  CALL_HASHING,   ///< SHA-256 of a file body on the thread pool
  CALL_WAITING,   ///< retry backoff or rate limit timer
  CALL_CREDS,     ///< waiting for the credentials provider
  CALL_SENDING,   ///< HTTP request in flight
  CALL_AMBIGUOUS, ///< waiting for the ambiguous-outcome hook's verdict
  CALL_DONE,
};

struct aws_call {
  struct aws_client *c;
  struct smf_arena arena;  ///< copies of the request's strings
  enum aws_service svc;
  const char *op, *method, *bucket, *path, *output_path;
  struct aws_kv *query, *headers;
  size_t n_query, n_headers;
  char *body;              ///< owned copy of a memory body
  size_t body_len;
  int body_fd;
  uint64_t body_off, body_fd_len;
  bool checksum;
  bool hashed;
  char payload_hex[65];
  char checksum_b64[48];
  size_t max_response;
  bool idempotent, anonymous, resolved;
  long timeout_ms;
  aws_ambiguous_fn on_ambiguous;
  void *ambiguous_data;
  aws_done_fn cb;
  void *cb_data;
  enum aws__call_state state;
  int attempt;             ///< attempts sent so far
  int last_cost;           ///< retry quota taken by the last retry
  bool cancelled, token_held, creds_ready, timer_open, work_busy, free_pending;
  struct aws_http_req req;
  uv_timer_t timer;
  uv_work_t work;
  struct aws_sigv4_result sig;
  struct smf_error last_err;
  struct aws_call *prev, *next;
};

/// Signing region of svc's endpoint.
const char *aws__signing_region(struct aws_client *c, enum aws_service svc);
/// Service's signing name.
const char *aws__service_signing_name(enum aws_service svc);
/// "SageMaker", "S3", "STS", ...: how messages name a service.
const char *aws__service_label(enum aws_service svc);
/// Fill scheme+authority ("https://host:port") and base path of svc's endpoint,
/// and whether S3 must use path-style addressing for `bucket`.
int aws__endpoint(struct aws_client *c, enum aws_service svc, const char *bucket,
                  struct smf_buf *origin, struct smf_buf *host, bool *path_style,
                  struct smf_error *err);
/// Parse an AWS error answer into err (code, message, request id, status).
void aws__parse_error(const struct aws_http_req *req, enum aws_service svc, const char *op,
                      struct smf_error *err);
/// Remove a finished call from its client's list; finishes a pending close.
void aws__client_call_gone(struct aws_client *c, struct aws_call *call);
