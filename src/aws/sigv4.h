// sigv4.h: AWS Signature Version 4 (header and presigned-query signing, S3's
// rules, aws-chunked streaming chunk signatures).
//
// One signer per thread (normally one per event loop): it keeps reusable
// OpenSSL EVP contexts and a cache of derived signing keys keyed by
// (secret, date, region, service). Signing never blocks and never reads the
// clock: the caller passes the time.
//
// All intermediates (canonical request, string to sign, signature) are exposed
// in struct aws_sigv4_result so that tests can compare them byte for byte.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smflow/aws.h"
#include "smflow/util.h"

struct smf_error;

/// A name/value pair. Borrowed in requests.
struct aws_sigv4_kv {
  const char *name;
  const char *value;
};

/// What to sign. Everything is borrowed for the duration of the call.
struct aws_sigv4_request {
  const char *method;  ///< "GET", "PUT", ...
  /// The path as it goes on the wire (already percent-encoded once, e.g.
  /// "/my%20key"), without the query. With AWS_SIGV4_DOUBLE_ENCODE it is
  /// encoded once more for the canonical URI; without it (S3) it is used as is.
  const char *path;
  /// Query parameters, DECODED (the signer encodes them with RFC 3986's strict
  /// set). A NULL value is treated as "" and signed as "name=".
  const struct aws_sigv4_kv *query;
  size_t n_query;
  /// The request's headers, including Host. Names in any case; values are
  /// trimmed and internal whitespace runs (including line folds) collapsed.
  /// Repeated names are joined with ',' in the given order.
  const struct aws_sigv4_kv *headers;
  size_t n_headers;
  /// Literal last line of the canonical request ("UNSIGNED-PAYLOAD",
  /// "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", or a precomputed hex SHA-256).
  /// NULL: hash `body` (NULL body = empty).
  const char *payload_hash;
  const void *body;
  size_t body_len;
};

/// Signing flags.
enum aws_sigv4_flag {
  AWS_SIGV4_DOUBLE_ENCODE = 1u << 0,     ///< encode the wire path again (not S3)
  AWS_SIGV4_NORMALIZE = 1u << 1,         ///< drop "." / ".." segments, collapse "//" (not S3)
  AWS_SIGV4_SIGN_BODY = 1u << 2,         ///< add and sign x-amz-content-sha256 (S3)
  AWS_SIGV4_UNSIGNED_PAYLOAD = 1u << 3,  ///< payload hash is UNSIGNED-PAYLOAD
  AWS_SIGV4_OMIT_TOKEN = 1u << 4,        ///< add the session token after signing
};

/// Every service but S3.
#define AWS_SIGV4_FLAGS_DEFAULT (AWS_SIGV4_DOUBLE_ENCODE | AWS_SIGV4_NORMALIZE)
/// S3: sign the path as sent, send x-amz-content-sha256.
#define AWS_SIGV4_FLAGS_S3 (AWS_SIGV4_SIGN_BODY)

/// How to sign.
struct aws_sigv4_config {
  const struct aws_creds *creds;  ///< borrowed
  const char *region;             ///< signing region, e.g. "eu-west-1"
  const char *service;            ///< signing name, e.g. "s3", "sagemaker"
  int64_t time_s;                 ///< Unix seconds (UTC) to sign at
  unsigned flags;                 ///< enum aws_sigv4_flag bits
  unsigned expires_s;             ///< X-Amz-Expires for presigned URLs (1..604800)
};

/// Headers the signer adds in header mode (at most 4: X-Amz-Date,
/// X-Amz-Security-Token, x-amz-content-sha256, Authorization).
#define AWS_SIGV4_MAX_ADD 4

/// Output of one signing. Initialise with AWS_SIGV4_RESULT_INIT (or zero),
/// reuse across calls (buffers keep their capacity), release with
/// aws_sigv4_result_free().
struct aws_sigv4_result {
  struct smf_buf canonical_request;  ///< exactly as hashed
  struct smf_buf string_to_sign;
  char signature[65];     ///< lowercase hex
  char amz_date[17];      ///< "yyyymmddThhmmssZ"
  char scope[160];        ///< "yyyymmdd/region/service/aws4_request"
  char payload_hash[72];  ///< the canonical request's last line
  /// Header mode: headers to add to the request, in this order. Names are
  /// static; values point into this result (valid until the next call/free).
  struct aws_sigv4_kv add[AWS_SIGV4_MAX_ADD];
  size_t n_add;
  struct smf_buf authorization;  ///< header mode: the Authorization value
  /// Query mode: the encoded parameters to append to the URL's query (after
  /// '&', or '?' when it has none): X-Amz-Algorithm, -Credential, -Date,
  /// -SignedHeaders, -Expires, [-Security-Token], and -Signature last.
  struct smf_buf query;
  struct smf_buf token_store;  ///< internal: copy of the token
};

#define AWS_SIGV4_RESULT_INIT \
  {                           \
    0                         \
  }

void aws_sigv4_result_free(struct aws_sigv4_result *r);

struct aws_sigv4_signer;

/// New signer. Caller frees with aws_sigv4_signer_free(). Needs libcrypto
/// (fatal when it cannot be loaded: callers that can report it call
/// smf_crypto_load first, as aws_client_new does).
struct aws_sigv4_signer *aws_sigv4_signer_new(void);
/// Free the signer; zeroes the cached signing keys. NULL-safe.
void aws_sigv4_signer_free(struct aws_sigv4_signer *s);

/// Sign for an Authorization header. Fills *out (canonical request, string to
/// sign, signature, out->add headers). Returns 0 or SMF_EINVAL (bad input,
/// message in *err).
int aws_sigv4_sign_headers(struct aws_sigv4_signer *s, const struct aws_sigv4_request *req,
                           const struct aws_sigv4_config *cfg, struct aws_sigv4_result *out,
                           struct smf_error *err);

/// Sign as a presigned URL (query parameters). Fills *out (out->query).
/// For S3 pass AWS_SIGV4_UNSIGNED_PAYLOAD (a presigned URL cannot know the body).
int aws_sigv4_sign_query(struct aws_sigv4_signer *s, const struct aws_sigv4_request *req,
                         const struct aws_sigv4_config *cfg, struct aws_sigv4_result *out,
                         struct smf_error *err);

/// aws-chunked streaming: signature of one chunk (the last one is empty),
/// chained from prev_signature (the seed is the request's signature). cfg must
/// be the one the request was signed with. Writes 64 hex digits + NUL into
/// sig_out; when sts_out is not NULL the chunk's string to sign goes there.
int aws_sigv4_sign_chunk(struct aws_sigv4_signer *s, const struct aws_sigv4_config *cfg,
                         const char *prev_signature, const void *data, size_t len, char sig_out[65],
                         struct smf_buf *sts_out, struct smf_error *err);

/// Lowercase hex SHA-256 of data into hex_out (65 bytes), with the signer's
/// reusable digest context.
void aws_sigv4_sha256_hex(struct aws_sigv4_signer *s, const void *data, size_t len,
                          char hex_out[65]);

/// Append data to b, percent-encoding every byte outside A-Za-z0-9-._~ (and
/// '/' too unless keep_slash). Uppercase hex, as SigV4 and S3 keys need.
int aws_sigv4_uri_encode(struct smf_buf *b, const char *data, size_t len, bool keep_slash);
