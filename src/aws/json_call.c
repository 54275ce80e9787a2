// json_call.c: the JSON 1.1 protocol shared by SageMaker and CloudWatch Logs:
// POST / with X-Amz-Target, the body and the answer as JSON (jansson).
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client_int.h"
#include "aws/json_call.h"

struct json_ctx {
  aws_json_fn cb;
  void *data;
};

static void json_done(struct aws_result *res, void *data)
{
  struct json_ctx *ctx = data;
  aws_json_fn cb = ctx->cb;
  void *cb_data = ctx->data;
  free(ctx);
  if (res->code != 0) {
    cb(NULL, &res->err, cb_data);
    return;
  }
  json_t *j = NULL;
  if (res->resolved || res->body_len == 0) {
    j = json_object();  // completed by the ambiguous-outcome hook, or an empty answer
  } else {
    json_error_t je;
    j = json_loadb(res->body, res->body_len, 0, &je);
    if (!j) {
      struct smf_error err = SMF_ERROR_INIT;
      SMF_ERR_SET(&err, SMF_EPARSE, "%s: bad JSON answer: %s", aws_call_op(res->call), je.text);
      err.http_status = (int)res->status;
      cb(NULL, &err, cb_data);
      return;
    }
  }
  cb(j, NULL, cb_data);
  json_decref(j);
}

int aws__json_call(struct aws_client *c, enum aws_service svc, const char *target_prefix,
                   const char *op, json_t *body, bool idempotent,
                   const struct aws_json_opts *opts, aws_json_fn cb, void *data,
                   struct smf_error *err)
{
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (body && !text) {
    return SMF_ERR_SET(err, SMF_EINVAL, "%s: body cannot be encoded as JSON", op);
  }
  char target[160];
  snprintf(target, sizeof target, "%s.%s", target_prefix, op);
  struct aws_kv headers[] = {
      {"Content-Type", "application/x-amz-json-1.1"},
      {"X-Amz-Target", target},
  };
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = svc;
  r.op = op;
  r.method = "POST";
  r.path = "/";
  r.headers = headers;
  r.n_headers = 2;
  r.body = text ? text : "{}";
  r.body_len = strlen(r.body);
  r.idempotent = idempotent;
  if (opts) {
    r.on_ambiguous = opts->on_ambiguous;
    r.ambiguous_data = opts->ambiguous_data;
  }
  struct json_ctx *ctx = smf_xcalloc(1, sizeof *ctx);
  ctx->cb = cb;
  ctx->data = data;
  int rc = aws_call_start(c, &r, json_done, ctx, NULL, err);
  free(text);
  if (rc != 0) {
    free(ctx);
  }
  return rc;
}
