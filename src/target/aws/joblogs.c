// joblogs.c: `smflow logs` for an aws job: its CloudWatch lines from the
// start (logs.c, without saving the forward tokens a re-attached run uses),
// page after page until a round brings nothing new; with follow, a Describe
// of the job between rounds, until it has ended and a last round is empty.
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"
#include "target/aws/awst_job.h"

struct jl {
  struct target *t;
  bool processing, follow, ended;
  char *name;
  struct awst_logs logs;
  target_event_cb cb;
  void *data;
  size_t lines;  ///< lines of the current round
  uv_timer_t timer;
  struct smf_error err;
};

static void jl_closed(uv_handle_t *h)
{
  struct jl *j = h->data;
  awst_logs_free(&j->logs);
  free(j->name);
  free(j);
}

static void jl_done(struct jl *j)
{
  struct target_event ev = {
      .type = TARGET_EVENT_DONE, .job_name = j->name, .err = j->err.code ? &j->err : NULL};
  j->cb(j->data, &ev);
  uv_close((uv_handle_t *)&j->timer, jl_closed);
}

static void jl_line(void *data, const struct target_event *ev)
{
  struct jl *j = data;
  if (ev->type == TARGET_EVENT_LOG) {
    j->lines++;
    j->cb(j->data, ev);
  }
}

static void jl_tick(uv_timer_t *t);

static void jl_round_done(void *data)
{
  struct jl *j = data;
  if (j->lines > 0) {  // more pages may wait
    j->lines = 0;
    awst_logs_round(&j->logs, jl_round_done, j);
  } else if (!j->follow || j->ended) {
    jl_done(j);
  } else {
    uv_timer_start(&j->timer, jl_tick, (uint64_t)awst_of(j->t)->poll_min_ms, 0);
  }
}

static void jl_describe_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct jl *j = data;
  if (res == NULL) {
    j->err = *err;
    jl_done(j);
    return;
  }
  const char *st = json_string_value(
      json_object_get(res, j->processing ? "ProcessingJobStatus" : "TrainingJobStatus"));
  j->ended = st && strcmp(st, "InProgress") != 0 && strcmp(st, "Stopping") != 0;
  j->lines = 0;
  awst_logs_round(&j->logs, jl_round_done, j);
}

static void jl_tick(uv_timer_t *t)
{
  struct jl *j = t->data;
  json_t *b = json_pack("{s:s}", j->processing ? "ProcessingJobName" : "TrainingJobName", j->name);
  int rc = aws_sagemaker_call(awst_of(j->t)->client,
                              j->processing ? "DescribeProcessingJob" : "DescribeTrainingJob", b,
                              NULL, jl_describe_cb, j, &j->err);
  json_decref(b);
  if (rc != 0) {
    jl_done(j);
  }
}

int awst_job_logs(struct target *t, bool processing, const char *job_name, bool follow,
                  target_event_cb cb, void *data, struct smf_error *err)
{
  (void)err;
  struct jl *j = smf_xcalloc(1, sizeof(*j));
  j->t = t;
  j->processing = processing;
  j->follow = follow;
  j->name = smf_xstrdup(job_name);
  j->cb = cb;
  j->data = data;
  awst_logs_init(&j->logs, t,
                 processing ? "/aws/sagemaker/ProcessingJobs" : "/aws/sagemaker/TrainingJobs",
                 job_name, jl_line, j);
  free(j->logs.token_file);
  j->logs.token_file = NULL;
  uv_timer_init(t->loop, &j->timer);
  j->timer.data = j;
  uv_timer_start(&j->timer, jl_tick, 0, 0);  // fails in DONE when SageMaker knows no such job
  return 0;
}
