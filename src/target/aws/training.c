// training.c: the aws target's training group: CreateTrainingJob from the SDK
// request builder (request_training.c), driven by job.c; the result as SPEC §4
// asks (job_arn, model_data, output_data, FinalMetricDataList, billable time).
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"
#include "target/aws/awst_job.h"

static void tr_finish(struct awst_job *j, json_t *d)
{
  const char *model =
      json_string_value(json_object_get(json_object_get(d, "ModelArtifacts"), "S3ModelArtifacts"));
  const char *out = j->output_path;
  size_t n = strlen(out);
  const char *sep = n && out[n - 1] == '/' ? "" : "/";
  char *model_def = smf_xasprintf("%s%s%s/output/model.tar.gz", out, sep, j->name);
  char *output = smf_xasprintf("%s%s%s/output/output.tar.gz", out, sep, j->name);
  json_t *fm = json_object_get(d, "FinalMetricDataList");
  size_t nm = json_array_size(fm);
  struct target_metric *m = smf_xcalloc(nm + 1, sizeof(*m));
  for (size_t i = 0; i < nm; i++) {
    json_t *e = json_array_get(fm, i);
    m[i].name = json_string_value(json_object_get(e, "MetricName"));
    m[i].value = json_number_value(json_object_get(e, "Value"));
  }
  struct target_job_result r = {
      .job_name = j->name,
      .job_arn = j->arn,
      .status = TARGET_JOB_COMPLETED,
      .model_data = model ? model : model_def,
      .output_data = output,
      .image_uri = j->image,
      .metrics = m,
      .n_metrics = nm,
      .exit_code = 0,
      .billable_seconds = json_integer_value(json_object_get(d, "BillableTimeInSeconds"))};
  awst_job_emit_done(j, &r, NULL);
  free(m);
  free(model_def);
  free(output);
}

static int tr_open(struct target *t, const void *desc, target_event_cb cb, void *data,
                   struct target_job **out, bool attach, struct smf_error *err);

static int tr_start(struct target *t, const void *desc, target_event_cb cb, void *data,
                    struct target_job **out, struct smf_error *err)
{
  return tr_open(t, desc, cb, data, out, false, err);
}

static int tr_attach(struct target *t, const void *desc, const char *intent, target_event_cb cb,
                     void *data, struct target_job **out, struct smf_error *err)
{
  (void)intent;  // the job name is in the description; the fingerprint is recomputed
  return tr_open(t, desc, cb, data, out, true, err);
}

const struct target_job_ops awst_training_ops = {
    .start = tr_start,
    .attach = tr_attach,
    .stop = awst_job_stop,
    .detach = awst_job_detach,
};

static const struct awst_job_kind tr_kind = {
    .what = "training job",
    .create_op = "CreateTrainingJob",
    .describe_op = "DescribeTrainingJob",
    .stop_op = "StopTrainingJob",
    .name_field = "TrainingJobName",
    .arn_field = "TrainingJobArn",
    .status_field = "TrainingJobStatus",
    .log_group = "/aws/sagemaker/TrainingJobs",
    .ops = &awst_training_ops,
    .finish = tr_finish,
};

static int tr_open(struct target *t, const void *desc, target_event_cb cb, void *data,
                   struct target_job **out, bool attach, struct smf_error *err)
{
  const struct target_training_job *job = desc;
  struct awst_env env;
  awst_env_of(t, &env);
  json_t *body = NULL;
  char *image = NULL;
  int rc = awst_training_request(&env, job, &body, &image, err);
  if (rc != 0) {
    return rc;
  }
  struct awst_job *j = awst_job_new(t, &tr_kind, body, job->job_name, cb, data);
  j->image = image;
  j->output_path = smf_xstrdup(job->output_path);
  awst_job_go(j, attach);
  *out = &j->base;
  return 0;
}
