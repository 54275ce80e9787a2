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
