// fuzz_sigv4.c: libFuzzer target for the SigV4 signer's canonicalisation
// (src/aws/sigv4.c). The input is split on '\n' into: flags byte, method,
// path, then "name=value" query lines until an empty line, then "Name:value"
// header lines. Both header and query signing run; a chunk is signed too.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"
#include "smflow/aws.h"
#include "smflow/error.h"
#include "smflow/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct aws_sigv4_signer *g_signer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (g_signer == NULL) {
    g_signer = aws_sigv4_signer_new();
  }
  // Not strndup: the input may hold NUL bytes and the chunk signs all of it.
  char *text = smf_xmalloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  char *raw = smf_xmalloc(size + 1);
  memcpy(raw, data, size);
  char *lines[64];
  size_t n = 0;
  for (char *p = text; p != NULL && n < 64;) {
    lines[n++] = p;
    p = strchr(p, '\n');
    if (p) {
      *p++ = '\0';
    }
  }
  struct aws_sigv4_kv query[32], headers[32];
  size_t nq = 0, nh = 0, i = 3;
  for (; i < n && lines[i][0] != '\0' && nq < 32; i++) {
    char *eq = strchr(lines[i], '=');
    query[nq++] = (struct aws_sigv4_kv){lines[i], eq ? (*eq = '\0', eq + 1) : NULL};
  }
  for (i++; i < n && nh < 32; i++) {
    char *colon = strchr(lines[i], ':');
    headers[nh++] = (struct aws_sigv4_kv){lines[i], colon ? (*colon = '\0', colon + 1) : ""};
  }
  struct aws_creds creds = AWS_CREDS_INIT;
  aws_creds_set(&creds, "AKID", "secret", n > 5 ? lines[5] : NULL, 0, "fuzz");
  struct aws_sigv4_request req = {
      .method = n > 1 ? lines[1] : "GET",
      .path = n > 2 ? lines[2] : "/",
      .query = query,
      .n_query = nq,
      .headers = headers,
      .n_headers = nh,
      .body = raw,
      .body_len = size < 64 ? size : 64,
  };
  struct aws_sigv4_config cfg = {
      .creds = &creds,
      .region = "us-east-1",
      .service = "s3",
      .time_s = 1440938160,
      .flags = n > 0 && lines[0][0] ? (unsigned char)lines[0][0] & 31u : 0,
      .expires_s = 3600,
  };
  struct aws_sigv4_result r = AWS_SIGV4_RESULT_INIT;
  struct smf_error err = SMF_ERROR_INIT;
  if (aws_sigv4_sign_headers(g_signer, &req, &cfg, &r, &err) == 0) {
    char sig[65];
    aws_sigv4_sign_chunk(g_signer, &cfg, r.signature, raw, size, sig, NULL, &err);
  }
  aws_sigv4_sign_query(g_signer, &req, &cfg, &r, &err);
  aws_sigv4_result_free(&r);
  aws_creds_clear(&creds);
  free(text);
  free(raw);
  return 0;
}
