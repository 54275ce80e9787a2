// registry.c: the local model registry: model package groups and their
// versions, one JSON document per group in STATE_DIR/registry/GROUP.json,
// written atomically. Operations run on the thread pool, serialised by one
// mutex so that concurrent registrations get distinct version numbers.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/local/local.h"

static uv_once_t registry_once = UV_ONCE_INIT;
static uv_mutex_t registry_mutex;

static void registry_init_mutex(void)
{
  uv_mutex_init(&registry_mutex);
}

enum reg_op { REG_CREATE_GROUP, REG_CREATE_VERSION, REG_LIST, REG_APPROVE };

struct reg_req {
  uv_work_t work;
  struct target *t;
  enum reg_op op;
  char *group, *description, *approval;
  int version;
  json_t *pkg;       // REG_CREATE_VERSION: the new version's fields
  json_t *versions;  // the answer (an array of version objects)
  target_done_cb done_cb;
  target_package_cb pkg_cb;
  void *data;
  int rc;
  struct smf_error err;
};

static bool group_name_ok(const char *g)
{
  if (g == NULL || *g == '\0' || strlen(g) > 63) {
    return false;
  }
  for (const char *p = g; *p; p++) {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '-')) {
      return false;
    }
  }
  return true;
}

static bool approval_ok(const char *a)
{
  return a && (strcmp(a, "Approved") == 0 || strcmp(a, "PendingManualApproval") == 0 ||
               strcmp(a, "Rejected") == 0);
}

static char *group_path(const struct target *t, const char *group)
{
  return smf_xasprintf("%s/registry/%s.json", t->state_dir, group);
}

static int reg_load(struct reg_req *r, char *path, json_t **doc)
{
  int rc = local_json_read(path, doc, &r->err);
  if (rc == SMF_ENOENT) {
    smf_error_clear(&r->err);
    rc = SMF_ERR_SET(&r->err, SMF_ENOENT, "model package group '%s' does not exist", r->group);
    r->err.klass = SMF_CLASS_CLIENT;
  }
  return rc;
}

static int reg_create_group(struct reg_req *r, char *path)
{
  json_t *doc = NULL;
  if (local_json_read(path, &doc, NULL) == 0) {
    json_decref(doc);
    return 0;  // already exists: fine
  }
  char *dir = smf_xasprintf("%s/registry", r->t->state_dir);
  char *arn = smf_xasprintf("arn:aws:sagemaker:%s:000000000000:model-package-group/%s",
                            r->t->region, r->group);
  int rc = smf_mkdir_p(dir, &r->err);
  doc = json_pack("{s:s, s:s, s:s, s:I, s:[]}", "group", r->group, "arn", arn, "description",
                  r->description ? r->description : "", "created_ms", (json_int_t)smf_time_now_ms(),
                  "versions");
  if (rc == 0) {
    rc = local_json_write(path, doc, &r->err);
  }
  json_decref(doc);
  free(dir);
  free(arn);
  return rc;
}

static int reg_create_version(struct reg_req *r, char *path)
{
  json_t *doc = NULL;
  int rc = reg_load(r, path, &doc);
  if (rc != 0) {
    return rc;
  }
  json_t *versions = json_object_get(doc, "versions");
  int version = (int)json_array_size(versions) + 1;
  char *arn = smf_xasprintf("arn:aws:sagemaker:%s:000000000000:model-package/%s/%d", r->t->region,
                            r->group, version);
  json_object_set_new(r->pkg, "version", json_integer(version));
  json_object_set_new(r->pkg, "arn", json_string(arn));
  json_object_set_new(r->pkg, "created_ms", json_integer(smf_time_now_ms()));
  json_array_append(versions, r->pkg);
  rc = local_json_write(path, doc, &r->err);
  if (rc == 0) {
    r->versions = json_pack("[O]", r->pkg);
  }
  json_decref(doc);
  free(arn);
  return rc;
}

static int reg_approve(struct reg_req *r, char *path)
{
  json_t *doc = NULL;
  int rc = reg_load(r, path, &doc);
  if (rc != 0) {
    return rc;
  }
  json_t *v = json_array_get(json_object_get(doc, "versions"), (size_t)(r->version - 1));
  if (v == NULL || r->version < 1) {
    rc = SMF_ERR_SET(&r->err, SMF_ENOENT, "model package group '%s' has no version %d", r->group,
                     r->version);
  } else {
    json_object_set_new(v, "approval", json_string(r->approval));
    rc = local_json_write(path, doc, &r->err);
  }
  json_decref(doc);
  return rc;
}

static void reg_work(uv_work_t *w)
{
  struct reg_req *r = w->data;
  char *path = group_path(r->t, r->group);
  json_t *doc = NULL;
  uv_mutex_lock(&registry_mutex);
  switch (r->op) {
  case REG_CREATE_GROUP:
    r->rc = reg_create_group(r, path);
    break;
  case REG_CREATE_VERSION:
    r->rc = reg_create_version(r, path);
    break;
  case REG_APPROVE:
    r->rc = reg_approve(r, path);
    break;
  case REG_LIST:
    r->rc = reg_load(r, path, &doc);
    if (r->rc == 0) {
      r->versions = json_incref(json_object_get(doc, "versions"));
    }
    json_decref(doc);
    break;
  }
  uv_mutex_unlock(&registry_mutex);
  free(path);
}

static const char *js(const json_t *o, const char *key)
{
  return json_string_value(json_object_get(o, key));
}

// The versions as target_model_package structs (borrowing from the JSON).
static void reg_answer(struct reg_req *r)
{
  size_t n = json_array_size(r->versions);
  struct target_model_package *pkgs = smf_xcalloc(n + 1, sizeof(*pkgs));
  struct target_kv **meta = smf_xcalloc(n + 1, sizeof(*meta));
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(r->versions, i);
    json_t *md = json_object_get(v, "metadata");
    meta[i] = smf_xcalloc(json_object_size(md) + 1, sizeof(struct target_kv));
    const char *k;
    json_t *val;
    size_t m = 0;
    json_object_foreach(md, k, val)
    {
      meta[i][m++] = (struct target_kv){k, json_string_value(val)};
    }
    pkgs[i] = (struct target_model_package){
        .group = r->group,
        .version = (int)json_integer_value(json_object_get(v, "version")),
        .arn = js(v, "arn"),
        .approval = js(v, "approval"),
        .model_data = js(v, "model_data"),
        .image_uri = js(v, "image_uri"),
        .description = js(v, "description"),
        .metrics_uri = js(v, "metrics_uri"),
        .metadata = meta[i],
        .n_metadata = m};
  }
  r->pkg_cb(r->data, 0, pkgs, n, NULL);
  for (size_t i = 0; i < n; i++) {
    free(meta[i]);
  }
  free(meta);
  free(pkgs);
}

static void reg_after(uv_work_t *w, int status)
{
  (void)status;
  struct reg_req *r = w->data;
  if (r->pkg_cb && r->rc == 0) {
    reg_answer(r);
  } else if (r->pkg_cb) {
    r->pkg_cb(r->data, r->rc, NULL, 0, &r->err);
  } else {
    r->done_cb(r->data, r->rc, r->rc ? &r->err : NULL);
  }
  json_decref(r->pkg);
  json_decref(r->versions);
  free(r->group);
  free(r->description);
  free(r->approval);
  free(r);
}

static int reg_queue(struct target *t, struct reg_req *r, struct smf_error *err)
{
  uv_once(&registry_once, registry_init_mutex);
  r->t = t;
  r->work.data = r;
  int rc = uv_queue_work(t->loop, &r->work, reg_work, reg_after);
  if (rc != 0) {
    json_decref(r->pkg);
    free(r->group);
    free(r->description);
    free(r->approval);
    free(r);
    return SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue work: %s", uv_strerror(rc));
  }
  return 0;
}

static struct reg_req *reg_new(enum reg_op op, const char *group, void *data)
{
  struct reg_req *r = smf_xcalloc(1, sizeof(*r));
  r->op = op;
  r->group = smf_xstrdup(group);
  r->data = data;
  return r;
}

static int reg_create_group_op(struct target *t, const char *group, const char *description,
                               target_done_cb cb, void *data, struct smf_error *err)
{
  if (!group_name_ok(group) || cb == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "invalid model package group name '%s'",
                       group ? group : "");
  }
  struct reg_req *r = reg_new(REG_CREATE_GROUP, group, data);
  r->description = description ? smf_xstrdup(description) : NULL;
  r->done_cb = cb;
  return reg_queue(t, r, err);
}

static void set_str(json_t *o, const char *key, const char *v)
{
  if (v) {
    json_object_set_new(o, key, json_string(v));
  }
}

static int reg_create_version_op(struct target *t, const struct target_model_package *pkg,
                                 target_package_cb cb, void *data, struct smf_error *err)
{
  const char *approval = pkg->approval ? pkg->approval : "PendingManualApproval";
  if (!group_name_ok(pkg->group) || cb == NULL || !approval_ok(approval)) {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "a model package needs a valid group and an approval "
                       "of Approved, PendingManualApproval or Rejected");
  }
  struct reg_req *r = reg_new(REG_CREATE_VERSION, pkg->group, data);
  r->pkg = json_object();
  set_str(r->pkg, "approval", approval);
  set_str(r->pkg, "model_data", pkg->model_data);
  set_str(r->pkg, "image_uri", pkg->image_uri);
  set_str(r->pkg, "description", pkg->description);
  set_str(r->pkg, "metrics_uri", pkg->metrics_uri);
  json_t *md = json_object();
  for (size_t i = 0; i < pkg->n_metadata; i++) {
    json_object_set_new(md, pkg->metadata[i].key, json_string(pkg->metadata[i].value));
  }
  json_object_set_new(r->pkg, "metadata", md);
  r->pkg_cb = cb;
  return reg_queue(t, r, err);
}

static int reg_list_op(struct target *t, const char *group, target_package_cb cb, void *data,
                       struct smf_error *err)
{
  if (!group_name_ok(group) || cb == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "invalid model package group name '%s'",
                       group ? group : "");
  }
  struct reg_req *r = reg_new(REG_LIST, group, data);
  r->pkg_cb = cb;
  return reg_queue(t, r, err);
}

static int reg_approve_op(struct target *t, const char *group, int version, const char *approval,
                          target_done_cb cb, void *data, struct smf_error *err)
{
  if (!group_name_ok(group) || cb == NULL || !approval_ok(approval)) {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "approval must be Approved, PendingManualApproval or "
                       "Rejected");
  }
  struct reg_req *r = reg_new(REG_APPROVE, group, data);
  r->version = version;
  r->approval = smf_xstrdup(approval);
  r->done_cb = cb;
  return reg_queue(t, r, err);
}

const struct target_registry_ops local_registry_ops = {
    .create_group = reg_create_group_op,
    .create_version = reg_create_version_op,
    .list = reg_list_op,
    .update_approval = reg_approve_op,
};
