// processing.c: evaluate's runtime on this machine, laid out as a SageMaker
// processing container: /opt/ml/processing/model (the model.tar.gz, extracted
// safely), /opt/ml/processing/input/NAME (each input materialised from the
// store), /opt/ml/processing/input/code (the script) and
// /opt/ml/processing/output. The script gets `--model-dir DIR --output-dir DIR`
// and `--NAME DIR` per input; afterwards every file of the output directory is
// stored under OUTPUT_URI/ and the JSON report is parsed into metrics.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/archive.h"
#include "target/local/local.h"

extern char **environ;

struct processing_data {
  char *entry_point, *code_uri, *model_uri, *report, *output_uri;
  char **command;  // NULL-terminated; empty = python3
  size_t n_inputs;
  char **input_names, **input_uris;
  char **env;  // "K=V" of the job's environment, NULL-terminated
};

static char **strv_copy(const char *const *v, size_t n)
{
  char **out = smf_xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    out[i] = smf_xstrdup(v[i]);
  }
  return out;
}

static char *dup_or_null(const char *s)
{
  return s ? smf_xstrdup(s) : NULL;
}

static int processing_fetch(struct local_job *j, const char *base, struct smf_error *err)
{
  struct processing_data *d = j->kdata;
  char *code = smf_xasprintf("%s/input/code", base), *model = smf_xasprintf("%s/model", base);
  char *out = smf_xasprintf("%s/output", base), *tgz = NULL;
  int rc = smf_mkdir_p(code, err);
  if (rc == 0) {
    rc = smf_mkdir_p(out, err);
  }
  if (rc == 0 && d->model_uri) {
    rc = local_uri_path(j->t, d->model_uri, &tgz, err);
    if (rc == 0) {
      rc = smf_archive_extract(tgz, model, NULL, err);
    }
    if (rc != 0) {
      smf_error_prefix(err, "model %s", d->model_uri);
    }
  } else if (rc == 0) {
    rc = smf_mkdir_p(model, err);
  }
  for (size_t i = 0; rc == 0 && i < d->n_inputs; i++) {
    char *dir = smf_xasprintf("%s/input/%s", base, d->input_names[i]);
    rc = local_channel_fetch(j->t, d->input_uris[i], dir, err);
    if (rc != 0) {
      smf_error_prefix(err, "input '%s'", d->input_names[i]);
    }
    free(dir);
  }
  if (rc == 0 && d->code_uri) {
    rc = local_code_fetch(j->t, d->code_uri, code, err);
  }
  free(code);
  free(model);
  free(out);
  free(tgz);
  return rc;
}

static int processing_prepare(struct local_job *j, struct smf_error *err)
{
  struct processing_data *d = j->kdata;
  struct local_job_host *h = &j->hosts[0];
  char *base = smf_xasprintf("%s/processing", h->root);
  int rc = processing_fetch(j, base, err);
  h->cwd = smf_xasprintf("%s/input/code", base);
  char *ep = smf_xasprintf("%s/%s", h->cwd, d->entry_point);
  if (rc == 0 && access(ep, F_OK) != 0) {
    rc = SMF_ERR_SET(err, SMF_ENOENT, "entry point '%s' is not in the code (%s)", d->entry_point,
                     d->code_uri ? d->code_uri : "none given");
  }
  free(ep);
  if (rc == 0) {
    size_t nc = 0;
    while (d->command[nc]) {
      nc++;
    }
    size_t n = 0;
    char **argv = smf_xcalloc(nc + 7 + 2 * d->n_inputs, sizeof(char *));  // NULL-terminated
    if (nc == 0) {
      argv[n++] = smf_xstrdup("python3");
    }
    for (size_t i = 0; i < nc; i++) {
      argv[n++] = smf_xstrdup(d->command[i]);
    }
    argv[n++] = smf_xstrdup(d->entry_point);
    argv[n++] = smf_xstrdup("--model-dir");
    argv[n++] = smf_xasprintf("%s/model", base);
    argv[n++] = smf_xstrdup("--output-dir");
    argv[n++] = smf_xasprintf("%s/output", base);
    for (size_t i = 0; i < d->n_inputs; i++) {
      argv[n++] = smf_xasprintf("--%s", d->input_names[i]);
      argv[n++] = smf_xasprintf("%s/input/%s", base, d->input_names[i]);
    }
    h->argv = argv;
    size_t ne = 0;
    while (d->env[ne]) {
      ne++;
    }
    h->env = local_env_merge(environ, d->env, ne);
  }
  free(base);
  return rc;
}

// Numbers of the report as metrics: top-level names, nested ones joined by '.'.
static void processing_metrics(struct local_job *j, const json_t *v, const char *prefix)
{
  const char *k;
  json_t *item;
  json_object_foreach((json_t *)v, k, item)
  {
    char *name = *prefix ? smf_xasprintf("%s.%s", prefix, k) : smf_xstrdup(k);
    if (json_is_number(item)) {
      j->res.metrics =
          smf_xrealloc(j->res.metrics, (j->res.n_metrics + 1) * sizeof(*j->res.metrics));
      j->res.metrics[j->res.n_metrics].name = name;
      j->res.metrics[j->res.n_metrics++].value = json_number_value(item);
      continue;
    }
    if (json_is_object(item)) {
      processing_metrics(j, item, name);
    }
    free(name);
  }
}

static int processing_store_outputs(struct local_job *j, const char *out_dir, struct smf_error *err)
{
  struct processing_data *d = j->kdata;
  struct local_store_listing l = {0};
  int rc = local_store_list(local_impl_store(j->t), out_dir, &l, err);
  size_t n = strlen(d->output_uri);
  while (n && d->output_uri[n - 1] == '/') {
    n--;
  }
  for (size_t i = 0; rc == 0 && i < l.n; i++) {
    char *uri = smf_xasprintf("%.*s/%s", (int)n, d->output_uri, l.v[i].key);
    rc = local_file_put(j->t, l.v[i].path, uri, err);
    free(uri);
  }
  local_store_listing_free(&l);
  if (rc == 0 && d->report) {
    j->res.report_uri = smf_xasprintf("%.*s/%s", (int)n, d->output_uri, d->report);
  }
  return rc;
}

static int processing_collect(struct local_job *j, struct smf_error *err)
{
  struct processing_data *d = j->kdata;
  char *out_dir = smf_xasprintf("%s/processing/output", j->hosts[0].root);
  char *report = d->report ? smf_xasprintf("%s/%s", out_dir, d->report) : NULL;
  json_t *doc = NULL;
  int rc = 0;
  if (report) {
    rc = local_json_read(report, &doc, err);
    if (rc == 0 && !json_is_object(doc)) {
      rc = SMF_ERR_SET(err, SMF_EPARSE, "report %s is not a JSON object", d->report);
    } else if (rc != 0) {
      smf_error_prefix(err, "report %s (the script must write it to --output-dir)", d->report);
    }
  }
  if (rc == 0 && d->output_uri) {
    rc = processing_store_outputs(j, out_dir, err);
  }
  if (rc == 0 && doc) {
    j->res.report_json = json_dumps(doc, JSON_COMPACT);
    processing_metrics(j, doc, "");
  }
  json_decref(doc);
  free(report);
  free(out_dir);
  return rc;
}

static void processing_free(struct local_job *j)
{
  struct processing_data *d = j->kdata;
  if (d == NULL) {
    return;
  }
  free(d->entry_point);
  free(d->code_uri);
  free(d->model_uri);
  free(d->report);
  free(d->output_uri);
  local_strv_free(d->command);
  local_strv_free(d->input_names);
  local_strv_free(d->input_uris);
  local_strv_free(d->env);
  free(d);
}

static const struct local_job_kind processing_kind = {
    .what = "processing job",
    .prepare = processing_prepare,
    .collect = processing_collect,
    .free = processing_free,
};

static int processing_make(struct target *t, const void *vjob, target_event_cb cb, void *data,
                           struct local_job **out, struct smf_error *err)
{
  const struct target_processing_job *job = vjob;
  if (job == NULL || job->job_name == NULL || job->entry_point == NULL || cb == NULL ||
      strchr(job->job_name, '/') || job->job_name[0] == '.') {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "a processing job needs a valid name, an entry point "
                       "and a callback");
  }
  if (!local_entry_point_ok(job->entry_point)) {
    return SMF_ERR_SET(err, SMF_EINVAL, "entry point '%s' must be a path inside the code",
                       job->entry_point);
  }
  for (size_t i = 0; i < job->n_inputs; i++) {
    const char *name = job->inputs[i].name;
    if (!local_channel_name_ok(name) || strcmp(name, "code") == 0 || job->inputs[i].uri == NULL) {
      return SMF_ERR_SET(err, SMF_EINVAL,
                         "input '%s': a name of [A-Za-z0-9._-] (not 'code') "
                         "and a URI are required",
                         name ? name : "");
    }
  }
  struct processing_data *d = smf_xcalloc(1, sizeof(*d));
  d->entry_point = smf_xstrdup(job->entry_point);
  d->code_uri = dup_or_null(job->code_uri);
  d->model_uri = dup_or_null(job->model_uri);
  d->report = dup_or_null(job->report);
  d->output_uri = dup_or_null(job->output_uri);
  d->command = strv_copy(job->command, job->n_command);
  d->n_inputs = job->n_inputs;
  d->input_names = smf_xcalloc(job->n_inputs + 1, sizeof(char *));
  d->input_uris = smf_xcalloc(job->n_inputs + 1, sizeof(char *));
  for (size_t i = 0; i < job->n_inputs; i++) {
    d->input_names[i] = smf_xstrdup(job->inputs[i].name);
    d->input_uris[i] = smf_xstrdup(job->inputs[i].uri);
  }
  d->env = smf_xcalloc(job->n_environment + 1, sizeof(char *));
  for (size_t i = 0; i < job->n_environment; i++) {
    d->env[i] = smf_xasprintf("%s=%s", job->environment[i].key, job->environment[i].value);
  }
  struct local_job *j = local_job_new(t, &processing_kind, &local_processing_ops, job->job_name, 1,
                                      job->resources.max_run_ms, cb, data);
  j->kdata = d;
  j->image_uri = dup_or_null(job->image_uri);
  *out = j;
  return 0;
}

static int processing_start(struct target *t, const void *job, target_event_cb cb, void *data,
                            struct target_job **out, struct smf_error *err)
{
  struct local_job *j = NULL;
  int rc = processing_make(t, job, cb, data, &j, err);
  if (rc == 0 && (rc = local_job_run(j, err)) == 0) {
    *out = &j->base;
  }
  return rc;
}

static int processing_attach(struct target *t, const void *job, const char *intent,
                             target_event_cb cb, void *data, struct target_job **out,
                             struct smf_error *err)
{
  struct local_job *j = NULL;
  int rc = processing_make(t, job, cb, data, &j, err);
  if (rc == 0 && (rc = local_job_attach(j, intent, err)) == 0) {
    *out = &j->base;
  }
  return rc;
}

const struct target_job_ops local_processing_ops = {
    .start = processing_start,
    .attach = processing_attach,
    .stop = local_job_stop,
    .detach = local_job_detach,
};
