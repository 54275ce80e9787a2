// logs.c: CloudWatch log tailing of a SageMaker job: the streams JOB/HOST-...
// of /aws/sagemaker/TrainingJobs (or ProcessingJobs), read forward from the
// last token, each line delivered as a LOG event with its host ("algo-1").
// The tokens are saved in STATE_DIR/aws/logs/JOB.json after a round that
// moved, so that a re-attached run goes on where the last one stopped.
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"
#include "target/aws/awst_job.h"

#define LOGS_MAX_PAGES 5  // per stream and round: a busy job cannot starve the poll

void awst_logs_init(struct awst_logs *l, struct target *t, const char *group, const char *job,
                    target_event_cb cb, void *data)
{
  memset(l, 0, sizeof(*l));
  l->t = t;
  l->group = group;
  l->job = smf_xstrdup(job);
  l->token_file = smf_xasprintf("%s/aws/logs/%s.json", t->state_dir, job);
  l->cb = cb;
  l->data = data;
  l->tokens = json_object();
}

void awst_logs_load(struct awst_logs *l)
{
  json_t *saved = json_load_file(l->token_file, 0, NULL);
  if (json_is_object(saved)) {
    json_decref(l->tokens);
    l->tokens = saved;
  } else {
    json_decref(saved);
  }
}

void awst_logs_free(struct awst_logs *l)
{
  json_decref(l->tokens);
  json_decref(l->streams);
  free(l->job);
  free(l->token_file);
  memset(l, 0, sizeof(*l));
}

static void logs_save(struct awst_logs *l)
{
  if (!l->dirty || l->token_file == NULL) {
    return;
  }
  l->dirty = false;
  char *dir = smf_xasprintf("%s/aws/logs", l->t->state_dir);
  struct smf_error e = SMF_ERROR_INIT;
  char *text = json_dumps(l->tokens, JSON_COMPACT);
  if (smf_mkdir_p(dir, &e) == 0) {
    smf_file_write_atomic(l->token_file, text, strlen(text), &e);
  }
  free(text);
  free(dir);
}

static void logs_finish(struct awst_logs *l)
{
  logs_save(l);
  void (*done)(void *) = l->done;
  l->done = NULL;
  done(l->done_data);
}

// "JOB/algo-1-1700000000" → "algo-1".
static void logs_host(const struct awst_logs *l, const char *stream, char *out, size_t n)
{
  const char *h = stream + (smf_str_startswith(stream, l->job) ? strlen(l->job) + 1 : 0);
  const char *dash = strrchr(h, '-');
  size_t len = dash && dash != h ? (size_t)(dash - h) : strlen(h);
  snprintf(out, n, "%.*s", (int)len, h);
}

static void logs_next_stream(struct awst_logs *l);

static void logs_emit(struct awst_logs *l, const char *host, const char *msg)
{
  char *copy = smf_xstrdup(msg);
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    struct target_event ev = {
        .type = TARGET_EVENT_LOG, .job_name = l->job, .host = host, .line = line};
    l->cb(l->data, &ev);
  }
  free(copy);
}

static void logs_events_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct awst_logs *l = data;
  (void)err;
  const char *stream = json_string_value(json_array_get(l->streams, l->next));
  if (res == NULL) {
    l->next++;
    logs_next_stream(l);
    return;
  }
  char host[128];
  logs_host(l, stream, host, sizeof(host));
  size_t i;
  json_t *ev;
  json_array_foreach(json_object_get(res, "events"), i, ev)
  {
    const char *msg = json_string_value(json_object_get(ev, "message"));
    logs_emit(l, host, msg ? msg : "");
  }
  const char *tok = json_string_value(json_object_get(res, "nextForwardToken"));
  const char *old = json_string_value(json_object_get(l->tokens, stream));
  bool moved = tok && (old == NULL || strcmp(tok, old) != 0);
  if (moved) {
    json_object_set_new(l->tokens, stream, json_string(tok));
    l->dirty = true;
  }
  if (!moved || json_array_size(json_object_get(res, "events")) == 0 ||
      ++l->pages >= LOGS_MAX_PAGES) {
    l->next++;
    l->pages = 0;
  }
  logs_next_stream(l);
}

static void logs_next_stream(struct awst_logs *l)
{
  if (l->next >= json_array_size(l->streams)) {
    logs_finish(l);
    return;
  }
  const char *stream = json_string_value(json_array_get(l->streams, l->next));
  const char *tok = json_string_value(json_object_get(l->tokens, stream));
  struct smf_error e = SMF_ERROR_INIT;
  if (aws_logs_get_events(awst_of(l->t)->client, l->group, stream, tok, true, logs_events_cb, l,
                          &e) != 0) {
    logs_finish(l);
  }
}

static void logs_streams_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct awst_logs *l = data;
  (void)err;
  json_decref(l->streams);
  l->streams = json_array();
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(res, "logStreams"), i, s)
  {
    const char *name = json_string_value(json_object_get(s, "logStreamName"));
    if (name) {
      json_array_append_new(l->streams, json_string(name));
    }
  }
  l->next = 0;
  l->pages = 0;
  logs_next_stream(l);
}

void awst_logs_round(struct awst_logs *l, void (*done)(void *data), void *data)
{
  l->done = done;
  l->done_data = data;
  char *prefix = smf_xasprintf("%s/", l->job);
  struct smf_error e = SMF_ERROR_INIT;
  int rc = aws_logs_describe_streams(awst_of(l->t)->client, l->group, prefix, NULL, logs_streams_cb,
                                     l, &e);
  free(prefix);
  if (rc != 0) {
    logs_finish(l);  // never from inside the caller's call chain for Describe: see job.c
  }
}
