// hosting.c: the aws target's endpoints: DescribeEndpoint (is there one to
// update, and with which config), CreateModel, CreateEndpointConfig (a new,
// uniquely named config per deploy), CreateEndpoint or UpdateEndpoint (with a
// blue/green DeploymentConfig when `strategy` asks), then DescribeEndpoint
// until InService. A failed update is undone: UpdateEndpoint back to the
// previous config, and the failure says so. A Create* resent after an
// ambiguous failure meets "already exists", which counts as success.
//
// restore (a deploy step whose smoke test failed): DescribeEndpointConfig of
// the config served before (its model, for the record), UpdateEndpoint back to
// it, DescribeEndpoint until InService; nothing is created.
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smflow/util.h"
#include "target/aws/awst.h"

enum dep_phase {
  DEP_DESCRIBE,
  DEP_MODEL,
  DEP_CONFIG,
  DEP_ENDPOINT,
  DEP_WAIT,
  DEP_RESTORE,
  DEP_REVERT_CONFIG,  ///< restore: DescribeEndpointConfig
  DEP_REVERT,         ///< restore: UpdateEndpoint
};

struct dep {
  struct target *t;
  enum dep_phase phase;
  json_t *model, *config, *deploy_config;
  char *endpoint, *model_name, *config_name, *prev_config, *arn, *failure;
  char *model_data;  ///< for the record: the container's, else the model package's
  target_endpoint_cb cb;
  void *data;
  uv_timer_t timer;
  int64_t interval_ms;
  int inflight;   ///< calls in flight
  bool finished;  ///< the callback ran (or target_close): no more events
  bool timer_closed;
  struct awst_live live;
};

static void dep_step(struct dep *d);

static void dep_release(struct dep *d)
{
  json_decref(d->model);
  json_decref(d->config);
  json_decref(d->deploy_config);
  free(d->endpoint);
  free(d->model_name);
  free(d->config_name);
  free(d->prev_config);
  free(d->arn);
  free(d->failure);
  free(d->model_data);
  awst_live_remove(d->t, &d->live);
  free(d);
}

static void dep_closed(uv_handle_t *h)
{
  struct dep *d = h->data;
  d->timer_closed = true;
  if (d->inflight == 0) {
    dep_release(d);
  }
}

static void dep_close(struct dep *d)
{
  d->finished = true;
  uv_timer_stop(&d->timer);
  uv_close((uv_handle_t *)&d->timer, dep_closed);
}

// A call's answer: false when the deploy has ended meanwhile (then it is
// released after its last call).
static bool dep_answer(struct dep *d)
{
  d->inflight--;
  if (!d->finished) {
    return true;
  }
  if (d->timer_closed && d->inflight == 0) {
    dep_release(d);
  }
  return false;
}

static void dep_quiesce(struct awst_live *l)
{
  struct dep *d = (struct dep *)((char *)l - offsetof(struct dep, live));
  if (!d->finished) {
    dep_close(d);
  }
}

static void dep_finish(struct dep *d, int status, const char *ep_status,
                       const struct smf_error *err)
{
  struct target_endpoint_info info = {.endpoint = d->endpoint,
                                      .endpoint_arn = d->arn,
                                      .config_name = d->config_name,
                                      .model_name = d->model_name,
                                      .status = ep_status};
  d->finished = true;
  if (status == 0) {
    awst_endpoint_record(d->t, d->endpoint, d->config_name, d->model_name, d->model_data);
  }
  d->cb(d->data, status, status == 0 ? &info : NULL, err);
  dep_close(d);
}

static void dep_fail(struct dep *d, const char *what, const struct smf_error *err)
{
  struct smf_error e = *err;
  char subject[300];
  snprintf(subject, sizeof(subject), "endpoint %s", d->endpoint);
  awst_error_context(&e, subject, what);
  if (e.klass == SMF_CLASS_NONE) {
    e.klass = awst_api_class(err);
  }
  dep_finish(d, e.code ? e.code : SMF_EAWS, "Failed", &e);
}

static bool dep_exists_error(const struct smf_error *err)
{
  return strcmp(err->aws_code, "ResourceInUse") == 0 ||
         strcasestr(err->message, "already exist") != NULL;
}

static void dep_poll_cb(uv_timer_t *t)
{
  dep_step(t->data);
}

static void dep_later(struct dep *d)
{
  uv_timer_start(&d->timer, dep_poll_cb, 0, 0);
}

static void dep_wait_result(struct dep *d, json_t *res)
{
  const char *st = json_string_value(json_object_get(res, "EndpointStatus"));
  const char *cfg = json_string_value(json_object_get(res, "EndpointConfigName"));
  const char *reason = json_string_value(json_object_get(res, "FailureReason"));
  if (!d->arn && json_string_value(json_object_get(res, "EndpointArn"))) {
    d->arn = smf_xstrdup(json_string_value(json_object_get(res, "EndpointArn")));
  }
  if (st && strcmp(st, "InService") == 0) {
    if (cfg && strcmp(cfg, d->config_name) != 0) {  // SageMaker rolled the update back
      struct smf_error e = SMF_ERROR_INIT;
      SMF_ERR_SET(&e, SMF_EAWS, "endpoint %s: the update to %s failed (%s); SageMaker kept %s",
                  d->endpoint, d->config_name, reason ? reason : "no reason given", cfg);
      e.klass = SMF_CLASS_ALGORITHM;
      dep_finish(d, e.code, st, &e);
      return;
    }
    dep_finish(d, 0, st, NULL);
    return;
  }
  if (st && strcmp(st, "Failed") == 0) {
    free(d->failure);
    d->failure = smf_xstrdup(reason ? reason : "no reason given");
    if (d->prev_config && d->phase == DEP_WAIT) {
      d->phase = DEP_RESTORE;
      dep_later(d);
      return;
    }
    struct smf_error e = SMF_ERROR_INIT;
    SMF_ERR_SET(&e, SMF_EAWS, "endpoint %s failed: %s", d->endpoint, d->failure);
    e.klass = awst_failure_class(d->failure, NULL);
    dep_finish(d, e.code, st, &e);
    return;
  }
  int64_t next = d->interval_ms;
  d->interval_ms = d->interval_ms * 3 / 2 > awst_of(d->t)->poll_max_ms ? awst_of(d->t)->poll_max_ms
                                                                       : d->interval_ms * 3 / 2;
  uv_timer_start(&d->timer, dep_poll_cb, (uint64_t)next, 0);
}

static void dep_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct dep *d = data;
  if (!dep_answer(d)) {
    return;
  }
  switch (d->phase) {
  case DEP_DESCRIBE:
    if (res) {
      const char *cfg = json_string_value(json_object_get(res, "EndpointConfigName"));
      if (cfg && strcmp(cfg, d->config_name) == 0) {  // this deploy got that far before
        d->phase = DEP_WAIT;                          // (a resumed attempt): wait for it
        break;
      }
      d->prev_config = cfg ? smf_xstrdup(cfg) : NULL;
    } else if (strcasestr(err->message, "could not find") == NULL &&
               strcasestr(err->message, "not found") == NULL) {
      dep_fail(d, "DescribeEndpoint", err);
      return;
    }
    d->phase = DEP_MODEL;
    break;
  case DEP_MODEL:
  case DEP_CONFIG:
  case DEP_ENDPOINT:
    if (res == NULL && !dep_exists_error(err)) {
      dep_fail(d,
               d->phase == DEP_MODEL    ? "CreateModel"
               : d->phase == DEP_CONFIG ? "CreateEndpointConfig"
               : d->prev_config         ? "UpdateEndpoint"
                                        : "CreateEndpoint",
               err);
      return;
    }
    d->phase = (enum dep_phase)(d->phase + 1);
    break;
  case DEP_WAIT:
    if (res == NULL) {
      dep_fail(d, "DescribeEndpoint", err);
      return;
    }
    dep_wait_result(d, res);
    return;
  case DEP_REVERT_CONFIG:
  case DEP_REVERT:
    if (res == NULL) {
      dep_fail(d, d->phase == DEP_REVERT ? "UpdateEndpoint" : "DescribeEndpointConfig", err);
      return;
    }
    if (d->phase == DEP_REVERT_CONFIG) {
      const char *m = json_string_value(json_object_get(
          json_array_get(json_object_get(res, "ProductionVariants"), 0), "ModelName"));
      d->model_name = m ? smf_xstrdup(m) : NULL;
    }
    d->phase = d->phase == DEP_REVERT ? DEP_WAIT : DEP_REVERT;
    break;
  case DEP_RESTORE: {
    struct smf_error e = SMF_ERROR_INIT;
    SMF_ERR_SET(&e, SMF_EAWS, "endpoint %s: deploying %s failed (%s); %s %s", d->endpoint,
                d->config_name, d->failure,
                res ? "restored the previous config" : "could not restore the previous config",
                d->prev_config);
    e.klass = awst_failure_class(d->failure, NULL);
    dep_finish(d, e.code, "Failed", &e);
    return;
  }
  }
  dep_later(d);
}

static void dep_ambiguous(struct aws_call *call, void *data)
{
  (void)data;
  aws_call_resolve(call, AWS_VERDICT_RETRY);  // a resend meets "already exists": success
}

static void dep_step(struct dep *d)
{
  const char *op = NULL;
  json_t *body = NULL;
  switch (d->phase) {
  case DEP_DESCRIBE:
  case DEP_WAIT:
    op = "DescribeEndpoint";
    body = json_pack("{s:s}", "EndpointName", d->endpoint);
    break;
  case DEP_MODEL:
    op = "CreateModel";
    body = json_incref(d->model);
    break;
  case DEP_CONFIG:
    op = "CreateEndpointConfig";
    body = json_incref(d->config);
    break;
  case DEP_ENDPOINT:
    op = d->prev_config ? "UpdateEndpoint" : "CreateEndpoint";
    if (d->prev_config) {
      body = json_pack("{s:s, s:s}", "EndpointName", d->endpoint, "EndpointConfigName",
                       d->config_name);
      if (d->deploy_config) {
        json_object_set(body, "DeploymentConfig", d->deploy_config);
      }
    } else {
      body = awst_endpoint_request(d->endpoint, d->config_name, d->config);
    }
    break;
  case DEP_RESTORE:
  case DEP_REVERT:
    op = "UpdateEndpoint";
    body = json_pack("{s:s, s:s}", "EndpointName", d->endpoint, "EndpointConfigName",
                     d->phase == DEP_REVERT ? d->config_name : d->prev_config);
    break;
  case DEP_REVERT_CONFIG:
    op = "DescribeEndpointConfig";
    body = json_pack("{s:s}", "EndpointConfigName", d->config_name);
    break;
  }
  struct aws_json_opts opts = {.on_ambiguous = dep_ambiguous, .ambiguous_data = d};
  struct smf_error e = SMF_ERROR_INIT;
  int rc = aws_sagemaker_call(awst_of(d->t)->client, op, body, &opts, dep_cb, d, &e);
  json_decref(body);
  if (rc != 0) {
    dep_fail(d, op, &e);
    return;
  }
  d->inflight++;
}

// strategy: {blue_green: {canary: PERCENT, wait: DURATION}, rollback_alarms: [...]}
static json_t *dep_deployment_config(const struct dsl_node *spec)
{
  const struct dsl_node *st = spec ? dsl_map_get(spec, "strategy") : NULL;
  if (st == NULL || st->type != DSL_MAP) {
    return NULL;
  }
  json_t *dc = json_object();
  const struct dsl_node *bg = dsl_map_get(st, "blue_green");
  if (bg && bg->type == DSL_MAP) {
    int64_t wait_ms = 0;
    const struct dsl_node *w = dsl_map_get(bg, "wait");
    if (w && w->type == DSL_INT) {
      wait_ms = w->u.i * 1000;
    } else if (w && w->type == DSL_STR) {
      smf_duration_parse(w->u.str.s, &wait_ms);
    }
    int64_t canary = dsl_map_int(bg, "canary", 0);
    json_t *trc = canary > 0 ? json_pack("{s:s, s:{s:s, s:I}, s:I}", "Type", "CANARY", "CanarySize",
                                         "Type", "CAPACITY_PERCENT", "Value", (json_int_t)canary,
                                         "WaitIntervalInSeconds", (json_int_t)(wait_ms / 1000))
                             : json_pack("{s:s, s:I}", "Type", "ALL_AT_ONCE",
                                         "WaitIntervalInSeconds", (json_int_t)(wait_ms / 1000));
    json_object_set_new(dc, "BlueGreenUpdatePolicy",
                        json_pack("{s:o}", "TrafficRoutingConfiguration", trc));
  }
  const struct dsl_node *alarms = dsl_map_get(st, "rollback_alarms");
  if (alarms && alarms->type == DSL_SEQ && alarms->u.seq.n) {
    json_t *a = json_array();
    for (size_t i = 0; i < alarms->u.seq.n; i++) {
      json_array_append_new(a, json_pack("{s:s}", "AlarmName", alarms->u.seq.items[i]->u.str.s));
    }
    json_object_set_new(dc, "AutoRollbackConfiguration", json_pack("{s:o}", "Alarms", a));
  }
  return dc;
}

static struct dep *dep_new(struct target *t, const char *endpoint, void *data)
{
  struct dep *d = smf_xcalloc(1, sizeof(*d));
  d->t = t;
  d->endpoint = smf_xstrdup(endpoint);
  d->data = data;
  d->interval_ms = awst_of(t)->poll_min_ms;
  uv_timer_init(t->loop, &d->timer);
  d->timer.data = d;
  awst_live_add(t, &d->live, dep_quiesce);
  return d;
}

static void dep_repacked(void *data, int status, const struct smf_error *err)
{
  struct dep *d = data;
  if (!dep_answer(d)) {
    return;
  }
  if (status != 0) {
    dep_fail(d, "inference code", err);
    return;
  }
  d->phase = DEP_DESCRIBE;
  dep_later(d);
}

json_t *awst_endpoint_request(const char *endpoint, const char *config_name, const json_t *config)
{
  json_t *body =
      json_pack("{s:s, s:s}", "EndpointName", endpoint, "EndpointConfigName", config_name);
  // the SDK's create_endpoint sends the deploy's tags, [] if none
  json_t *tags = json_object_get(config, "Tags");
  json_object_set_new(body, "Tags", tags ? json_deep_copy(tags) : json_array());
  return body;
}

// Model.deploy with an entry point places the code as the model class does
// (awst_code_mode): repacked into the model (the container finds it in
// /opt/ml/model/code) or uploaded beside it as sourcedir.tar.gz; the
// CreateModel body already names where (awst_model_request).
static int dep_place_code(struct dep *d, const struct target_endpoint_spec *spec,
                          enum awst_code mode, struct smf_error *err)
{
  const char *bucket = awst_of(d->t)->default_bucket;
  struct awst_code_src code = {spec->entry_point, spec->source_dir};
  char *dest = mode == AWST_CODE_REPACK ? awst_repack_uri(bucket, spec->model_name)
                                        : awst_sourcedir_uri(bucket, spec->model_name);
  int rc =
      mode == AWST_CODE_REPACK
          ? awst_repack(d->t, spec->model_data, &code, spec->model_name, dest, dep_repacked, d, err)
          : awst_code_upload(d->t, &code, spec->model_name, dest, dep_repacked, d, err);
  free(dest);
  if (rc == 0) {
    d->inflight++;
  }
  return rc;
}

static int host_deploy(struct target *t, const struct target_endpoint_spec *spec,
                       target_endpoint_cb cb, void *data, struct smf_error *err)
{
  struct awst_env env;
  awst_env_of(t, &env);
  json_t *model = NULL;
  int rc = awst_model_request(&env, spec, &model, err);
  if (rc != 0) {
    return rc;
  }
  struct dep *d = dep_new(t, spec->endpoint, data);
  d->cb = cb;
  d->model = model;
  d->config = awst_endpoint_config_request(spec);
  d->deploy_config = dep_deployment_config(spec->spec);
  d->model_name = smf_xstrdup(spec->model_name);
  d->config_name = smf_xstrdup(spec->config_name);
  const char *md = json_string_value(
      json_object_get(json_object_get(model, "PrimaryContainer"), "ModelDataUrl"));
  md = md ? md : spec->model_data;
  d->model_data = md ? smf_xstrdup(md) : NULL;
  d->phase = DEP_DESCRIBE;
  bool has_dir =
      spec->spec ? awst_spec_str(spec->spec, "source_dir") != NULL : spec->source_dir != NULL;
  enum awst_code mode = spec->model_package_arn
                            ? AWST_CODE_NONE
                            : awst_code_mode(awst_spec_str(spec->spec, "framework"),
                                             awst_spec_str(spec->spec, "framework_version"),
                                             spec->entry_point, has_dir);
  if (mode == AWST_CODE_UPLOAD || (mode == AWST_CODE_REPACK && spec->model_data)) {
    rc = dep_place_code(d, spec, mode, err);
    if (rc != 0) {
      dep_close(d);
    }
    return rc;
  }
  dep_later(d);
  return 0;
}

static void host_describe_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct dep *d = data;
  if (!dep_answer(d)) {
    return;
  }
  if (res == NULL) {
    bool missing =
        strcasestr(err->message, "could not find") || strcasestr(err->message, "not found");
    struct smf_error e = *err;
    e.code = missing ? SMF_ENOENT : err->code;
    d->cb(d->data, e.code, NULL, &e);
  } else {
    struct target_endpoint_info info = {
        .endpoint = d->endpoint,
        .endpoint_arn = json_string_value(json_object_get(res, "EndpointArn")),
        .config_name = json_string_value(json_object_get(res, "EndpointConfigName")),
        .status = json_string_value(json_object_get(res, "EndpointStatus"))};
    d->cb(d->data, 0, &info, NULL);
  }
  dep_close(d);
}

static int host_describe(struct target *t, const char *endpoint, target_endpoint_cb cb, void *data,
                         struct smf_error *err)
{
  struct dep *d = dep_new(t, endpoint, data);
  d->cb = cb;
  json_t *b = json_pack("{s:s}", "EndpointName", endpoint);
  int rc =
      aws_sagemaker_call(awst_of(t)->client, "DescribeEndpoint", b, NULL, host_describe_cb, d, err);
  json_decref(b);
  if (rc != 0) {
    dep_close(d);
  } else {
    d->inflight++;
  }
  return rc;
}

// Serve config_name again (a failed smoke test): see the top of the file.
static int host_restore(struct target *t, const char *endpoint, const char *config_name,
                        target_endpoint_cb cb, void *data, struct smf_error *err)
{
  (void)err;
  struct dep *d = dep_new(t, endpoint, data);
  d->cb = cb;
  d->config_name = smf_xstrdup(config_name);
  d->phase = DEP_REVERT_CONFIG;
  dep_later(d);
  return 0;
}

const struct target_hosting_ops awst_hosting_ops = {
    .deploy = host_deploy,
    .describe = host_describe,
    .remove = awst_endpoint_remove,
    .invoke = awst_endpoint_invoke,
    .restore = host_restore,
};
