// json_call.h: the JSON 1.1 protocol call shared by sagemaker (json_call.c) and logs.c.
#pragma once

#include <jansson.h>

#include "smflow/aws.h"

/// POST a JSON 1.1 request with "X-Amz-Target: <target_prefix>.<op>". body borrowed.
int aws__json_call(struct aws_client *c, enum aws_service svc, const char *target_prefix,
                   const char *op, json_t *body, bool idempotent,
                   const struct aws_json_opts *opts, aws_json_fn cb, void *data,
                   struct smf_error *err);
