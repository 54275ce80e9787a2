// registry_db.c: the local target's registry operations and the endpoint
// records, kept in the state database (state/registry.c) when the target was
// given one — SPEC §4: "the registry lives in the state database". Without one
// the registry operations are those of registry.c (JSON files). The SQL is
// short and runs on the loop thread, as every state write does; callbacks are
// delivered from a zero-delay timer so that they never run inside the call.
//
// Hosting is local_hosting_ops (hosting.c) wrapped: a successful deploy is
// recorded in the endpoints table with what was deployed (so a deploy can
// restore the previous model), a delete removes the record.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/state.h"
#include "target/local/local.h"

struct reg_req {
  uv_timer_t timer;
  int rc;
  struct smf_error err;
  target_done_cb done_cb;
  target_package_cb pkg_cb;
  void *data;
  struct state_model_package *pkgs;
  size_t n;
};

static void reg_on_close(uv_handle_t *h)
{
  struct reg_req *r = h->data;
  state_model_packages_free(r->pkgs, r->n);
  free(r);
}

// metadata_json {"k": "v"} → kv pairs (strings borrowed from the json value).
static struct target_kv *reg_kvs(const json_t *o, size_t *n)
{
  *n = json_object_size(o);
  struct target_kv *kv = smf_xcalloc(*n + 1, sizeof(*kv));
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v)
  {
    kv[i].key = k;
    kv[i++].value = json_is_string(v) ? json_string_value(v) : "";
  }
  return kv;
}

static void reg_deliver(uv_timer_t *t)
{
  struct reg_req *r = t->data;
  const struct smf_error *e = r->rc ? &r->err : NULL;
  if (r->done_cb) {
    r->done_cb(r->data, r->rc, e);
  } else {
    struct target_model_package *v = smf_xcalloc(r->n + 1, sizeof(*v));
    json_t **meta = smf_xcalloc(r->n + 1, sizeof(*meta));
    struct target_kv **kvs = smf_xcalloc(r->n + 1, sizeof(*kvs));
    for (size_t i = 0; i < r->n; i++) {
      const struct state_model_package *p = &r->pkgs[i];
      meta[i] = p->metadata_json ? json_loads(p->metadata_json, 0, NULL) : NULL;
      size_t n_meta = 0;
      kvs[i] = reg_kvs(meta[i], &n_meta);
      v[i] = (struct target_model_package){.group = p->group,
                                           .version = p->version,
                                           .arn = p->arn,
                                           .approval = p->approval,
                                           .model_data = p->model_data,
                                           .image_uri = p->image_uri,
                                           .description = p->description,
                                           .metrics_uri = p->metrics_uri,
                                           .metadata = kvs[i],
                                           .n_metadata = n_meta};
    }
    r->pkg_cb(r->data, r->rc, r->rc ? NULL : v, r->rc ? 0 : r->n, e);
    for (size_t i = 0; i < r->n; i++) {
      json_decref(meta[i]);
      free(kvs[i]);
    }
    free(kvs);
    free(meta);
    free(v);
  }
  uv_close((uv_handle_t *)&r->timer, reg_on_close);
}

static int reg_queue(struct target *t, struct reg_req *r, struct smf_error *err)
{
  (void)err;
  uv_timer_init(t->loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, reg_deliver, 0, 0);
  return 0;
}

static int reg_create_group(struct target *t, const char *group, const char *description,
                            target_done_cb cb, void *data, struct smf_error *err)
{
  if (t->state == NULL) {
    return local_registry_ops.create_group(t, group, description, cb, data, err);
  }
  struct reg_req *r = smf_xcalloc(1, sizeof(*r));
  r->done_cb = cb;
  r->data = data;
  r->rc = state_registry_group_put(t->state, group, description, &r->err);
  return reg_queue(t, r, err);
}

static char *reg_metadata_json(const struct target_model_package *pkg)
{
  json_t *o = json_object();
  for (size_t i = 0; i < pkg->n_metadata; i++) {
    json_object_set_new(o, pkg->metadata[i].key, json_string(pkg->metadata[i].value));
  }
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static int reg_create_version(struct target *t, const struct target_model_package *pkg,
                              target_package_cb cb, void *data, struct smf_error *err)
{
  if (t->state == NULL) {
    return local_registry_ops.create_version(t, pkg, cb, data, err);
  }
  char *meta = reg_metadata_json(pkg);
  char *prefix =
      smf_xasprintf("arn:aws:sagemaker:%s:000000000000:model-package/%s", t->region, pkg->group);
  struct state_model_package row = {.group = (char *)pkg->group,
                                    .approval = (char *)pkg->approval,
                                    .model_data = (char *)pkg->model_data,
                                    .image_uri = (char *)pkg->image_uri,
                                    .description = (char *)pkg->description,
                                    .metrics_uri = (char *)pkg->metrics_uri,
                                    .metadata_json = meta};
  struct reg_req *r = smf_xcalloc(1, sizeof(*r));
  r->pkg_cb = cb;
  r->data = data;
  int version = 0;
  r->rc = state_registry_version_add(t->state, &row, prefix, &version, &r->err);
  if (r->rc == 0) {
    r->rc = state_flush(t->state, &r->err);  // the version number is handed out: keep it
  }
  if (r->rc == 0) {
    struct state_model_package *all = NULL;
    size_t n = 0;
    r->rc = state_registry_list(t->state, pkg->group, &all, &n, &r->err);
    for (size_t i = 0; r->rc == 0 && i < n; i++) {
      if (all[i].version == version) {
        r->pkgs = smf_xcalloc(1, sizeof(*r->pkgs));
        r->pkgs[0] = all[i];
        memset(&all[i], 0, sizeof(all[i]));
        r->n = 1;
      }
    }
    state_model_packages_free(all, n);
  }
  free(meta);
  free(prefix);
  return reg_queue(t, r, err);
}

static int reg_list(struct target *t, const char *group, target_package_cb cb, void *data,
                    struct smf_error *err)
{
  if (t->state == NULL) {
    return local_registry_ops.list(t, group, cb, data, err);
  }
  struct reg_req *r = smf_xcalloc(1, sizeof(*r));
  r->pkg_cb = cb;
  r->data = data;
  r->rc = state_registry_list(t->state, group, &r->pkgs, &r->n, &r->err);
  return reg_queue(t, r, err);
}

static int reg_update_approval(struct target *t, const char *group, int version,
                               const char *approval, target_done_cb cb, void *data,
                               struct smf_error *err)
{
  if (t->state == NULL) {
    return local_registry_ops.update_approval(t, group, version, approval, cb, data, err);
  }
  struct reg_req *r = smf_xcalloc(1, sizeof(*r));
  r->done_cb = cb;
  r->data = data;
  r->rc = state_registry_set_approval(t->state, group, version, approval, &r->err);
  return reg_queue(t, r, err);
}

const struct target_registry_ops local_registry_db_ops = {
    .create_group = reg_create_group,
    .create_version = reg_create_version,
    .list = reg_list,
    .update_approval = reg_update_approval,
};

// ---------------------------------------------------------------------------
// Hosting with endpoint records.

struct ep_call {
  struct target *t;
  char *spec_json;
  char *model_data;
  char *endpoint;
  target_endpoint_cb ep_cb;
  target_done_cb done_cb;
  void *data;
};

static void ep_call_free(struct ep_call *c)
{
  free(c->spec_json);
  free(c->model_data);
  free(c->endpoint);
  free(c);
}

static json_t *ep_strv(const char *const *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(a, json_string(v[i]));
  }
  return a;
}

static char *ep_spec_json(const struct target_endpoint_spec *spec)
{
  json_t *o = json_object();
  const char *keys[] = {"model_data", "image_uri",  "entry_point",
                        "source_dir", "model_name", "instance_type"};
  const char *vals[] = {spec->model_data, spec->image_uri,  spec->entry_point,
                        spec->source_dir, spec->model_name, spec->instance_type};
  for (size_t i = 0; i < SMF_ARRAY_LEN(keys); i++) {
    if (vals[i]) {
      json_object_set_new(o, keys[i], json_string(vals[i]));
    }
  }
  if (spec->n_serve_command) {
    json_object_set_new(o, "serve", ep_strv(spec->serve_command, spec->n_serve_command));
  }
  json_t *env = json_object();
  for (size_t i = 0; i < spec->n_environment; i++) {
    json_object_set_new(env, spec->environment[i].key, json_string(spec->environment[i].value));
  }
  json_object_set_new(o, "environment", env);
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static void ep_on_deployed(void *data, int status, const struct target_endpoint_info *ep,
                           const struct smf_error *err)
{
  struct ep_call *c = data;
  struct smf_error lerr = SMF_ERROR_INIT;
  if (status == 0 && c->t->state) {
    struct state_endpoint row = {.name = (char *)ep->endpoint,
                                 .url = (char *)ep->url,
                                 .pid = ep->pid,
                                 .start_time = (int64_t)local_proc_start_time(ep->pid),
                                 .model_name = (char *)ep->model_name,
                                 .model_data = c->model_data,
                                 .config_name = (char *)ep->config_name,
                                 .spec_json = c->spec_json};
    if (state_endpoint_put(c->t->state, &row, &lerr) != 0 || state_flush(c->t->state, &lerr) != 0) {
      status = lerr.code;
      err = &lerr;
    }
  }
  struct target_endpoint_info info = ep ? *ep : (struct target_endpoint_info){0};
  info.deployed_spec = c->spec_json;
  c->ep_cb(c->data, status, status == 0 ? &info : NULL, status == 0 ? NULL : err);
  ep_call_free(c);
}

static int ep_deploy(struct target *t, const struct target_endpoint_spec *spec,
                     target_endpoint_cb cb, void *data, struct smf_error *err)
{
  struct ep_call *c = smf_xcalloc(1, sizeof(*c));
  c->t = t;
  c->spec_json = ep_spec_json(spec);
  c->model_data = spec->model_data ? smf_xstrdup(spec->model_data) : NULL;
  c->ep_cb = cb;
  c->data = data;
  int rc = local_hosting_ops.deploy(t, spec, ep_on_deployed, c, err);
  if (rc != 0) {
    ep_call_free(c);
  }
  return rc;
}

static void ep_on_described(void *data, int status, const struct target_endpoint_info *ep,
                            const struct smf_error *err)
{
  struct ep_call *c = data;
  struct state_endpoint row = {0};
  struct target_endpoint_info info = ep ? *ep : (struct target_endpoint_info){0};
  if (status == 0 && c->t->state && state_endpoint_get(c->t->state, c->endpoint, &row, NULL) == 0) {
    info.deployed_spec = row.spec_json;
  }
  c->ep_cb(c->data, status, status == 0 ? &info : NULL, err);
  state_endpoint_clear(&row);
  ep_call_free(c);
}

static int ep_describe(struct target *t, const char *endpoint, target_endpoint_cb cb, void *data,
                       struct smf_error *err)
{
  struct ep_call *c = smf_xcalloc(1, sizeof(*c));
  c->t = t;
  c->endpoint = smf_xstrdup(endpoint);
  c->ep_cb = cb;
  c->data = data;
  int rc = local_hosting_ops.describe(t, endpoint, ep_on_described, c, err);
  if (rc != 0) {
    ep_call_free(c);
  }
  return rc;
}

static void ep_on_removed(void *data, int status, const struct smf_error *err)
{
  struct ep_call *c = data;
  struct smf_error lerr = SMF_ERROR_INIT;
  // The record goes also when the server was already gone (SMF_ENOENT).
  if ((status == 0 || status == SMF_ENOENT) && c->t->state) {
    if (state_endpoint_delete(c->t->state, c->endpoint, &lerr) != 0 ||
        state_flush(c->t->state, &lerr) != 0) {
      status = lerr.code;
      err = &lerr;
    }
  }
  c->done_cb(c->data, status, status == 0 ? NULL : err);
  ep_call_free(c);
}

static int ep_remove(struct target *t, const char *endpoint, target_done_cb cb, void *data,
                     struct smf_error *err)
{
  struct ep_call *c = smf_xcalloc(1, sizeof(*c));
  c->t = t;
  c->endpoint = smf_xstrdup(endpoint);
  c->done_cb = cb;
  c->data = data;
  int rc = local_hosting_ops.remove(t, endpoint, ep_on_removed, c, err);
  if (rc != 0) {
    ep_call_free(c);
  }
  return rc;
}

const struct target_hosting_ops local_hosting_recorded_ops = {
    .deploy = ep_deploy,
    .describe = ep_describe,
    .remove = ep_remove,
};
