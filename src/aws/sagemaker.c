// sagemaker.c: SageMaker (JSON 1.1, X-Amz-Target "SageMaker.<op>"): the generic
// call and one thin wrapper per operation the step kinds use.
#include <jansson.h>

#include "aws/json_call.h"
#include "smflow/util.h"

// Read-only operations may be resent after any failure.
static bool sagemaker_idempotent(const char *op)
{
  static const char *const prefixes[] = {"Describe", "List", "Search", "Get", "BatchDescribe"};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
    if (smf_str_startswith(op, prefixes[i])) {
      return true;
    }
  }
  return false;
}

int aws_sagemaker_call(struct aws_client *c, const char *op, json_t *body,
                       const struct aws_json_opts *opts, aws_json_fn cb, void *data,
                       struct smf_error *err)
{
  return aws__json_call(c, AWS_SVC_SAGEMAKER, "SageMaker", op, body, sagemaker_idempotent(op),
                        opts, cb, data, err);
}

int aws_json_call(struct aws_client *c, enum aws_service svc, const char *op, json_t *body,
                  const struct aws_json_opts *opts, aws_json_fn cb, void *data,
                  struct smf_error *err)
{
  if (svc == AWS_SVC_SAGEMAKER) {
    return aws_sagemaker_call(c, op, body, opts, cb, data, err);
  }
  if (svc == AWS_SVC_LOGS) {
    return aws_logs_call(c, op, body, cb, data, err);
  }
  return SMF_ERR_SET(err, SMF_EUNSUPPORTED, "%s: not a JSON 1.1 service", op);
}

#define AWS__SM_DEF(fn, op)                                                                   \
  int aws_sagemaker_##fn(struct aws_client *c, json_t *body, const struct aws_json_opts *opts, \
                         aws_json_fn cb, void *data, struct smf_error *err)                   \
  {                                                                                           \
    return aws_sagemaker_call(c, op, body, opts, cb, data, err);                              \
  }
AWS__SM_OPS(AWS__SM_DEF)
#undef AWS__SM_DEF
