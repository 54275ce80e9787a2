// deploy.c: the `deploy` step kind (SPEC §4): create or update an endpoint
// through the target's hosting operations.
//
// The model comes from `model_package` (a registry ARN or GROUP/VERSION, looked
// up through the registry operations) or from `model_data`; entry_point and
// source_dir go with it (the local target places source_dir under the model's
// code/, as the SDK's repack does, and sets SAGEMAKER_PROGRAM). The model and
// its endpoint config get a new name per deploy: ENDPOINT-RUNID-STEP-ATTEMPT
// (the job-name rule of step_job_name). The target replaces a running server
// only once the new one answers /ping.
//
// smoke_test: after the deploy, one inference request with the body file
// (relative to the pipeline) and content type: `POST URL/invocations` when the
// target gives the endpoint a URL (local), else the target's invoke operation
// (aws: InvokeEndpoint, signed). A status other than expect_status (200) fails
// the step with class ClientError after restoring what the endpoint served
// before — redeployed from its record (local), or its previous config served
// again through hosting.restore (aws) — or, for a new endpoint, deleting it.
// Targets with neither a URL nor invoke skip the test with a log line.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/http.h"
#include "steps/common.h"
#include "steps/kinds.h"

struct deploy {
  struct step_ctx *ctx;
  struct target *t;
  struct target_endpoint_spec spec;  ///< in ctx->arena
  char *prev_spec;                   ///< JSON of what the endpoint served before, or NULL
  char *prev_config;                 ///< the endpoint config it served before, or NULL
  bool had_prev;
  struct target_endpoint_info info;  ///< of the new deploy (strings in ctx->arena)
  struct aws_http *http;
  struct aws_http_req req;
  char *body;
  size_t body_len;
  char failure[1024];  ///< smoke-test failure, reported after the restore
  int cancel_reason;
  bool finished;
  bool invoking;  ///< the target's invoke is in flight (it cannot be cancelled)
  bool orphan;    ///< freed by the step while invoking: the invoke callback frees it
};

static void dep_fail(struct deploy *d, int code, enum smf_errclass k, const char *msg)
{
  d->finished = true;
  if (d->cancel_reason) {
    code = d->cancel_reason;
    k = code == SMF_ETIMEOUT ? SMF_CLASS_TIMEOUT : SMF_CLASS_NONE;
  }
  step_fail(d->ctx, code, k, "%s", msg);
}

static void dep_fail_err(struct deploy *d, const struct smf_error *err)
{
  dep_fail(d, err && err->code ? err->code : SMF_EINTERNAL,
           err && err->klass ? err->klass : SMF_CLASS_CLIENT, err ? err->message : "deploy failed");
}

static void dep_succeed(struct deploy *d)
{
  struct step_ctx *ctx = d->ctx;
  d->finished = true;
  struct dsl_node *out = dsl_node_new(ctx->arena, DSL_MAP);
  const char *keys[] = {"endpoint", "endpoint_arn", "config", "model_name", "url"};
  const char *vals[] = {d->info.endpoint, d->info.endpoint_arn, d->info.config_name,
                        d->info.model_name, d->info.url};
  for (size_t i = 0; i < SMF_ARRAY_LEN(keys); i++) {
    if (vals[i]) {
      dsl_map_set(ctx->arena, out, keys[i], dsl_node_str(ctx->arena, vals[i], strlen(vals[i])));
    }
  }
  step_ctx_log(ctx, "endpoint %s is in service%s%s", d->info.endpoint, d->info.url ? " at " : "",
               d->info.url ? d->info.url : "");
  step_ctx_done(ctx, 0, NULL, out);
}

// ---- restore after a failed smoke test ----

static void dep_on_restored(void *data, int status, const struct target_endpoint_info *ep,
                            const struct smf_error *err)
{
  (void)ep;
  struct deploy *d = data;
  if (status != 0) {
    step_ctx_log(d->ctx, "restoring the previous model failed: %s", err ? err->message : "");
  } else if (d->prev_spec == NULL && d->prev_config) {
    step_ctx_log(d->ctx, "endpoint %s serves its previous config %s again", d->spec.endpoint,
                 d->prev_config);
  } else {
    step_ctx_log(d->ctx, "endpoint %s serves its previous model again", d->spec.endpoint);
  }
  dep_fail(d, SMF_ECHILD, SMF_CLASS_CLIENT, d->failure);
}

static void dep_on_removed(void *data, int status, const struct smf_error *err)
{
  (void)status;
  (void)err;
  struct deploy *d = data;
  step_ctx_log(d->ctx, "endpoint %s removed (it had no previous model)", d->spec.endpoint);
  dep_fail(d, SMF_ECHILD, SMF_CLASS_CLIENT, d->failure);
}

static const char *dep_json_str(struct step_ctx *ctx, const json_t *o, const char *k)
{
  const char *s = json_string_value(json_object_get(o, k));
  return s ? smf_arena_strdup(ctx->arena, s) : NULL;
}

// Deploy the recorded previous spec again, or delete a brand-new endpoint.
static void dep_restore(struct deploy *d)
{
  struct step_ctx *ctx = d->ctx;
  struct smf_error err = SMF_ERROR_INIT;
  json_t *o = d->prev_spec ? json_loads(d->prev_spec, 0, NULL) : NULL;
  const struct target_hosting_ops *h = d->t->vt->hosting;
  if (o == NULL && d->had_prev && d->prev_config && h->restore) {
    if (h->restore(d->t, d->spec.endpoint, d->prev_config, dep_on_restored, d, &err) != 0) {
      step_ctx_log(ctx, "cannot restore the previous config: %s", err.message);
      dep_fail(d, SMF_ECHILD, SMF_CLASS_CLIENT, d->failure);
    }
    return;
  }
  if (o == NULL) {
    if (d->had_prev) {
      step_ctx_log(ctx, "endpoint %s: what it served before is not known, nothing restored",
                   d->spec.endpoint);
    }
    if (d->had_prev ||
        target_endpoint_delete(d->t, d->spec.endpoint, dep_on_removed, d, &err) != 0) {
      dep_fail(d, SMF_ECHILD, SMF_CLASS_CLIENT, d->failure);
    }
    return;
  }
  struct target_endpoint_spec s = d->spec;
  s.model_data = dep_json_str(ctx, o, "model_data");
  s.image_uri = dep_json_str(ctx, o, "image_uri");
  s.entry_point = dep_json_str(ctx, o, "entry_point");
  s.source_dir = dep_json_str(ctx, o, "source_dir");
  s.model_name = dep_json_str(ctx, o, "model_name");
  s.config_name = smf_arena_printf(ctx->arena, "%.50s-restore", d->spec.config_name);
  json_t *serve = json_object_get(o, "serve");
  s.n_serve_command = json_array_size(serve);
  const char **argv = smf_arena_alloc(ctx->arena, (s.n_serve_command + 1) * sizeof(*argv));
  for (size_t i = 0; i < s.n_serve_command; i++) {
    argv[i] = smf_arena_strdup(ctx->arena, json_string_value(json_array_get(serve, i)));
  }
  s.serve_command = s.n_serve_command ? argv : NULL;
  json_t *env = json_object_get(o, "environment");
  struct target_kv *kv = smf_arena_alloc(ctx->arena, (json_object_size(env) + 1) * sizeof(*kv));
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(env, k, v)
  {
    kv[n++] = (struct target_kv){smf_arena_strdup(ctx->arena, k),
                                 smf_arena_strdup(ctx->arena, json_string_value(v))};
  }
  s.environment = kv;
  s.n_environment = n;
  json_decref(o);
  if (target_endpoint_deploy(d->t, &s, dep_on_restored, d, &err) != 0) {
    step_ctx_log(ctx, "cannot restore the previous model: %s", err.message);
    dep_fail(d, SMF_ECHILD, SMF_CLASS_CLIENT, d->failure);
  }
}

// ---- smoke test ----

// The smoke test's answer: HTTP status (0: none came, `why` says why), body,
// request id (aws) or NULL.
static void dep_smoke_verdict(struct deploy *d, long status, const char *why, const char *body,
                              size_t len, const char *request_id)
{
  const struct dsl_node *st = dsl_map_get(d->ctx->spec, "smoke_test");
  long expect = (long)dsl_map_int(st, "expect_status", 200);
  if (d->cancel_reason) {  // interrupted or timed out: no verdict, nothing to restore
    dep_fail(d, d->cancel_reason, SMF_CLASS_NONE, "deploy stopped during its smoke test");
    return;
  }
  if (status != 0 && status == expect) {
    step_ctx_log(d->ctx, "smoke test: HTTP %ld", status);
    dep_succeed(d);
    return;
  }
  if (status == 0) {
    snprintf(d->failure, sizeof(d->failure), "smoke test of %s failed: %s", d->spec.endpoint, why);
  } else {
    int n = len > 300 ? 300 : (int)len;
    snprintf(d->failure, sizeof(d->failure), "smoke test of %s: HTTP %ld, expected %ld: %.*s%s%s%s",
             d->spec.endpoint, status, expect, n, body ? body : "",
             request_id && *request_id ? " (request id " : "",
             request_id && *request_id ? request_id : "", request_id && *request_id ? ")" : "");
  }
  step_ctx_log(d->ctx, "%s", d->failure);
  dep_restore(d);
}

static void dep_on_smoke(struct aws_http_req *req, void *data)
{
  struct deploy *d = data;
  const char *why = req->curl_error[0] ? req->curl_error : smf_strerror(req->result);
  dep_smoke_verdict(d, req->result == 0 ? req->status : 0, why, smf_buf_cstr(&req->body),
                    req->body.len, NULL);
}

static void dep_on_invoked(void *data, int status, const struct target_invoke_result *res,
                           const struct smf_error *err)
{
  struct deploy *d = data;
  d->invoking = false;
  if (d->orphan) {  // the step is gone (cancelled and freed meanwhile)
    free(d);
    return;
  }
  if (d->finished) {  // cancelled: the step has failed already
    return;
  }
  long http = res ? res->http_status : 0;
  const char *why = err && err->message[0] ? err->message : smf_strerror(status);
  dep_smoke_verdict(d, http, why, res ? res->body : NULL, res ? res->len : 0,
                    err ? err->request_id : NULL);
}

static int dep_smoke_start(struct deploy *d, struct smf_error *err)
{
  const struct dsl_node *st = dsl_map_get(d->ctx->spec, "smoke_test");
  const char *path = step_path(d->ctx, dsl_map_str(st, "body", ""));
  int rc = smf_file_read(path, &d->body, &d->body_len, err);
  if (rc == 0 && d->info.url == NULL) {  // the target's invoke operation (aws)
    struct target_invoke req = {.endpoint = d->info.endpoint,
                                .content_type = dsl_map_str(st, "content_type", NULL),
                                .body = d->body,
                                .len = d->body_len};
    rc = target_endpoint_invoke(d->t, &req, dep_on_invoked, d, err);
    d->invoking = rc == 0;
    if (rc == 0) {
      step_ctx_log(d->ctx, "smoke test of %s: InvokeEndpoint, %zu bytes of %s", req.endpoint,
                   req.len, req.content_type ? req.content_type : "application/octet-stream");
    }
    return rc;
  }
  if (rc == 0) {
    rc = aws_http_new(d->ctx->loop, &d->http, err);
  }
  if (rc != 0) {
    return rc;
  }
  char *url = smf_xasprintf("%s/invocations", d->info.url);
  aws_http_req_init(&d->req);
  aws_http_req_set(&d->req, "POST", url);
  free(url);
  aws_http_req_header(&d->req, "Content-Type",
                      dsl_map_str(st, "content_type", "application/octet-stream"));
  aws_http_req_body_mem(&d->req, d->body, d->body_len);
  aws_http_req_max_response(&d->req, 1 << 20);
  aws_http_req_timeouts(&d->req, 5000, 60000);
  return aws_http_req_start(d->http, &d->req, dep_on_smoke, d, err);
}

// ---- deploy ----

static const char *dep_dup(struct step_ctx *ctx, const char *s)
{
  return s ? smf_arena_strdup(ctx->arena, s) : NULL;
}

static void dep_on_deployed(void *data, int status, const struct target_endpoint_info *ep,
                            const struct smf_error *err)
{
  struct deploy *d = data;
  struct step_ctx *ctx = d->ctx;
  if (status != 0) {
    dep_fail_err(d, err);
    return;
  }
  d->info = (struct target_endpoint_info){.endpoint = dep_dup(ctx, ep->endpoint),
                                          .endpoint_arn = dep_dup(ctx, ep->endpoint_arn),
                                          .config_name = dep_dup(ctx, ep->config_name),
                                          .model_name = dep_dup(ctx, ep->model_name),
                                          .status = dep_dup(ctx, ep->status),
                                          .url = dep_dup(ctx, ep->url),
                                          .pid = ep->pid};
  if (ep->pid > 0) {
    char remote[64];
    snprintf(remote, sizeof(remote), "pid %lld", (long long)ep->pid);
    step_ctx_set_remote_name(ctx, remote);
  } else if (ep->endpoint) {  // a remote endpoint: its name
    step_ctx_set_remote_name(ctx, ep->endpoint);
  }
  if (dsl_map_get(ctx->spec, "smoke_test") == NULL) {
    dep_succeed(d);
    return;
  }
  if (d->info.url == NULL && d->t->vt->hosting->invoke == NULL) {
    step_ctx_log(ctx, "smoke test skipped: the target can neither give a URL for %s nor invoke it",
                 d->info.endpoint);
    dep_succeed(d);
    return;
  }
  struct smf_error e = SMF_ERROR_INIT;
  if (dep_smoke_start(d, &e) != 0) {
    snprintf(d->failure, sizeof(d->failure), "smoke test of %s: %.900s", d->spec.endpoint,
             e.message);
    dep_restore(d);
  }
}

static void dep_deploy(struct deploy *d)
{
  struct smf_error err = SMF_ERROR_INIT;
  if (d->cancel_reason) {
    dep_fail(d, d->cancel_reason, SMF_CLASS_NONE, "deploy stopped");
  } else if (target_endpoint_deploy(d->t, &d->spec, dep_on_deployed, d, &err) != 0) {
    dep_fail_err(d, &err);
  }
}

static void dep_on_described(void *data, int status, const struct target_endpoint_info *ep,
                             const struct smf_error *err)
{
  (void)err;
  struct deploy *d = data;
  if (status == 0 && ep) {
    d->had_prev = true;
    d->prev_spec = ep->deployed_spec ? smf_xstrdup(ep->deployed_spec) : NULL;
    // the config of this very deploy (a resumed attempt) is not what it served before
    if (ep->config_name && strcmp(ep->config_name, d->spec.config_name) != 0) {
      d->prev_config = smf_xstrdup(ep->config_name);
    }
  }
  dep_deploy(d);
}

// model_package resolved: the version's ARN (what aws's CreateModel names, as
// the SDK's ModelPackage.deploy does), its model data and image (what the
// local target serves).
static void dep_on_package(void *data, int status, const struct target_model_package *pkgs,
                           size_t n, const struct smf_error *err)
{
  struct deploy *d = data;
  struct step_ctx *ctx = d->ctx;
  const char *ref = dsl_map_str(ctx->spec, "model_package", "");
  int version = atoi(strrchr(ref, '/') ? strrchr(ref, '/') + 1 : "0");
  if (status != 0) {
    dep_fail_err(d, err);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (pkgs[i].version != version) {
      continue;
    }
    if (pkgs[i].approval && strcmp(pkgs[i].approval, "Rejected") == 0) {
      dep_fail(d, SMF_EINVAL, SMF_CLASS_CLIENT, "the model package version is Rejected");
      return;
    }
    d->spec.model_data = dep_dup(ctx, pkgs[i].model_data);
    d->spec.image_uri = dep_dup(ctx, pkgs[i].image_uri);
    d->spec.model_package_arn = dep_dup(ctx, pkgs[i].arn);
    step_ctx_log(ctx, "model package %s: %s", pkgs[i].arn, pkgs[i].model_data);
    struct smf_error e = SMF_ERROR_INIT;
    if (target_endpoint_describe(d->t, d->spec.endpoint, dep_on_described, d, &e) != 0) {
      dep_fail_err(d, &e);
    }
    return;
  }
  char msg[400];
  snprintf(msg, sizeof(msg), "no model package '%s' in the registry", ref);
  dep_fail(d, SMF_ENOENT, SMF_CLASS_CLIENT, msg);
}

// "arn:aws:sagemaker:R:A:model-package/GROUP/VERSION" or "GROUP/VERSION" → GROUP.
static const char *dep_package_group(struct step_ctx *ctx, const char *ref)
{
  const char *p = strstr(ref, "model-package/");
  p = p ? p + strlen("model-package/") : ref;
  const char *slash = strrchr(p, '/');
  return slash ? smf_arena_strndup(ctx->arena, p, (size_t)(slash - p)) : NULL;
}

// `serve:` runs in the model directory: an argument naming a file beside the
// pipeline (`serve.py`, `bin/server`) is made absolute so that it still refers
// to that file.
static const char *const *dep_serve_argv(struct step_ctx *ctx, size_t *n)
{
  const char *const *v = step_argv(ctx, dsl_map_get(ctx->spec, "serve"), n);
  const char **out = smf_arena_alloc(ctx->arena, (*n + 1) * sizeof(*out));
  for (size_t i = 0; i < *n; i++) {
    out[i] = v[i];
    if (v[i][0] != '/' && v[i][0] != '{' && v[i][0] != '-' && strstr(v[i], "://") == NULL) {
      const char *abs = step_path(ctx, v[i]);
      if (access(abs, F_OK) == 0) {
        out[i] = abs;
      }
    }
  }
  return out;
}

// entry_point without source_dir: as the SDK's repack, the script file itself goes
// into the model's code/ and SAGEMAKER_PROGRAM is its basename. (A script that is
// not on this machine is left to the model's own code/, as before.)
static void dep_lone_entry_point(struct step_ctx *ctx, struct target_endpoint_spec *sp)
{
  if (sp->entry_point == NULL || sp->source_dir != NULL) {
    return;
  }
  const char *file = step_path(ctx, sp->entry_point);
  struct stat st;
  if (file == NULL || stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
    return;
  }
  const char *slash = strrchr(sp->entry_point, '/');
  sp->source_dir = file;  // a single file is placed by its basename
  sp->entry_point = slash ? slash + 1 : sp->entry_point;
}

static void dep_describe_spec(struct step_ctx *ctx, struct target_endpoint_spec *sp)
{
  const struct dsl_node *s = ctx->spec;
  sp->endpoint = dsl_map_str(s, "endpoint", "");
  const char *name = step_job_name(ctx, sp->endpoint);
  sp->model_name = dsl_map_str(s, "model_name", name);
  sp->config_name = name;
  sp->model_data = step_path(ctx, dsl_map_str(s, "model_data", NULL));
  sp->image_uri = dsl_map_str(s, "image_uri", NULL);
  sp->entry_point = dsl_map_str(s, "entry_point", NULL);
  sp->source_dir = step_path(ctx, dsl_map_str(s, "source_dir", NULL));
  dep_lone_entry_point(ctx, sp);
  sp->instance_type = dsl_map_str(s, "instance_type", NULL);
  sp->initial_instance_count = (int)dsl_map_int(s, "initial_instance_count", 1);
  sp->serve_command = dep_serve_argv(ctx, &sp->n_serve_command);
  sp->environment = step_kvs(ctx, dsl_map_get(s, "environment"), &sp->n_environment);
  sp->tags = step_kvs(ctx, dsl_map_get(s, "tags"), &sp->n_tags);
  sp->spec = s;
}

void step_deploy_plan(struct step_ctx *ctx, struct target_endpoint_spec *sp)
{
  memset(sp, 0, sizeof(*sp));
  dep_describe_spec(ctx, sp);
}

// A local model_data is in the object store: go on with its URI.
static void dep_on_staged(void *data, int status, const char *uri, const struct smf_error *err)
{
  struct deploy *d = data;
  if (status != 0) {
    dep_fail_err(d, err);
    return;
  }
  d->spec.model_data = smf_arena_strdup(d->ctx->arena, uri);
  struct smf_error e = SMF_ERROR_INIT;
  if (target_endpoint_describe(d->t, d->spec.endpoint, dep_on_described, d, &e) != 0) {
    dep_fail_err(d, &e);
  }
}

static char *dep_intent(struct step_ctx *ctx)
{
  json_t *j = json_pack("{s:i, s:s}", "attempt", ctx->attempt, "endpoint",
                        dsl_map_str(ctx->spec, "endpoint", ""));
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return t;
}

static int dep_start(struct step_ctx *ctx, struct smf_error *err)
{
  struct target *t = step_target(ctx, err);
  if (t == NULL) {
    return err->code;
  }
  struct deploy *d = smf_xcalloc(1, sizeof(*d));
  d->ctx = ctx;
  d->t = t;
  dep_describe_spec(ctx, &d->spec);
  ctx->kind_data = d;
  const char *ref = dsl_map_str(ctx->spec, "model_package", NULL);
  int rc;
  if (ref) {
    const char *group = dep_package_group(ctx, ref);
    if (group == NULL || t->vt->registry == NULL) {
      err->klass = SMF_CLASS_CLIENT;
      rc = SMF_ERR_SET(err, SMF_EINVAL, "model_package '%s': expected GROUP/VERSION or an ARN%s",
                       ref, t->vt->registry ? "" : " (and a target with a registry)");
    } else {
      rc = t->vt->registry->list(t, group, dep_on_package, d, err);
    }
  } else {
    rc = step_stage_local(ctx, d->spec.model_data, dep_on_staged, d, err);
    if (rc == 0) {
      rc = target_endpoint_describe(t, d->spec.endpoint, dep_on_described, d, err);
    }
  }
  if (rc == 1) {
    return 0;
  }
  if (rc != 0) {
    ctx->kind_data = NULL;
    free(d);
  }
  return rc;
}

static int dep_resume(struct step_ctx *ctx, const char *intent_json, struct smf_error *err)
{
  (void)intent_json;
  return dep_start(ctx, err);  // a deploy replaces what serves: doing it again is safe
}

static void dep_cancel(struct step_ctx *ctx, int reason, bool kill_now)
{
  (void)kill_now;
  struct deploy *d = ctx->kind_data;
  if (d && !d->finished && d->cancel_reason == 0) {
    d->cancel_reason = reason;
    if (d->http) {
      aws_http_req_cancel(&d->req);  // no-op unless the smoke test is in flight
    } else if (d->invoking) {        // not cancellable: fail now, its answer is dropped
      dep_fail(d, reason, SMF_CLASS_NONE, "deploy stopped during its smoke test");
    }
  }
}

static void dep_on_http_closed(void *data)
{
  struct deploy *d = data;
  free(d);
}

static void dep_free(struct step_ctx *ctx)
{
  struct deploy *d = ctx->kind_data;
  if (d == NULL) {
    return;
  }
  ctx->kind_data = NULL;
  free(d->prev_spec);
  free(d->prev_config);
  free(d->body);
  d->body = NULL;
  if (d->http) {
    aws_http_req_cleanup(&d->req);
    aws_http_close(d->http, dep_on_http_closed, d);
  } else if (d->invoking) {
    d->orphan = true;  // dep_on_invoked frees it
  } else {
    free(d);
  }
}

const struct step_kind step_kind_deploy = {
    .name = "deploy",
    .kind = DSL_KIND_DEPLOY,
    .intent = dep_intent,
    .start = dep_start,
    .resume = dep_resume,
    .cancel = dep_cancel,
    .free = dep_free,
};
