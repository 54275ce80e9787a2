// creds.c: the credentials value type (struct aws_creds in smflow/aws.h).
//
// Secrets are zeroed before their memory is released, so a freed heap block
// never keeps a usable key.
#include <stdlib.h>
#include <string.h>

#include "smflow/aws.h"
#include "smflow/crypto_lib.h"
#include "smflow/util.h"

static void creds_free_secret(char *s)
{
  if (s) {
    smf_crypto_clear_free(s, strlen(s));
  }
}

void aws_creds_set(struct aws_creds *c, const char *access_key_id, const char *secret_access_key,
                   const char *session_token, int64_t expiration_ms, const char *source)
{
  aws_creds_clear(c);
  c->access_key_id = access_key_id ? smf_xstrdup(access_key_id) : NULL;
  c->secret_access_key = secret_access_key ? smf_xstrdup(secret_access_key) : NULL;
  c->session_token = session_token && *session_token ? smf_xstrdup(session_token) : NULL;
  c->expiration_ms = expiration_ms;
  c->source = source;
}

void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src)
{
  aws_creds_set(dst, src->access_key_id, src->secret_access_key, src->session_token,
                src->expiration_ms, src->source);
}

void aws_creds_clear(struct aws_creds *c)
{
  if (c == NULL) {
    return;
  }
  free(c->access_key_id);
  creds_free_secret(c->secret_access_key);
  creds_free_secret(c->session_token);
  memset(c, 0, sizeof(*c));
}

bool aws_creds_valid(const struct aws_creds *c)
{
  return c && c->access_key_id && *c->access_key_id && c->secret_access_key &&
         *c->secret_access_key;
}
