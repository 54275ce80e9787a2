// aws.h: the public face of smflow's asynchronous AWS client (src/aws/).
//
// The client knows nothing about pipelines. This header is split into clearly
// separate sections: credentials / region / endpoints (creds.c, config.c,
// endpoint.c) and, further down, the HTTP transport and service clients.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smf_error;

// ===========================================================================
// Credentials, region and endpoints (creds.c, config.c, endpoint.c)
// ===========================================================================

/// One set of AWS credentials. Every string is owned by the struct; release it
/// with aws_creds_clear(), which zeroes the secret and the token before freeing.
/// Never log `secret_access_key` or `session_token`.
struct aws_creds {
  char *access_key_id;
  char *secret_access_key;
  char *session_token;     ///< NULL when the credentials are long-term
  int64_t expiration_ms;   ///< Unix ms when they expire; 0 = they do not expire
  const char *source;      ///< static name of the provider ("env", "profile", "sts", ...)
};

#define AWS_CREDS_INIT {0}

/// Fill *c with copies of the given strings (token may be NULL). Caller clears *c.
void aws_creds_set(struct aws_creds *c, const char *access_key_id, const char *secret_access_key,
                   const char *session_token, int64_t expiration_ms, const char *source);
/// Deep copy *src into *dst (dst must be empty or cleared). Caller clears *dst.
void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src);
/// Zero the secrets, free every string and reset *c to AWS_CREDS_INIT. NULL-safe.
void aws_creds_clear(struct aws_creds *c);
/// True when *c holds an access key id and a secret.
bool aws_creds_valid(const struct aws_creds *c);

// ---- shared config: ~/.aws/config + ~/.aws/credentials, profile, region ----

struct aws_shared_config;

/// Load the config file (AWS_CONFIG_FILE, default ~/.aws/config) and the
/// credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials);
/// missing files count as empty. The profile is `profile` when not NULL (an
/// explicit choice: then, as in the AWS CLI, environment keys are not used),
/// else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default".
/// Syntax errors fail with SMF_EPARSE, "FILE:LINE: ..." in *err.
/// Caller frees *out with aws_shared_config_free().
int aws_shared_config_load(const char *profile, struct aws_shared_config **out,
                           struct smf_error *err);
void aws_shared_config_free(struct aws_shared_config *c);
/// The selected profile's name. Borrowed.
const char *aws_shared_config_profile(const struct aws_shared_config *c);
/// A profile's value: the credentials file wins over the config file, as in
/// the AWS CLI. profile NULL = the selected one. Borrowed; NULL when unset.
const char *aws_shared_config_get(const struct aws_shared_config *c, const char *profile,
                                  const char *key);
/// A nested value of the selected profile in the config file (`s3 =` block).
const char *aws_shared_config_get_sub(const struct aws_shared_config *c, const char *sub,
                                      const char *key);
/// `[services NAME]` lookup for the selected profile's `services = NAME`, e.g.
/// ("s3", "endpoint_url"). Borrowed; NULL when unset.
const char *aws_shared_config_service(const struct aws_shared_config *c, const char *service,
                                      const char *key);

/// The region: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`
/// (c may be NULL: environment only). Returns 0 and writes into out, or
/// SMF_ENOENT (message in *err) when none is configured.
int aws_region_resolve(const struct aws_shared_config *c, char *out, size_t n,
                       struct smf_error *err);

// ---- credential resolution plan (the AWS CLI's provider chain) -------------

/// How a set of credentials is obtained.
enum aws_creds_kind {
  AWS_CREDS_KIND_STATIC,        ///< keys known now (environment or files)
  AWS_CREDS_KIND_ASSUME_ROLE,   ///< STS AssumeRole signed with `source`'s credentials
  AWS_CREDS_KIND_WEB_IDENTITY,  ///< STS AssumeRoleWithWebIdentity (unsigned) with a token file
  AWS_CREDS_KIND_CONTAINER,     ///< ECS/EKS container credentials endpoint
  AWS_CREDS_KIND_IMDS,          ///< EC2 instance metadata, IMDSv2
};

/// One resolved provider (a chain for role assumption). All strings owned.
struct aws_creds_plan {
  enum aws_creds_kind kind;
  const char *provider;   ///< static name: "env", "shared-credentials-file", "config-file",
                          ///< "assume-role", "web-identity", "container", "imds"
  char *profile;          ///< profile it came from, or NULL
  struct aws_creds creds; ///< STATIC only
  char *role_arn;         ///< ASSUME_ROLE, WEB_IDENTITY
  char *session_name;     ///< role session name (generated when not configured)
  char *external_id;      ///< ASSUME_ROLE, optional
  int duration_s;         ///< DurationSeconds, 0 = the service default
  char *token_file;       ///< WEB_IDENTITY
  char *region;           ///< STS region (NULL: the global endpoint, us-east-1)
  struct aws_creds_plan *source;  ///< ASSUME_ROLE: where the caller's credentials come from
  char *url;              ///< CONTAINER: full URL; IMDS: endpoint base URL
  char *auth_token;       ///< CONTAINER: Authorization value (secret), optional
  char *auth_token_file;  ///< CONTAINER: file holding it, optional (read at each fetch)
};

/// Decide how to obtain credentials, in the AWS CLI's order: environment keys;
/// profile role_arn with source_profile / credential_source; web identity
/// (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or the profile's
/// web_identity_token_file); credentials file keys; config file keys; container
/// credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI); IMDS
/// (unless AWS_EC2_METADATA_DISABLED=true). Synchronous: reads only the
/// environment and the parsed files. Caller frees *out with aws_creds_plan_free().
/// Errors: SMF_ECREDS (nothing found, partial keys), SMF_EINVAL (bad profile
/// settings, e.g. a source_profile cycle), with "FILE:LINE" where known.
int aws_creds_plan_resolve(const struct aws_shared_config *c, struct aws_creds_plan **out,
                           struct smf_error *err);
void aws_creds_plan_free(struct aws_creds_plan *p);
/// A one-line description without secrets, e.g. "assume-role arn:... <- env". Caller frees.
char *aws_creds_plan_describe(const struct aws_creds_plan *p);

// ---- credentials provider: runs a plan, caches, refreshes before expiry ----

struct aws_http;
struct aws_creds_provider;

/// Completion of aws_creds_provider_get(): `creds` is borrowed for the duration
/// of the callback (copy it to keep it); NULL on failure, with `err` set.
typedef void (*aws_creds_fn)(const struct aws_creds *creds, const struct smf_error *err,
                             void *data);

/// aws_creds_provider_get() return value: the callback will run later.
#define AWS_CREDS_PENDING 1

/// Provider options; zero for the defaults.
struct aws_creds_provider_opts {
  int64_t refresh_early_ms;  ///< refresh this long before expiry; 0: 5 minutes
  long timeout_ms;           ///< per HTTP request; 0: 5 s
  /// Clock (wall time, Unix ms); NULL: smf_time_now_ms(). For tests.
  int64_t (*now_ms)(void *data);
  void *now_data;
};

/// A provider running `plan` (takes ownership of it) over `http` (borrowed:
/// it must outlive the provider). Caller closes it with aws_creds_provider_close().
int aws_creds_provider_new(struct aws_http *http, struct aws_creds_plan *plan,
                           const struct aws_creds_provider_opts *opts,
                           struct aws_creds_provider **out, struct smf_error *err);
/// The AWS CLI's whole chain in one call: aws_shared_config_load(profile),
/// aws_creds_plan_resolve(), aws_creds_provider_new(). When `region_out` is not
/// NULL the resolved region is written there too ("" when none is configured).
int aws_creds_provider_default(struct aws_http *http, const char *profile,
                               const struct aws_creds_provider_opts *opts,
                               struct aws_creds_provider **out, char *region_out,
                               size_t region_len, struct smf_error *err);
/// Get credentials. When the cached ones are valid for longer than the refresh
/// margin, copies them into *out (caller clears it) and returns 0: `cb` never
/// runs. Otherwise starts (or joins) a fetch and returns AWS_CREDS_PENDING:
/// `cb` runs later from the loop. On a failed refresh the old credentials are
/// handed out while they have not expired. Negative SMF_E* on failure (then
/// `cb` never runs).
int aws_creds_provider_get(struct aws_creds_provider *p, struct aws_creds *out, aws_creds_fn cb,
                           void *data, struct smf_error *err);
/// Cancel: pending callbacks run with SMF_ECANCELLED (from the loop, as usual),
/// HTTP requests are cancelled, and the memory goes once they have completed.
/// Secrets are zeroed. NULL-safe.
void aws_creds_provider_close(struct aws_creds_provider *p);
/// HTTP requests made so far (for tests and metrics).
unsigned aws_creds_provider_fetches(const struct aws_creds_provider *p);

// ---- endpoints -----------------------------------------------------------------

/// The services smflow talks to (also used by the client below).
enum aws_service {
  AWS_SVC_S3,
  AWS_SVC_SAGEMAKER,  ///< api.sagemaker.REGION...
  AWS_SVC_STS,
  AWS_SVC_LOGS,
  AWS_SVC_RUNTIME,    ///< SageMaker Runtime: runtime.sagemaker.REGION... (signing name "sagemaker")
  AWS_SVC__COUNT
};

/// A resolved endpoint.
struct aws_endpoint {
  enum aws_service service;
  char url[512];              ///< "scheme://host[:port][/base]", no trailing '/'
  char host[256];             ///< "host[:port]" as sent in the Host header
  char base_path[256];        ///< path prefix of an overridden URL ("" normally)
  char signing_region[64];
  const char *signing_name;   ///< static: "s3", "sagemaker", "sts", "logs"
  const char *partition;      ///< static: "aws", "aws-cn", "aws-us-gov", ...
  const char *dns_suffix;     ///< static: "amazonaws.com", "amazonaws.com.cn", ...
  bool overridden;            ///< from AWS_ENDPOINT_URL* or the config file
  bool s3_path_style;         ///< S3: always path-style (override or addressing_style = path)
};

/// The partition of a region: "aws-cn" for cn-*, "aws-us-gov" for us-gov-*,
/// "aws-iso"/"aws-iso-b" for us-iso-*/us-isob-*, else "aws". Static string.
const char *aws_partition_of(const char *region);

/// Resolve the endpoint of `svc` in `region` (NULL or "": us-east-1, and STS's
/// global endpoint). Overrides, first match wins: AWS_ENDPOINT_URL_<SERVICE>
/// (S3, SAGEMAKER, SAGEMAKER_RUNTIME, STS, LOGS or CLOUDWATCH_LOGS),
/// AWS_ENDPOINT_URL, the profile's `services` block `endpoint_url`, the
/// profile's `endpoint_url`; none when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true.
/// `c` may be NULL (environment only). Returns 0, or SMF_EINVAL for a bad
/// region name or endpoint URL.
int aws_endpoint_resolve(const struct aws_shared_config *c, enum aws_service svc,
                         const char *region, struct aws_endpoint *out, struct smf_error *err);

/// True when an S3 bucket can go in the host name: 3-63 of [a-z0-9-], starting
/// and ending with a letter or digit, no dots, not an IP address.
bool aws_s3_bucket_virtual_ok(const char *bucket);

/// Where an S3 request goes. Strings owned; free with aws_s3_addr_free().
struct aws_s3_addr {
  char *url;   ///< full URL without query: scheme://host/path
  char *host;  ///< Host header value
  char *path;  ///< path as on the wire (percent-encoded once): what SigV4 signs for S3
};

/// Address of `key` (raw bytes; NULL or "" for the bucket itself) in `bucket`:
/// virtual-hosted BUCKET.s3.REGION... when the bucket allows it and the
/// endpoint is not overridden, path-style otherwise. The key is encoded with
/// every byte outside A-Za-z0-9-._~/ percent-encoded.
int aws_s3_addr_make(const struct aws_endpoint *ep, const char *bucket, const char *key,
                     struct aws_s3_addr *out, struct smf_error *err);
void aws_s3_addr_free(struct aws_s3_addr *a);

// ===========================================================================
// Client, transport and service calls (client.c, call.c, http.c, retry.c,
// s3.c, sagemaker.c, sts.c, logs.c, runtime.c)
// ===========================================================================

#include "smflow/error.h"

struct uv_loop_s;
struct json_t;
struct aws_client;
struct aws_call;

// enum aws_service is defined with the endpoints above.

/// Client settings. Strings are copied by aws_client_new.
struct aws_client_config {
  const char *region;          ///< required, e.g. "eu-west-1"
  /// Endpoint override for every service, e.g. "http://127.0.0.1:5000"; NULL:
  /// aws_endpoint_resolve() per service (AWS_ENDPOINT_URL*, the profile, else
  /// the public endpoint of the region).
  const char *endpoint_url;
  /// Profile settings for endpoint resolution (borrowed, used by aws_client_new
  /// only); NULL: the environment only.
  const struct aws_shared_config *shared_config;
  bool s3_path_style;          ///< S3 "host/bucket/key" instead of "bucket.host/key"
  /// S3 "bucket.host/key" even on an overridden endpoint (addressing_style =
  /// virtual), for buckets that allow it; otherwise overridden endpoints, IP
  /// hosts and dotted bucket names go path-style.
  bool s3_virtual_style;
  /// Total attempts; 0: AWS_MAX_ATTEMPTS, else the profile's max_attempts, else 3.
  int max_attempts;
  long connect_timeout_ms;     ///< per attempt; 0: 10 s
  long timeout_ms;             ///< whole attempt; 0: none (S3 transfers may be long)
  long read_timeout_ms;        ///< nothing received or sent for this long fails; 0: 60 s
  uint64_t random_seed;        ///< jitter seed; 0: seeded from the clock
  /// PEM CA bundle to verify servers with; NULL: AWS_CA_BUNDLE, else the
  /// profile's ca_bundle, else the system's. TLS verification is always on.
  const char *ca_bundle;
};

/// Create a client on `loop`. Caller closes it with aws_client_close.
int aws_client_new(struct uv_loop_s *loop, const struct aws_client_config *cfg,
                   struct aws_client **out, struct smf_error *err);
/// Cancel every call in flight (their callbacks run with SMF_ECANCELLED), close
/// every handle, free the client, then call cb(data) (cb may be NULL).
void aws_client_close(struct aws_client *c, void (*cb)(void *data), void *data);
/// Credentials to sign with from now on (copied; replaces the previous ones).
void aws_client_set_creds(struct aws_client *c, const struct aws_creds *creds);
/// Sign with credentials from `p` (borrowed; close it after the client's calls
/// are done, before aws_client_close). Every attempt asks it, so refreshed
/// credentials are picked up; a fetch in progress delays the attempt.
void aws_client_set_creds_provider(struct aws_client *c, struct aws_creds_provider *p);
/// The client's HTTP transport (borrowed), e.g. for aws_creds_provider_new().
struct aws_http *aws_client_http(struct aws_client *c);
/// Endpoint of one service (copied), overriding endpoint_url for it.
void aws_client_set_endpoint(struct aws_client *c, enum aws_service svc, const char *url);
/// A shared token bucket: calls of `svc` whose operation name starts with
/// `op_prefix` (e.g. "Describe") start at most `rate` per second (burst `burst`).
void aws_client_set_rate(struct aws_client *c, enum aws_service svc, const char *op_prefix,
                         double rate, double burst);
/// Clock offset in use (server minus local, ms), learnt from skew errors.
int64_t aws_client_clock_skew_ms(const struct aws_client *c);
/// Retry quota tokens left (for tests and metrics).
int aws_client_retry_quota(const struct aws_client *c);
/// Total HTTP attempts sent so far (for tests and metrics).
uint64_t aws_client_attempts(const struct aws_client *c);

/// A name/value pair (borrowed).
struct aws_kv {
  const char *name;
  const char *value;
};

/// What the ambiguous-outcome hook decides.
enum aws_verdict {
  AWS_VERDICT_RETRY,  ///< the request was not processed: send it again
  AWS_VERDICT_DONE,   ///< it was processed: complete the call as a success
  AWS_VERDICT_FAIL,   ///< give up with the transport error
};

/// Called when a non-idempotent call failed after its request left this host
/// (timeout, reset, no answer): the server may have acted. The hook finds out
/// (e.g. Describe by name) and answers with aws_call_resolve, now or later.
typedef void (*aws_ambiguous_fn)(struct aws_call *call, void *data);

/// One request. Everything is borrowed only for the duration of aws_call_start
/// (the call copies what it needs), except body_fd which must stay open.
struct aws_request {
  enum aws_service service;
  const char *op;              ///< operation name (rate limits, logs, errors)
  const char *method;          ///< "GET", "PUT", "POST", "HEAD", "DELETE"
  const char *bucket;          ///< S3: the bucket (addressing style applies), or NULL
  const char *path;            ///< wire path after the bucket, percent-encoded, "/..."
  const struct aws_kv *query;  ///< decoded query parameters
  size_t n_query;
  const struct aws_kv *headers;  ///< extra headers (Content-Type, x-amz-*, ...)
  size_t n_headers;
  const void *body;            ///< body in memory (copied), or NULL
  size_t body_len;
  int body_fd;                 ///< or a body from a file range: fd >= 0 (borrowed, kept open)
  uint64_t body_off, body_fd_len;
  /// S3 PutObject/UploadPart: send the body's checksum. Over http the signed
  /// SHA-256 (x-amz-content-sha256) and x-amz-checksum-sha256; over https
  /// UNSIGNED-PAYLOAD with x-amz-checksum-crc32, as the AWS CLI does.
  bool checksum;
  const char *output_path;     ///< a 2xx body goes to this file instead of memory
  size_t max_response;         ///< in-memory body cap; 0: 16 MiB
  bool idempotent;             ///< safe to resend after an ambiguous failure
  bool anonymous;              ///< send unsigned (e.g. AssumeRoleWithWebIdentity)
  long timeout_ms;             ///< whole attempt; 0: the client's setting
  aws_ambiguous_fn on_ambiguous;  ///< for non-idempotent calls; may be NULL
  void *ambiguous_data;
};

#define AWS_REQUEST_INIT {.body_fd = -1}

/// The outcome of a call, valid during the completion callback (borrowed).
struct aws_result {
  int code;                 ///< 0 or SMF_E* (SMF_EAWS: the service said no)
  struct smf_error err;     ///< detail: message, http_status, aws_code, request_id
  long status;              ///< final HTTP status (0 when none)
  const char *body;         ///< response body in memory (NUL-terminated), "" if none
  size_t body_len;
  int attempts;             ///< HTTP attempts made
  bool resolved;            ///< completed by the ambiguous hook's AWS_VERDICT_DONE
  const struct aws_call *call;  ///< for aws_result_header
};

typedef void (*aws_done_fn)(struct aws_result *res, void *data);

/// Start a call. On success *out (if not NULL) is a borrowed handle valid until
/// the callback returns; cb runs exactly once. On failure cb never runs.
int aws_call_start(struct aws_client *c, const struct aws_request *r, aws_done_fn cb, void *data,
                   struct aws_call **out, struct smf_error *err);
/// Cancel a call: its callback runs later with SMF_ECANCELLED.
void aws_call_cancel(struct aws_call *call);
/// Answer an ambiguous-outcome hook (see enum aws_verdict).
void aws_call_resolve(struct aws_call *call, enum aws_verdict verdict);
/// Operation name of a call (borrowed).
const char *aws_call_op(const struct aws_call *call);
/// A response header by case-insensitive name, or NULL (borrowed).
const char *aws_result_header(const struct aws_result *res, const char *name);

// ---- JSON 1.1 services: SageMaker, CloudWatch Logs ----

/// Completion of a JSON call: `result` is the parsed response (borrowed: json_incref
/// to keep it), NULL on failure (then err says why).
typedef void (*aws_json_fn)(struct json_t *result, const struct smf_error *err, void *data);

/// Options of a JSON call (NULL for defaults).
struct aws_json_opts {
  aws_ambiguous_fn on_ambiguous;  ///< for non-idempotent operations
  void *ambiguous_data;
};

/// Any SageMaker operation: X-Amz-Target "SageMaker.<op>". `body` is borrowed
/// (NULL = "{}"). Describe*/List*/Search/Get* are idempotent; other operations
/// are never resent after an ambiguous failure unless the hook says so.
int aws_sagemaker_call(struct aws_client *c, const char *op, struct json_t *body,
                       const struct aws_json_opts *opts, aws_json_fn cb, void *data,
                       struct smf_error *err);
/// Any operation of a JSON 1.1 service (AWS_SVC_SAGEMAKER, AWS_SVC_LOGS), e.g.
/// for scripting: the target prefix and idempotency rules are the service's.
/// SMF_EUNSUPPORTED for the other services.
int aws_json_call(struct aws_client *c, enum aws_service svc, const char *op,
                  struct json_t *body, const struct aws_json_opts *opts, aws_json_fn cb,
                  void *data, struct smf_error *err);
/// Any CloudWatch Logs operation ("Logs_20140328.<op>").
int aws_logs_call(struct aws_client *c, const char *op, struct json_t *body, aws_json_fn cb,
                  void *data, struct smf_error *err);

// Thin wrappers: the request shape is the service's (botocore service-2.json).
#define AWS__SM_OPS(X)                                                                         \
  X(create_training_job, "CreateTrainingJob")                                                  \
  X(describe_training_job, "DescribeTrainingJob")                                              \
  X(stop_training_job, "StopTrainingJob")                                                      \
  X(list_training_jobs, "ListTrainingJobs")                                                    \
  X(create_processing_job, "CreateProcessingJob")                                              \
  X(describe_processing_job, "DescribeProcessingJob")                                          \
  X(stop_processing_job, "StopProcessingJob")                                                  \
  X(create_model, "CreateModel")                                                               \
  X(create_endpoint_config, "CreateEndpointConfig")                                            \
  X(create_endpoint, "CreateEndpoint")                                                         \
  X(update_endpoint, "UpdateEndpoint")                                                         \
  X(describe_endpoint, "DescribeEndpoint")                                                     \
  X(delete_endpoint, "DeleteEndpoint")                                                         \
  X(create_model_package_group, "CreateModelPackageGroup")                                     \
  X(describe_model_package_group, "DescribeModelPackageGroup")                                 \
  X(create_model_package, "CreateModelPackage")                                                \
  X(describe_model_package, "DescribeModelPackage")                                            \
  X(update_model_package, "UpdateModelPackage")                                                \
  X(list_model_packages, "ListModelPackages")

#define AWS__SM_DECL(fn, op)                                                                 \
  int aws_sagemaker_##fn(struct aws_client *c, struct json_t *body,                          \
                         const struct aws_json_opts *opts, aws_json_fn cb, void *data,       \
                         struct smf_error *err);
/// aws_sagemaker_create_training_job(c, body, opts, cb, data, err), ... one per operation.
AWS__SM_OPS(AWS__SM_DECL)
#undef AWS__SM_DECL

/// CloudWatch Logs: GetLogEvents(group, stream, next_token or NULL, start_from_head).
int aws_logs_get_events(struct aws_client *c, const char *group, const char *stream,
                        const char *next_token, bool start_from_head, aws_json_fn cb, void *data,
                        struct smf_error *err);
/// FilterLogEvents(group, stream name prefix or NULL, next_token or NULL).
int aws_logs_filter_events(struct aws_client *c, const char *group, const char *stream_prefix,
                           const char *next_token, aws_json_fn cb, void *data,
                           struct smf_error *err);
/// DescribeLogStreams(group, stream name prefix or NULL, next_token or NULL).
int aws_logs_describe_streams(struct aws_client *c, const char *group, const char *prefix,
                              const char *next_token, aws_json_fn cb, void *data,
                              struct smf_error *err);

// ---- SageMaker Runtime ----

/// InvokeEndpoint: POST the raw body with its content type (NULL =
/// application/octet-stream) and Accept (NULL = */*); res->body is the model's
/// answer (res->code 0 on 2xx).
int aws_runtime_invoke(struct aws_client *c, const char *endpoint, const char *content_type,
                       const char *accept, const void *body, size_t len, aws_done_fn cb,
                       void *data, struct smf_error *err);

// ---- STS (query protocol, XML answers) ----

/// Completion of an STS call: creds (borrowed) for AssumeRole*, identity for
/// GetCallerIdentity (account, arn, user id; borrowed); NULL members on failure.
struct aws_sts_result {
  const struct aws_creds *creds;
  const char *account;
  const char *arn;
  const char *user_id;
};
typedef void (*aws_sts_fn)(const struct aws_sts_result *res, const struct smf_error *err,
                           void *data);

int aws_sts_get_caller_identity(struct aws_client *c, aws_sts_fn cb, void *data,
                                struct smf_error *err);
/// AssumeRole(role_arn, session_name, duration_s or 0).
int aws_sts_assume_role(struct aws_client *c, const char *role_arn, const char *session_name,
                        int duration_s, aws_sts_fn cb, void *data, struct smf_error *err);
/// AssumeRoleWithWebIdentity(role_arn, session_name, token, duration_s or 0); unsigned.
int aws_sts_assume_role_web_identity(struct aws_client *c, const char *role_arn,
                                     const char *session_name, const char *token, int duration_s,
                                     aws_sts_fn cb, void *data, struct smf_error *err);

// ---- S3 (REST, XML answers) ----

/// Object metadata from HeadObject / answers of PutObject, CopyObject.
struct aws_s3_object {
  const char *key;
  uint64_t size;
  const char *etag;            ///< with its quotes, as S3 sends it
  const char *last_modified;
  const char *version_id;
  const char *checksum_sha256;
  const char *checksum_crc32;  ///< "x-amz-checksum-crc32" (uploads over https)
};

typedef void (*aws_s3_fn)(const struct aws_s3_object *obj, const struct smf_error *err,
                          void *data);

/// PutObject options (NULL for none).
struct aws_s3_put_opts {
  const char *content_type;
  bool if_none_match;          ///< "If-None-Match: *": fail with 412 if the key exists
  const char *if_match;        ///< "If-Match: ETAG": fail with 412 unless it matches
  uint64_t multipart_threshold;  ///< files above it go multipart; 0: 16 MiB
  uint64_t part_size;          ///< 0: the file / parallel, within 16-64 MiB
  int parallel;                ///< parts in flight; 0: 8
  /// Server-side encryption: "aws:kms" (or "AES256") as x-amz-server-side-encryption,
  /// on PutObject and CreateMultipartUpload; NULL: the bucket's default.
  const char *sse;
  /// With sse "aws:kms": x-amz-server-side-encryption-aws-kms-key-id; NULL: the AWS managed key.
  const char *sse_kms_key_id;
};

/// PutObject from memory (copied), with the body's checksum (see aws_request.checksum).
int aws_s3_put_object(struct aws_client *c, const char *bucket, const char *key, const void *data,
                      size_t len, const struct aws_s3_put_opts *opts, aws_s3_fn cb, void *cbdata,
                      struct smf_error *err);
/// How aws_s3_upload_file sends a file of `size` bytes with opts (NULL: the
/// defaults): 0 for one PutObject, else the number of parts of a multipart
/// upload, every part *part_size bytes except the last. Pure (smflow plan).
int aws_s3_upload_parts(uint64_t size, const struct aws_s3_put_opts *opts, uint64_t *part_size);
/// Upload a file: PutObject, or a multipart upload above the threshold (parts
/// in parallel, CompleteMultipartUpload; AbortMultipartUpload on failure).
int aws_s3_upload_file(struct aws_client *c, const char *bucket, const char *key,
                       const char *path, const struct aws_s3_put_opts *opts, aws_s3_fn cb,
                       void *cbdata, struct smf_error *err);
/// HeadObject (a missing key fails with SMF_ENOENT, aws_code "NotFound").
int aws_s3_head_object(struct aws_client *c, const char *bucket, const char *key, aws_s3_fn cb,
                       void *cbdata, struct smf_error *err);
/// GetObject into a file (written in place; removed on failure).
int aws_s3_get_object(struct aws_client *c, const char *bucket, const char *key, const char *path,
                      aws_s3_fn cb, void *cbdata, struct smf_error *err);
/// GetObject into memory (at most max bytes; 0: 16 MiB): res->body / res->body_len
/// in the callback; a missing key is SMF_ENOENT.
int aws_s3_get_object_mem(struct aws_client *c, const char *bucket, const char *key, size_t max,
                          aws_done_fn cb, void *cbdata, struct smf_error *err);
/// CopyObject within S3.
int aws_s3_copy_object(struct aws_client *c, const char *src_bucket, const char *src_key,
                       const char *bucket, const char *key, aws_s3_fn cb, void *cbdata,
                       struct smf_error *err);
int aws_s3_delete_object(struct aws_client *c, const char *bucket, const char *key, aws_s3_fn cb,
                         void *cbdata, struct smf_error *err);
/// CreateBucket (with a LocationConstraint outside us-east-1).
int aws_s3_create_bucket(struct aws_client *c, const char *bucket, aws_s3_fn cb, void *cbdata,
                         struct smf_error *err);

/// One page of ListObjectsV2 (borrowed arrays, valid during the callback).
struct aws_s3_list {
  const struct aws_s3_object *objects;
  size_t n_objects;
  const char *const *prefixes;  ///< CommonPrefixes when a delimiter was given
  size_t n_prefixes;
  const char *next_token;       ///< NULL on the last page
};
/// Called once per page; return true to fetch the next page, false to stop.
/// The final call has list == NULL (err set on failure, NULL when done).
typedef bool (*aws_s3_list_fn)(const struct aws_s3_list *list, const struct smf_error *err,
                               void *data);
/// ListObjectsV2 over every page (prefix and delimiter may be NULL; max_keys
/// per page, 0: the service's default of 1000).
int aws_s3_list_objects(struct aws_client *c, const char *bucket, const char *prefix,
                        const char *delimiter, int max_keys, aws_s3_list_fn cb, void *cbdata,
                        struct smf_error *err);
