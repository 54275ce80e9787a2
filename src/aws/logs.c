// logs.c: CloudWatch Logs (JSON 1.1, target prefix Logs_20140328): reading the
// log streams of training and processing jobs. Every call here is read-only.
#include <jansson.h>

#include "aws/json_call.h"
#include "smflow/util.h"

#define LOGS_TARGET "Logs_20140328"

int aws_logs_call(struct aws_client *c, const char *op, json_t *body, aws_json_fn cb,
                  void *data, struct smf_error *err)
{
  bool ro = smf_str_startswith(op, "Get") || smf_str_startswith(op, "Describe") ||
            smf_str_startswith(op, "Filter") || smf_str_startswith(op, "List");
  return aws__json_call(c, AWS_SVC_LOGS, LOGS_TARGET, op, body, ro, NULL, cb, data, err);
}

static int logs_send(struct aws_client *c, const char *op, json_t *body, aws_json_fn cb,
                     void *data, struct smf_error *err)
{
  int rc = aws_logs_call(c, op, body, cb, data, err);
  json_decref(body);
  return rc;
}

int aws_logs_get_events(struct aws_client *c, const char *group, const char *stream,
                        const char *next_token, bool start_from_head, aws_json_fn cb, void *data,
                        struct smf_error *err)
{
  json_t *b = json_pack("{s:s, s:s, s:b}", "logGroupName", group, "logStreamName", stream,
                        "startFromHead", start_from_head);
  if (next_token) {
    json_object_set_new(b, "nextToken", json_string(next_token));
  }
  return logs_send(c, "GetLogEvents", b, cb, data, err);
}

int aws_logs_filter_events(struct aws_client *c, const char *group, const char *stream_prefix,
                           const char *next_token, aws_json_fn cb, void *data,
                           struct smf_error *err)
{
  json_t *b = json_pack("{s:s}", "logGroupName", group);
  if (stream_prefix) {
    json_object_set_new(b, "logStreamNamePrefix", json_string(stream_prefix));
  }
  if (next_token) {
    json_object_set_new(b, "nextToken", json_string(next_token));
  }
  return logs_send(c, "FilterLogEvents", b, cb, data, err);
}

int aws_logs_describe_streams(struct aws_client *c, const char *group, const char *prefix,
                              const char *next_token, aws_json_fn cb, void *data,
                              struct smf_error *err)
{
  json_t *b = json_pack("{s:s}", "logGroupName", group);
  if (prefix) {
    json_object_set_new(b, "logStreamNamePrefix", json_string(prefix));
  }
  if (next_token) {
    json_object_set_new(b, "nextToken", json_string(next_token));
  }
  return logs_send(c, "DescribeLogStreams", b, cb, data, err);
}
