// luaco.c: one hooks-file function as a coroutine on the event loop (luaco.h).
//
// The coroutine (lx_co, src/lua/async.c) runs in slices between loop callbacks.
// When it yields, this file does what it asked: smflow.sleep → a uv_timer;
// smflow.http.request → the asynchronous HTTP client (curl multi on the loop);
// smflow.aws.call → the AWS client (JSON protocol services, aws target only).
// Then it hands the answer back and resumes from a fresh timer callback, so a
// slice never runs inside a curl callback. Cancel stops the timer, cancels the
// request and drops the coroutine.
#include "steps/luaco.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/http.h"
#include "smflow/aws.h"
#include "target/target.h"

#define LUACO_HTTP_MAX_RESPONSE ((size_t)16 * 1024 * 1024)
#define LUACO_HTTP_DEFAULT_TIMEOUT_S 30.0

struct step_luaco {
  struct step_luaco_config cfg;  ///< strings below are copies
  char *step_id, *target, *region, *fn;
  struct lx *x;
  struct lx_co *co;
  uv_timer_t timer;       ///< sleeps, and every resume (always from a fresh callback)
  struct aws_http *http;  ///< smflow.http.request; made on first use
  struct aws_http_req req;
  bool req_active;
  struct aws_client *aws;  ///< smflow.aws.call; made on first use
  struct aws_creds_provider *creds;
  bool aws_active;
  bool reg_active;      ///< a registry listing is in flight (target_registry_list)
  struct smf_arena wa;  ///< the current wait's request and answer
  int cancel_reason;
  bool finished;
  int pending_closes;  ///< handles and clients still closing after close
  bool closed;
  struct dsl_node *result;   ///< in wa
  const char *reg_approval;  ///< of the registry listing in flight (in wa)
};

// A message formatted into the arena `a`.
__attribute__((format(printf, 2, 3))) static const char *luaco__msg(struct smf_arena *a,
                                                                    const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return smf_arena_strdup(a, buf);
}

// ---- completion ----

static void luaco__finish(struct step_luaco *l, int status, const struct smf_error *err,
                          const struct dsl_node *outputs)
{
  if (l->finished) {
    return;
  }
  l->finished = true;
  uv_timer_stop(&l->timer);
  lx_co_free(l->co);
  l->co = NULL;
  if (!l->closed) {
    l->cfg.done(l->cfg.data, status, err, outputs);
  }
}

static void luaco__finish_cancelled(struct step_luaco *l)
{
  struct smf_error err = SMF_ERROR_INIT;
  SMF_ERR_SET(&err, l->cancel_reason, "%s",
              l->cancel_reason == SMF_ETIMEOUT ? "timed out" : "interrupted");
  luaco__finish(l, l->cancel_reason, &err, NULL);
}

static void luaco__resume_cb(uv_timer_t *t);
static void luaco__release(struct step_luaco *l);

static void luaco__resume_soon(struct step_luaco *l)
{
  uv_timer_start(&l->timer, luaco__resume_cb, 0, 0);
}

// ---- http ----

// A string node holding `len` bytes as they are (NUL bytes included: a body may
// be binary; the Lua string gets every byte).
static struct dsl_node *luaco__bytes(struct smf_arena *a, const char *data, size_t len)
{
  struct dsl_node *n = dsl_node_new(a, DSL_STR);
  char *p = smf_arena_alloc(a, len + 1);
  if (len > 0) {
    memcpy(p, data, len);
  }
  p[len] = '\0';
  n->u.str.s = p;
  n->u.str.len = len;
  return n;
}

static void luaco__http_done(struct aws_http_req *req, void *data)
{
  struct step_luaco *l = data;
  l->req_active = false;
  if (l->closed) {
    return;
  }
  if (l->cancel_reason != 0) {
    luaco__finish_cancelled(l);
    return;
  }
  struct smf_arena *a = &l->wa;
  if (req->result != 0) {
    const char *why = req->curl_error[0]    ? req->curl_error
                      : req->local_error[0] ? req->local_error
                                            : smf_strerror(req->result);
    lx_co_raise(l->co, NULL,
                luaco__msg(a, "smflow.http.request: %s %s: %s", req->method, req->url, why));
  } else {
    struct dsl_node *res = dsl_node_new(a, DSL_MAP);
    dsl_map_set(a, res, "status", dsl_node_int(a, req->status));
    struct dsl_node *h = dsl_node_new(a, DSL_MAP);
    for (size_t i = 0; i < req->nheaders; i++) {
      char *name = smf_arena_strdup(a, req->headers[i].name);
      for (char *p = name; *p; p++) {
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
      }
      const char *v = req->headers[i].value ? req->headers[i].value : "";
      dsl_map_set(a, h, name, dsl_node_str(a, v, strlen(v)));
    }
    dsl_map_set(a, res, "headers", h);
    dsl_map_set(a, res, "body", luaco__bytes(a, req->body.data, req->body.len));
    lx_co_answer(l->co, res);
  }
  luaco__resume_soon(l);
}

// Start the request of smflow.http.request; a message (in l->wa) when it cannot start.
static const char *luaco__http_start(struct step_luaco *l, const struct dsl_node *r)
{
  struct smf_arena *a = &l->wa;
  struct smf_error err = SMF_ERROR_INIT;
  if (l->http == NULL && aws_http_new(l->cfg.loop, &l->http, &err) != 0) {
    return luaco__msg(a, "smflow.http.request: %s", err.message);
  }
  const char *url = dsl_map_str(r, "url", "");
  const struct dsl_node *body = dsl_map_get(r, "body");
  if (body != NULL && body->type != DSL_STR) {
    return "smflow.http.request: 'body' must be a string (use smflow.json.encode)";
  }
  const char *method = dsl_map_str(r, "method", body ? "POST" : "GET");
  const struct dsl_node *to = dsl_map_get(r, "timeout");
  double timeout = to && to->type == DSL_INT     ? (double)to->u.i
                   : to && to->type == DSL_FLOAT ? to->u.f
                                                 : LUACO_HTTP_DEFAULT_TIMEOUT_S;
  if (!smf_str_startswith(url, "http://") && !smf_str_startswith(url, "https://")) {
    return luaco__msg(a, "smflow.http.request: '%s' is not an http(s) URL", url);
  }
  const struct dsl_node *h = dsl_map_get(r, "headers");
  if (h != NULL && h->type != DSL_MAP) {
    return "smflow.http.request: 'headers' must be a table of strings";
  }
  for (size_t i = 0; h && i < h->u.map.n; i++) {
    if (h->u.map.pairs[i].value->type != DSL_STR) {
      return luaco__msg(a, "smflow.http.request: header '%s' must be a string",
                        h->u.map.pairs[i].key);
    }
  }
  aws_http_req_reset(&l->req);
  aws_http_req_set(&l->req, method, url);
  for (size_t i = 0; h && i < h->u.map.n; i++) {
    aws_http_req_header(&l->req, h->u.map.pairs[i].key, h->u.map.pairs[i].value->u.str.s);
  }
  if (body != NULL) {
    aws_http_req_body_mem(&l->req, body->u.str.s, body->u.str.len);  // lives in l->wa
  }
  aws_http_req_max_response(&l->req, LUACO_HTTP_MAX_RESPONSE);
  aws_http_req_timeouts(&l->req, 10000, (long)(timeout * 1000));
  if (aws_http_req_start(l->http, &l->req, luaco__http_done, l, &err) != 0) {
    return luaco__msg(a, "smflow.http.request: %s", err.message);
  }
  l->req_active = true;
  return NULL;
}

// ---- aws ----

static void luaco__aws_done(json_t *result, const struct smf_error *err, void *data)
{
  struct step_luaco *l = data;
  l->aws_active = false;
  if (l->closed) {
    return;
  }
  if (l->cancel_reason != 0) {
    luaco__finish_cancelled(l);
    return;
  }
  struct smf_arena *a = &l->wa;
  if (result != NULL) {
    lx_co_answer(l->co, dsl_node_from_jansson(a, result));
  } else {
    struct dsl_node *e = dsl_node_new(a, DSL_MAP);
    const char *code = err->aws_code[0] ? err->aws_code : smf_errname(err->code);
    dsl_map_set(a, e, "code", dsl_node_str(a, code, strlen(code)));
    dsl_map_set(a, e, "message", dsl_node_str(a, err->message, strlen(err->message)));
    dsl_map_set(a, e, "request_id", dsl_node_str(a, err->request_id, strlen(err->request_id)));
    dsl_map_set(a, e, "status", dsl_node_int(a, err->http_status));
    lx_co_raise(l->co, e, NULL);
  }
  luaco__resume_soon(l);
}

static int luaco__aws_client(struct step_luaco *l, struct smf_error *err)
{
  char region[64] = "";
  if (l->region != NULL) {
    snprintf(region, sizeof(region), "%s", l->region);
  } else {
    struct aws_shared_config *sc = NULL;
    int rc = aws_shared_config_load(NULL, &sc, err);
    rc = rc ? rc : aws_region_resolve(sc, region, sizeof(region), err);
    aws_shared_config_free(sc);
    if (rc != 0) {
      return rc;
    }
  }
  struct aws_client_config cfg = {.region = region};
  int rc = aws_client_new(l->cfg.loop, &cfg, &l->aws, err);
  if (rc == 0) {
    rc = aws_creds_provider_default(aws_client_http(l->aws), NULL, NULL, &l->creds, NULL, 0, err);
    if (rc == 0) {
      aws_client_set_creds_provider(l->aws, l->creds);
    }
  }
  return rc;
}

static const char *luaco__aws_start(struct step_luaco *l, const struct dsl_node *r)
{
  struct smf_arena *a = &l->wa;
  const char *target = l->target ? l->target : "local";
  if (strcmp(target, "aws") != 0) {
    return luaco__msg(a, "smflow.aws.call needs the aws target (this run's target is '%s')",
                      target);
  }
  const char *svc = dsl_map_str(r, "service", "");
  const char *op = dsl_map_str(r, "operation", "");
  bool sm = strcmp(svc, "sagemaker") == 0, logs = strcmp(svc, "logs") == 0;
  if (!sm && !logs) {
    return luaco__msg(a, "smflow.aws.call: service '%s' is not supported (sagemaker, logs)", svc);
  }
  struct smf_error err = SMF_ERROR_INIT;
  if (l->aws == NULL && luaco__aws_client(l, &err) != 0) {
    return luaco__msg(a, "smflow.aws.call: %s", err.message);
  }
  const struct dsl_node *params = dsl_map_get(r, "params");
  char *text = params ? dsl_node_to_json(params) : smf_xstrdup("{}");
  json_t *body = json_loads(text, 0, NULL);
  free(text);
  int rc = aws_json_call(l->aws, sm ? AWS_SVC_SAGEMAKER : AWS_SVC_LOGS, op, body, NULL,
                         luaco__aws_done, l, &err);
  json_decref(body);
  if (rc != 0) {
    return luaco__msg(a, "smflow.aws.call: %s", err.message);
  }
  l->aws_active = true;
  return NULL;
}

// ---- registry ----

static struct dsl_node *luaco__s(struct smf_arena *a, const char *s)
{
  return s ? dsl_node_str(a, s, strlen(s)) : dsl_node_new(a, DSL_NULL);
}

// The newest version with the wanted approval, as a table; NULL when none.
static struct dsl_node *luaco__package(struct smf_arena *a, const struct target_model_package *pkgs,
                                       size_t n, const char *approval)
{
  const struct target_model_package *best = NULL;
  for (size_t i = 0; i < n; i++) {
    bool ok = strcmp(approval, "any") == 0 ||
              (pkgs[i].approval && strcmp(pkgs[i].approval, approval) == 0);
    if (ok && (best == NULL || pkgs[i].version > best->version)) {
      best = &pkgs[i];
    }
  }
  if (best == NULL) {
    return NULL;
  }
  struct dsl_node *t = dsl_node_new(a, DSL_MAP);
  dsl_map_set(a, t, "group", luaco__s(a, best->group));
  dsl_map_set(a, t, "version", dsl_node_int(a, best->version));
  dsl_map_set(a, t, "arn", luaco__s(a, best->arn));
  dsl_map_set(a, t, "approval", luaco__s(a, best->approval));
  dsl_map_set(a, t, "model_data", luaco__s(a, best->model_data));
  dsl_map_set(a, t, "image_uri", luaco__s(a, best->image_uri));
  dsl_map_set(a, t, "description", luaco__s(a, best->description));
  dsl_map_set(a, t, "metrics_uri", luaco__s(a, best->metrics_uri));
  struct dsl_node *md = dsl_node_new(a, DSL_MAP);
  for (size_t i = 0; i < best->n_metadata; i++) {
    dsl_map_set(a, md, best->metadata[i].key, luaco__s(a, best->metadata[i].value));
  }
  dsl_map_set(a, t, "metadata", md);
  return t;
}

static void luaco__reg_done(void *data, int status, const struct target_model_package *pkgs,
                            size_t n, const struct smf_error *err)
{
  struct step_luaco *l = data;
  l->reg_active = false;
  if (l->closed) {
    luaco__release(l);  // close() counted this listing
    return;
  }
  if (l->cancel_reason != 0) {
    luaco__finish_cancelled(l);
    return;
  }
  struct smf_arena *a = &l->wa;
  if (status == 0 || status == SMF_ENOENT) {  // no such group: no approved model either
    lx_co_answer(l->co, status == 0 ? luaco__package(a, pkgs, n, l->reg_approval) : NULL);
  } else {
    lx_co_raise(l->co, NULL,
                luaco__msg(a, "smflow.registry.latest: %s", err ? err->message : "failed"));
  }
  luaco__resume_soon(l);
}

static const char *luaco__reg_start(struct step_luaco *l, const struct dsl_node *r)
{
  struct smf_arena *a = &l->wa;
  if (l->cfg.target == NULL) {
    return "smflow.registry.latest: this run has no target";
  }
  l->reg_approval = dsl_map_str(r, "approval", "Approved");  // lives in l->wa
  struct smf_error err = SMF_ERROR_INIT;
  if (target_registry_list(l->cfg.target, dsl_map_str(r, "group", ""), luaco__reg_done, l, &err) !=
      0) {
    return luaco__msg(a, "smflow.registry.latest: %s", err.message);
  }
  l->reg_active = true;
  return NULL;
}

// ---- the coroutine ----

static void luaco__sleep_cb(uv_timer_t *t)
{
  struct step_luaco *l = t->data;
  lx_co_answer(l->co, NULL);
  luaco__resume_cb(t);
}

static void luaco__dispatch(struct step_luaco *l, const struct lx_wait *w)
{
  const char *problem = NULL;
  switch (w->kind) {
  case LX_WAIT_SLEEP:
    uv_timer_start(&l->timer, luaco__sleep_cb, (uint64_t)(w->seconds * 1000.0 + 0.5), 0);
    return;
  case LX_WAIT_HTTP:
    problem = luaco__http_start(l, w->request);
    break;
  case LX_WAIT_AWS:
    problem = luaco__aws_start(l, w->request);
    break;
  case LX_WAIT_REGISTRY:
    problem = luaco__reg_start(l, w->request);
    break;
  }
  if (problem != NULL) {
    // Raised where the step called the function (pcall can catch it).
    lx_co_raise(l->co, NULL, problem);
    luaco__resume_soon(l);
  }
}

static void luaco__resume_cb(uv_timer_t *t)
{
  struct step_luaco *l = t->data;
  if (l->finished) {
    return;
  }
  if (l->cancel_reason != 0) {
    luaco__finish_cancelled(l);
    return;
  }
  struct smf_arena next = SMF_ARENA_INIT;
  struct lx_wait w;
  struct smf_error err = SMF_ERROR_INIT;
  lx_set_current_step(l->x, l->step_id);
  int rc = lx_co_resume(l->co, &next, &w, &err);
  lx_set_current_step(l->x, NULL);
  smf_arena_free(&l->wa);  // the answer just consumed
  l->wa = next;
  if (rc == LX_CO_YIELDED) {
    luaco__dispatch(l, &w);
    return;
  }
  if (rc != 0) {
    err.klass = SMF_CLASS_HOOK;
    luaco__finish(l, rc, &err, NULL);
    return;
  }
  struct dsl_node *out = lx_co_result(l->co);
  if (out != NULL && out->type != DSL_MAP) {
    SMF_ERR_SET(&err, SMF_EINVAL, "function '%s' must return a table (or nil), not a %s", l->fn,
                dsl_type_name(out->type));
    err.klass = SMF_CLASS_HOOK;
    luaco__finish(l, SMF_EINVAL, &err, NULL);
    return;
  }
  luaco__finish(l, 0, NULL, out);
}

int step_luaco_start(const struct step_luaco_config *cfg, const char *fn,
                     const struct dsl_node *const *args, size_t nargs, struct step_luaco **out,
                     struct smf_error *err)
{
  struct step_luaco *l = smf_xcalloc(1, sizeof(*l));
  l->cfg = *cfg;
  l->x = cfg->x;
  l->step_id = cfg->step_id ? smf_xstrdup(cfg->step_id) : NULL;
  l->target = cfg->target_name ? smf_xstrdup(cfg->target_name) : NULL;
  l->region = cfg->region ? smf_xstrdup(cfg->region) : NULL;
  l->fn = smf_xstrdup(fn);
  l->wa = (struct smf_arena)SMF_ARENA_INIT;
  int rc = lx_co_new(l->x, fn, args, nargs, &l->co, err);
  if (rc != 0) {
    if (err != NULL) {
      err->klass = SMF_CLASS_HOOK;
    }
    free(l->step_id);
    free(l->target);
    free(l->region);
    free(l->fn);
    free(l);
    return rc;
  }
  uint64_t total = cfg->total_instructions;
  const char *env = getenv("SMFLOW_LUA_STEP_INSTRUCTIONS");
  if (total == 0 && env != NULL) {
    total = strtoull(env, NULL, 10);
  }
  lx_co_set_limits(l->co, 0, total);
  aws_http_req_init(&l->req);
  uv_timer_init(cfg->loop, &l->timer);
  l->timer.data = l;
  luaco__resume_soon(l);
  *out = l;
  return 0;
}

void step_luaco_cancel(struct step_luaco *l, int reason)
{
  if (l == NULL || l->finished || l->cancel_reason != 0) {
    return;
  }
  l->cancel_reason = reason;
  uv_timer_stop(&l->timer);
  if (l->req_active) {
    aws_http_req_cancel(&l->req);  // luaco__http_done finishes
  } else if (l->aws_active) {
    // The JSON calls have no handle of their own: closing the client cancels them.
    aws_creds_provider_close(l->creds);
    l->creds = NULL;
    aws_client_close(l->aws, NULL, NULL);
    l->aws = NULL;
  } else {
    luaco__resume_soon(l);  // luaco__resume_cb finishes
  }
}

static void luaco__release(struct step_luaco *l)
{
  if (--l->pending_closes > 0) {
    return;
  }
  aws_http_req_cleanup(&l->req);
  smf_arena_free(&l->wa);
  free(l->step_id);
  free(l->target);
  free(l->region);
  free(l->fn);
  free(l);
}

static void luaco__timer_closed(uv_handle_t *h)
{
  luaco__release(h->data);
}

static void luaco__client_closed(void *data)
{
  luaco__release(data);
}

void step_luaco_close(struct step_luaco *l)
{
  if (l == NULL) {
    return;
  }
  l->closed = true;
  l->finished = true;
  lx_co_free(l->co);
  l->co = NULL;
  l->pending_closes = 1;
  if (l->reg_active) {
    l->pending_closes++;  // the listing cannot be cancelled: its callback releases
  }
  if (l->http != NULL) {
    l->pending_closes++;
    aws_http_close(l->http, luaco__client_closed, l);
    l->http = NULL;
  }
  if (l->aws != NULL) {
    aws_creds_provider_close(l->creds);
    l->creds = NULL;
    l->pending_closes++;
    aws_client_close(l->aws, luaco__client_closed, l);
    l->aws = NULL;
  }
  uv_close((uv_handle_t *)&l->timer, luaco__timer_closed);
}
