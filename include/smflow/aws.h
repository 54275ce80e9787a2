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

// ---- endpoints -----------------------------------------------------------------

/// The services smflow talks to.
enum aws_service {
  AWS_SVC_S3,
  AWS_SVC_SAGEMAKER,          ///< api.sagemaker.REGION...
  AWS_SVC_SAGEMAKER_RUNTIME,  ///< runtime.sagemaker.REGION... (signing name "sagemaker")
  AWS_SVC_STS,
  AWS_SVC_LOGS,
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
