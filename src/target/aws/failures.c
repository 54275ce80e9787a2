// failures.c: SageMaker's words for a failure → smflow's retry classes
// (SPEC §4 `retry.on`), from a job's FailureReason and SecondaryStatus or from
// an API error's code.
#include <string.h>
#include <strings.h>

#include "target/aws/awst.h"

static bool has(const char *s, const char *word)
{
  return s && strcasestr(s, word) != NULL;
}

enum smf_errclass awst_failure_class(const char *reason, const char *secondary)
{
  if (secondary && strcmp(secondary, "Interrupted") == 0) {
    return SMF_CLASS_SPOT_INTERRUPTION;
  }
  if (secondary && (strcmp(secondary, "MaxRuntimeExceeded") == 0 ||
                    strcmp(secondary, "MaxWaitTimeExceeded") == 0)) {
    return SMF_CLASS_TIMEOUT;
  }
  if (has(reason, "CapacityError") || has(reason, "InsufficientCapacity") ||
      has(reason, "insufficient capacity")) {
    return SMF_CLASS_CAPACITY;
  }
  if (has(reason, "ResourceLimitExceeded")) {
    return SMF_CLASS_RESOURCE_LIMIT;
  }
  if (has(reason, "InternalServerError") || has(reason, "InternalFailure")) {
    return SMF_CLASS_INTERNAL_SERVER;
  }
  if (has(reason, "spot") && has(reason, "interrupt")) {
    return SMF_CLASS_SPOT_INTERRUPTION;
  }
  if (has(reason, "ClientError") || has(reason, "ValidationException")) {
    return SMF_CLASS_CLIENT;
  }
  return SMF_CLASS_ALGORITHM;
}

enum smf_errclass awst_api_class(const struct smf_error *err)
{
  const char *c = err->aws_code;
  if (strncmp(c, "Throttl", 7) == 0 || strcmp(c, "SlowDown") == 0 ||
      strcmp(c, "RequestLimitExceeded") == 0) {
    return SMF_CLASS_THROTTLING;
  }
  if (strcmp(c, "ResourceLimitExceeded") == 0) {
    return SMF_CLASS_RESOURCE_LIMIT;
  }
  if (strcmp(c, "InsufficientCapacity") == 0 || strcmp(c, "CapacityError") == 0) {
    return SMF_CLASS_CAPACITY;
  }
  if (err->http_status >= 500 || err->code == SMF_EHTTP || strcmp(c, "InternalFailure") == 0 ||
      strcmp(c, "ServiceUnavailable") == 0 || strcmp(c, "InternalServerError") == 0) {
    return SMF_CLASS_INTERNAL_SERVER;
  }
  return SMF_CLASS_CLIENT;
}

void awst_error_context(struct smf_error *e, const char *subject, const char *what)
{
  if (what && *what && strstr(e->message, what) == NULL) {
    smf_error_prefix(e, "%s: %s", subject, what);
  } else {
    smf_error_prefix(e, "%s", subject);
  }
}
