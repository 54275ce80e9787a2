// runtime.c: SageMaker Runtime InvokeEndpoint (REST: POST
// /endpoints/NAME/invocations with the raw body and its content type).
#include <string.h>

#include "aws/client_int.h"

int aws_runtime_invoke(struct aws_client *c, const char *endpoint, const char *content_type,
                       const char *accept, const void *body, size_t len, aws_done_fn cb, void *data,
                       struct smf_error *err)
{
  struct smf_buf path = SMF_BUF_INIT;
  smf_buf_puts(&path, "/endpoints/");
  aws_sigv4_uri_encode(&path, endpoint, strlen(endpoint), false);
  smf_buf_puts(&path, "/invocations");
  struct aws_kv headers[] = {
      {"Content-Type", content_type ? content_type : "application/octet-stream"},
      {"Accept", accept ? accept : "*/*"},
  };
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_RUNTIME;
  r.op = "InvokeEndpoint";
  r.method = "POST";
  r.path = smf_buf_cstr(&path);
  r.headers = headers;
  r.n_headers = 2;
  r.body = body ? body : "";
  r.body_len = body ? len : 0;
  r.idempotent = true;  // inference has no side effect the SDKs guard against
  int rc = aws_call_start(c, &r, cb, data, NULL, err);
  smf_buf_free(&path);
  return rc;
}
