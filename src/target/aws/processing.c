// processing.c: the aws target's processing group (evaluate): the
// CreateProcessingJob of request_other.c driven by job.c; when the job
// completed, the report is read back from S3 and parsed (as a PropertyFile).
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/util.h"
#include "target/aws/awst_job.h"

struct pr_metrics {
  struct target_metric *v;
  char **names;
  size_t n;
};

// Every number of the report, nested objects as "a.b" (as the local target does).
static void pr_metrics(struct pr_metrics *m, const json_t *obj, const char *prefix)
{
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v)
  {
    char *name = *prefix ? smf_xasprintf("%s.%s", prefix, key) : smf_xstrdup(key);
    if (json_is_number(v)) {
      m->v = smf_xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
      m->names = smf_xrealloc(m->names, (m->n + 1) * sizeof(*m->names));
      m->names[m->n] = name;
      m->v[m->n++] = (struct target_metric){name, json_number_value(v)};
      continue;
    }
    if (json_is_object(v)) {
      pr_metrics(m, v, name);
    }
    free(name);
  }
}

static void pr_done_ok(struct awst_job *j, const char *report_json, json_t *doc)
{
  struct pr_metrics pm = {0};
  pr_metrics(&pm, doc, "");
  struct target_job_result r = {.job_name = j->name,
                                .job_arn = j->arn,
                                .status = TARGET_JOB_COMPLETED,
                                .image_uri = j->image,
                                .report_uri = j->output_path,
                                .report_json = report_json,
                                .metrics = pm.v,
                                .n_metrics = pm.n};
  awst_job_emit_done(j, &r, NULL);
  for (size_t i = 0; i < pm.n; i++) {
    free(pm.names[i]);
  }
  free(pm.names);
  free(pm.v);
}

static void pr_report_cb(void *data, int status, const struct smf_error *err)
{
  struct awst_job *j = data;
  if (!awst_job_callback(j)) {
    return;
  }
  char *text = NULL;
  size_t len = 0;
  struct smf_error e = SMF_ERROR_INIT;
  json_t *doc = NULL;
  if (status != 0) {
    e = *err;
    smf_error_prefix(&e, "report %s (the script must write it to --output-dir)", j->output_path);
  } else if (smf_file_read(j->extra, &text, &len, &e) == 0) {
    doc = json_loadb(text, len, 0, NULL);
    if (!json_is_object(doc)) {
      SMF_ERR_SET(&e, SMF_EPARSE, "report %s is not a JSON object", j->output_path);
    }
  }
  unlink(j->extra);
  if (e.code == 0) {
    char *compact = json_dumps(doc, JSON_COMPACT);
    pr_done_ok(j, compact, doc);
    free(compact);
  } else {
    e.klass = SMF_CLASS_ALGORITHM;
    struct target_job_result r = {.job_name = j->name,
                                  .job_arn = j->arn,
                                  .status = TARGET_JOB_FAILED,
                                  .failure_reason = e.message,
                                  .klass = e.klass,
                                  .image_uri = j->image};
    awst_job_emit_done(j, &r, &e);
  }
  json_decref(doc);
  free(text);
}

static void pr_finish(struct awst_job *j, json_t *d)
{
  (void)d;
  char *dir = smf_xasprintf("%s/tmp", j->t->state_dir);
  struct smf_error e = SMF_ERROR_INIT;
  smf_mkdir_p(dir, &e);
  j->extra = smf_xasprintf("%s/%s.report.json", dir, j->name);
  free(dir);
  if (j->t->vt->store->get_file(j->t, j->output_path, j->extra, pr_report_cb, j, &e) != 0) {
    struct target_job_result r = {.job_name = j->name,
                                  .status = TARGET_JOB_FAILED,
                                  .failure_reason = e.message,
                                  .klass = SMF_CLASS_CLIENT};
    awst_job_emit_done(j, &r, &e);
    return;
  }
  awst_job_call_started(j);
}

static int pr_open(struct target *t, const void *desc, target_event_cb cb, void *data,
                   struct target_job **out, bool attach, struct smf_error *err);

static int pr_start(struct target *t, const void *desc, target_event_cb cb, void *data,
                    struct target_job **out, struct smf_error *err)
{
  return pr_open(t, desc, cb, data, out, false, err);
}

static int pr_attach(struct target *t, const void *desc, const char *intent, target_event_cb cb,
                     void *data, struct target_job **out, struct smf_error *err)
{
  (void)intent;
  return pr_open(t, desc, cb, data, out, true, err);
}

const struct target_job_ops awst_processing_ops = {
    .start = pr_start,
    .attach = pr_attach,
    .stop = awst_job_stop,
    .detach = awst_job_detach,
};

static const struct awst_job_kind pr_kind = {
    .what = "processing job",
    .create_op = "CreateProcessingJob",
    .describe_op = "DescribeProcessingJob",
    .stop_op = "StopProcessingJob",
    .name_field = "ProcessingJobName",
    .arn_field = "ProcessingJobArn",
    .status_field = "ProcessingJobStatus",
    .log_group = "/aws/sagemaker/ProcessingJobs",
    .ops = &awst_processing_ops,
    .finish = pr_finish,
};

static int pr_open(struct target *t, const void *desc, target_event_cb cb, void *data,
                   struct target_job **out, bool attach, struct smf_error *err)
{
  const struct target_processing_job *job = desc;
  struct awst_env env;
  awst_env_of(t, &env);
  json_t *body = NULL;
  char *image = NULL;
  int rc = awst_processing_request(&env, job, &body, &image, err);
  if (rc != 0) {
    return rc;
  }
  struct awst_job *j = awst_job_new(t, &pr_kind, body, job->job_name, cb, data);
  j->image = image;
  size_t n = strlen(job->output_uri);
  j->output_path =
      smf_xasprintf("%s%s%s", job->output_uri, n && job->output_uri[n - 1] == '/' ? "" : "/",
                    job->report ? job->report : "evaluation.json");
  awst_job_go(j, attach);
  *out = &j->base;
  return 0;
}
