// endpoints.c: what `smflow endpoints` and `smflow invoke` do with an aws
// endpoint, and the record a deploy leaves in the state database.
//
// remove: DescribeEndpoint (its config), DescribeEndpointConfig (its models),
// DeleteEndpoint, DeleteEndpointConfig, DeleteModel per model — as the SDK's
// Predictor.delete_endpoint + delete_model do. "Not found" for the config or a
// model is fine (deleted by hand); for the endpoint it is SMF_ENOENT. The
// state record goes with it.
//
// invoke: InvokeEndpoint through the SageMaker Runtime client.
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smflow/log.h"
#include "smflow/state.h"
#include "smflow/util.h"
#include "target/aws/awst.h"

void awst_endpoint_record(struct target *t, const char *endpoint, const char *config_name,
                          const char *model_name, const char *model_data)
{
  if (t->state == NULL) {
    return;
  }
  json_t *o = json_pack("{s:s, s:s}", "target", "aws", "region", t->region ? t->region : "");
  char *spec = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  char *url = smf_xasprintf("https://runtime.sagemaker.%s.amazonaws.com/endpoints/%s/invocations",
                            t->region ? t->region : "us-east-1", endpoint);
  struct state_endpoint row = {.name = (char *)endpoint,
                               .url = url,
                               .model_name = (char *)model_name,
                               .model_data = (char *)model_data,
                               .config_name = (char *)config_name,
                               .spec_json = spec};
  struct smf_error err = SMF_ERROR_INIT;
  if (state_endpoint_put(t->state, &row, &err) != 0 || state_flush(t->state, &err) != 0) {
    smf_log(SMF_LOG_WARN, "endpoint %s: cannot record it: %s", endpoint, err.message);
  }
  free(url);
  free(spec);
}

// ---- remove -------------------------------------------------------------------------

enum rm_phase { RM_DESCRIBE, RM_CONFIG, RM_ENDPOINT, RM_DEL_CONFIG, RM_DEL_MODEL };

struct rm {
  struct target *t;
  enum rm_phase phase;
  char *endpoint;
  char *config;
  json_t *models;  ///< model names still to delete
  target_done_cb cb;
  void *data;
  bool inflight, closed;
  struct awst_live live;
};

static void rm_release(struct rm *r)
{
  awst_live_remove(r->t, &r->live);
  free(r->endpoint);
  free(r->config);
  json_decref(r->models);
  free(r);
}

static void rm_quiesce(struct awst_live *l)
{
  struct rm *r = (struct rm *)((char *)l - offsetof(struct rm, live));
  r->closed = true;  // released when its call comes back
}

static void rm_finish(struct rm *r, int status, const struct smf_error *err)
{
  if (!r->closed) {
    if (status == 0 && r->t->state) {
      struct smf_error e = SMF_ERROR_INIT;
      if (state_endpoint_delete(r->t->state, r->endpoint, &e) != 0 ||
          state_flush(r->t->state, &e) != 0) {
        smf_log(SMF_LOG_WARN, "endpoint %s: cannot drop its record: %s", r->endpoint, e.message);
      }
    }
    r->cb(r->data, status, err);
  }
  rm_release(r);
}

static bool rm_missing(const struct smf_error *err)
{
  return strcasestr(err->message, "could not find") || strcasestr(err->message, "not found") ||
         strcasestr(err->message, "does not exist");
}

static void rm_next(struct rm *r);

static void rm_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct rm *r = data;
  r->inflight = false;
  if (r->closed) {
    rm_release(r);
    return;
  }
  if (res == NULL && r->phase == RM_DESCRIBE) {
    struct smf_error e = *err;
    e.code = rm_missing(err) ? SMF_ENOENT : err->code;
    rm_finish(r, e.code, &e);
    return;
  }
  if (res == NULL && (r->phase == RM_ENDPOINT || !rm_missing(err))) {
    rm_finish(r, err->code ? err->code : SMF_EAWS, err);
    return;
  }
  if (res && r->phase == RM_DESCRIBE) {
    const char *c = json_string_value(json_object_get(res, "EndpointConfigName"));
    r->config = c ? smf_xstrdup(c) : NULL;
  } else if (res && r->phase == RM_CONFIG) {
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(res, "ProductionVariants"), i, v)
    {
      json_t *m = json_object_get(v, "ModelName");
      if (json_is_string(m)) {
        json_array_append(r->models, m);
      }
    }
  }
  rm_next(r);
}

static void rm_next(struct rm *r)
{
  const char *op = NULL;
  json_t *b = NULL;
  if (r->phase == RM_DESCRIBE) {
    r->phase = r->config ? RM_CONFIG : RM_ENDPOINT;
  } else if (r->phase == RM_CONFIG) {
    r->phase = RM_ENDPOINT;
  } else if (r->phase == RM_ENDPOINT) {
    r->phase = r->config ? RM_DEL_CONFIG : RM_DEL_MODEL;
  } else if (r->phase == RM_DEL_CONFIG) {
    r->phase = RM_DEL_MODEL;
  } else {
    json_array_remove(r->models, 0);
  }
  if (r->phase == RM_CONFIG) {
    op = "DescribeEndpointConfig";
    b = json_pack("{s:s}", "EndpointConfigName", r->config);
  } else if (r->phase == RM_ENDPOINT) {
    op = "DeleteEndpoint";
    b = json_pack("{s:s}", "EndpointName", r->endpoint);
  } else if (r->phase == RM_DEL_CONFIG) {
    op = "DeleteEndpointConfig";
    b = json_pack("{s:s}", "EndpointConfigName", r->config);
  } else if (json_array_size(r->models) > 0) {
    op = "DeleteModel";
    b = json_pack("{s:O}", "ModelName", json_array_get(r->models, 0));
  }
  if (op == NULL) {
    rm_finish(r, 0, NULL);
    return;
  }
  struct smf_error err = SMF_ERROR_INIT;
  int rc = aws_sagemaker_call(awst_of(r->t)->client, op, b, NULL, rm_cb, r, &err);
  json_decref(b);
  if (rc != 0) {
    rm_finish(r, rc, &err);
  } else {
    r->inflight = true;
  }
}

int awst_endpoint_remove(struct target *t, const char *endpoint, target_done_cb cb, void *data,
                         struct smf_error *err)
{
  struct rm *r = smf_xcalloc(1, sizeof(*r));
  r->t = t;
  r->endpoint = smf_xstrdup(endpoint);
  r->models = json_array();
  r->cb = cb;
  r->data = data;
  awst_live_add(t, &r->live, rm_quiesce);
  json_t *b = json_pack("{s:s}", "EndpointName", endpoint);
  int rc = aws_sagemaker_call(awst_of(t)->client, "DescribeEndpoint", b, NULL, rm_cb, r, err);
  json_decref(b);
  if (rc != 0) {
    rm_release(r);
    return rc;
  }
  r->inflight = true;
  return 0;
}

// ---- invoke -------------------------------------------------------------------------

struct inv {
  target_invoke_cb cb;
  void *data;
};

static void inv_cb(struct aws_result *res, void *data)
{
  struct inv *v = data;
  struct target_invoke_result out = {.http_status = res->status,
                                     .body = res->body ? res->body : "",
                                     .len = res->body ? res->body_len : 0,
                                     .content_type = aws_result_header(res, "Content-Type")};
  v->cb(v->data, res->code, &out, res->code ? &res->err : NULL);
  free(v);
}

int awst_endpoint_invoke(struct target *t, const struct target_invoke *req, target_invoke_cb cb,
                         void *data, struct smf_error *err)
{
  struct inv *v = smf_xcalloc(1, sizeof(*v));
  v->cb = cb;
  v->data = data;
  int rc = aws_runtime_invoke(awst_of(t)->client, req->endpoint, req->content_type, req->accept,
                              req->body, req->len, inv_cb, v, err);
  if (rc != 0) {
    free(v);
  }
  return rc;
}
