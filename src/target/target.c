// target.c: target selection by name, the dispatching wrappers, and the
// hyperparameter encoding that every target shares.
#include "target/target.h"

#include <stdlib.h>
#include <string.h>

#include "target/aws/awst.h"
#include "target/local/local.h"
#include "target/pyjson.h"

static const char *const target__names[] = {"local", "aws", NULL};

const char *const *target_names(void)
{
  return target__names;
}

const char *target_job_status_name(enum target_job_status s)
{
  switch (s) {
  case TARGET_JOB_IN_PROGRESS:
    return "InProgress";
  case TARGET_JOB_COMPLETED:
    return "Completed";
  case TARGET_JOB_FAILED:
    return "Failed";
  case TARGET_JOB_STOPPED:
    return "Stopped";
  }
  return "Unknown";
}

void target__init(struct target *t, const struct target_vtable *vt, const struct target_config *cfg)
{
  t->vt = vt;
  t->loop = cfg->loop;
  t->state_dir = smf_xstrdup(cfg->state_dir ? cfg->state_dir : ".smflow");
  t->base_dir = smf_xstrdup(cfg->base_dir ? cfg->base_dir : ".");
  t->region = smf_xstrdup(cfg->region ? cfg->region : "us-east-1");
  t->share_dir = cfg->share_dir ? smf_xstrdup(cfg->share_dir) : NULL;
  t->state = cfg->state;
  t->role = cfg->role ? smf_xstrdup(cfg->role) : NULL;
}

int target_new(const char *name, const struct target_config *cfg, struct target **out,
               struct smf_error *err)
{
  *out = NULL;
  if (cfg == NULL || cfg->loop == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "target: a loop is required");
  }
  if (name == NULL || strcmp(name, "local") == 0) {
    return local_target_new(cfg, out, err);
  }
  if (strcmp(name, "aws") == 0) {
    return aws_target_new(cfg, out, err);
  }
  return SMF_ERR_SET(err, SMF_EINVAL, "unknown target '%s' (known: local, aws)", name);
}

void target_close(struct target *t)
{
  if (t && t->vt && t->vt->close) {
    t->vt->close(t);
  }
}

void target_free(struct target *t)
{
  if (t == NULL) {
    return;
  }
  if (t->vt && t->vt->free) {
    t->vt->free(t);
  }
  free(t->state_dir);
  free(t->base_dir);
  free(t->region);
  free(t->share_dir);
  free(t->role);
  free(t->account_id);
  free(t);
}

#define TARGET__NEED(t, group, err)                                                   \
  do {                                                                                \
    if ((t)->vt->group == NULL) {                                                     \
      return SMF_ERR_SET((err), SMF_EUNSUPPORTED, "target '%s' has no %s operations", \
                         (t)->vt->name, #group);                                      \
    }                                                                                 \
  } while (0)

int target_training_start(struct target *t, const struct target_training_job *job,
                          target_event_cb cb, void *data, struct target_job **out,
                          struct smf_error *err)
{
  TARGET__NEED(t, training, err);
  return t->vt->training->start(t, job, cb, data, out, err);
}

int target_training_attach(struct target *t, const struct target_training_job *job,
                           const char *intent, target_event_cb cb, void *data,
                           struct target_job **out, struct smf_error *err)
{
  TARGET__NEED(t, training, err);
  return t->vt->training->attach(t, job, intent, cb, data, out, err);
}

int target_processing_start(struct target *t, const struct target_processing_job *job,
                            target_event_cb cb, void *data, struct target_job **out,
                            struct smf_error *err)
{
  TARGET__NEED(t, processing, err);
  return t->vt->processing->start(t, job, cb, data, out, err);
}

int target_processing_attach(struct target *t, const struct target_processing_job *job,
                             const char *intent, target_event_cb cb, void *data,
                             struct target_job **out, struct smf_error *err)
{
  TARGET__NEED(t, processing, err);
  return t->vt->processing->attach(t, job, intent, cb, data, out, err);
}

int target_job_stop(struct target *t, struct target_job *j, struct smf_error *err)
{
  (void)t;
  return j->ops->stop(j, err);
}

int target_job_stop_by_name(struct target *t, bool processing, const char *job_name,
                            target_done_cb cb, void *data, struct smf_error *err)
{
  if (t->vt->stop_job_by_name == NULL) {
    return SMF_ERR_SET(err, SMF_EUNSUPPORTED, "the %s target cannot stop a job by name",
                       t->vt->name);
  }
  return t->vt->stop_job_by_name(t, processing, job_name, cb, data, err);
}

void target_job_detach(struct target_job *j)
{
  if (j) {
    j->ops->detach(j);
  }
}

int target_endpoint_deploy(struct target *t, const struct target_endpoint_spec *spec,
                           target_endpoint_cb cb, void *data, struct smf_error *err)
{
  TARGET__NEED(t, hosting, err);
  return t->vt->hosting->deploy(t, spec, cb, data, err);
}

int target_endpoint_describe(struct target *t, const char *endpoint, target_endpoint_cb cb,
                             void *data, struct smf_error *err)
{
  TARGET__NEED(t, hosting, err);
  return t->vt->hosting->describe(t, endpoint, cb, data, err);
}

int target_endpoint_delete(struct target *t, const char *endpoint, target_done_cb cb, void *data,
                           struct smf_error *err)
{
  TARGET__NEED(t, hosting, err);
  return t->vt->hosting->remove(t, endpoint, cb, data, err);
}

int target_job_logs(struct target *t, bool processing, const char *job_name, bool follow,
                    target_event_cb cb, void *data, struct smf_error *err)
{
  if (t->vt->job_logs == NULL) {
    return SMF_ERR_SET(err, SMF_EUNSUPPORTED, "target '%s' cannot read job logs", t->vt->name);
  }
  return t->vt->job_logs(t, processing, job_name, follow, cb, data, err);
}

int target_store_put_file(struct target *t, const char *path, const char *uri,
                          const struct target_put_opts *opts, target_done_cb cb, void *data,
                          struct smf_error *err)
{
  TARGET__NEED(t, store, err);
  if (opts && t->vt->store->put_file_opts) {
    return t->vt->store->put_file_opts(t, path, uri, opts, cb, data, err);
  }
  return t->vt->store->put_file(t, path, uri, cb, data, err);
}

int target_endpoint_invoke(struct target *t, const struct target_invoke *req, target_invoke_cb cb,
                           void *data, struct smf_error *err)
{
  TARGET__NEED(t, hosting, err);
  if (t->vt->hosting->invoke == NULL) {
    return SMF_ERR_SET(err, SMF_EUNSUPPORTED, "target '%s' cannot invoke endpoints", t->vt->name);
  }
  return t->vt->hosting->invoke(t, req, cb, data, err);
}

int target_registry_create_group(struct target *t, const char *group, const char *description,
                                 target_done_cb cb, void *data, struct smf_error *err)
{
  TARGET__NEED(t, registry, err);
  return t->vt->registry->create_group(t, group, description, cb, data, err);
}

int target_registry_create_version(struct target *t, const struct target_model_package *pkg,
                                   target_package_cb cb, void *data, struct smf_error *err)
{
  TARGET__NEED(t, registry, err);
  return t->vt->registry->create_version(t, pkg, cb, data, err);
}

int target_registry_list(struct target *t, const char *group, target_package_cb cb, void *data,
                         struct smf_error *err)
{
  TARGET__NEED(t, registry, err);
  return t->vt->registry->list(t, group, cb, data, err);
}

int target_registry_update_approval(struct target *t, const char *group, int version,
                                    const char *approval, target_done_cb cb, void *data,
                                    struct smf_error *err)
{
  TARGET__NEED(t, registry, err);
  return t->vt->registry->update_approval(t, group, version, approval, cb, data, err);
}

// ---------------------------------------------------------------------------
// Hyperparameters.

char *target_json_dumps_py(const struct dsl_node *value)
{
  struct smf_buf b = SMF_BUF_INIT;
  target_py_dumps_node(value, &b);
  return smf_buf_steal(&b);
}

static void hps_set(struct target_hps *hps, const char *name, char *json)
{
  for (size_t i = 0; i < hps->n; i++) {
    if (strcmp(hps->items[i].name, name) == 0) {
      free(hps->items[i].json);
      hps->items[i].json = json;
      return;
    }
  }
  hps->items = smf_xrealloc(hps->items, (hps->n + 1) * sizeof(*hps->items));
  hps->items[hps->n].name = smf_xstrdup(name);
  hps->items[hps->n].json = json;
  hps->n++;
}

static char *json_str_py(const char *s)
{
  struct dsl_node n = {.type = DSL_STR};
  n.u.str.s = s;
  n.u.str.len = strlen(s);
  return target_json_dumps_py(&n);
}

int target_hps_encode(const struct target_training_job *job, const char *default_region,
                      struct target_hps *out, struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  const struct dsl_node *maps[2] = {job->hyperparameters, job->framework_hyperparameters};
  for (size_t m = 0; m < 2; m++) {
    if (maps[m] == NULL || maps[m]->type == DSL_NULL) {
      continue;
    }
    if (maps[m]->type != DSL_MAP) {
      target_hps_free(out);
      return SMF_ERR_SET(err, SMF_EINVAL, "hyperparameters must be a map");
    }
    for (size_t i = 0; i < maps[m]->u.map.n; i++) {
      const struct dsl_pair *p = &maps[m]->u.map.pairs[i];
      hps_set(out, p->key, target_json_dumps_py(p->value));
    }
  }
  if (job->entry_point == NULL || job->job_name == NULL) {
    target_hps_free(out);
    return SMF_ERR_SET(err, SMF_EINVAL, "a training job needs an entry point and a job name");
  }
  // The keys the SDK's Framework._prepare_for_training adds, in its order.
  if (job->submit_dir_uri) {
    hps_set(out, "sagemaker_submit_directory", json_str_py(job->submit_dir_uri));
  }
  hps_set(out, "sagemaker_program", json_str_py(job->entry_point));
  int level = job->container_log_level ? job->container_log_level : 20;
  hps_set(out, "sagemaker_container_log_level", smf_xasprintf("%d", level));
  hps_set(out, "sagemaker_job_name", json_str_py(job->job_name));
  const char *region = job->region ? job->region : default_region ? default_region : "us-east-1";
  hps_set(out, "sagemaker_region", json_str_py(region));
  return 0;
}

void target_hps_free(struct target_hps *hps)
{
  for (size_t i = 0; i < hps->n; i++) {
    free(hps->items[i].name);
    free(hps->items[i].json);
  }
  free(hps->items);
  memset(hps, 0, sizeof(*hps));
}
