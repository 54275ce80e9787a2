// registry.c: the aws target's model registry: model package groups
// (CreateModelPackageGroup; "already exists" is fine), versions
// (CreateModelPackage as model.register(...) sends it), listing and approval.
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smflow/util.h"
#include "target/aws/awst.h"

struct reg_req {
  struct target *t;
  target_done_cb done_cb;
  target_package_cb pkg_cb;
  void *data;
  char *group;
  char *approval;
};

static void reg_free(struct reg_req *r)
{
  free(r->group);
  free(r->approval);
  free(r);
}

static struct reg_req *reg_new(struct target *t, const char *group, void *data)
{
  struct reg_req *r = smf_xcalloc(1, sizeof(*r));
  r->t = t;
  r->group = smf_xstrdup(group ? group : "");
  r->data = data;
  return r;
}

static int reg_call(struct reg_req *r, const char *op, json_t *body, aws_json_fn cb,
                    struct smf_error *err)
{
  int rc = aws_sagemaker_call(awst_of(r->t)->client, op, body, NULL, cb, r, err);
  json_decref(body);
  if (rc != 0) {
    reg_free(r);
  }
  return rc;
}

static void reg_group_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct reg_req *r = data;
  if (awst_of(r->t)->closing) {  // target_close: nothing is delivered any more
    reg_free(r);
    return;
  }
  bool exists = err && (strcasestr(err->message, "already exists") ||
                        strcmp(err->aws_code, "ResourceInUse") == 0);
  if (res || exists) {
    r->done_cb(r->data, 0, NULL);
  } else {
    struct smf_error e = *err;
    e.klass = awst_api_class(err);
    r->done_cb(r->data, e.code, &e);
  }
  reg_free(r);
}

static int reg_create_group(struct target *t, const char *group, const char *description,
                            target_done_cb cb, void *data, struct smf_error *err)
{
  struct reg_req *r = reg_new(t, group, data);
  r->done_cb = cb;
  json_t *b = json_pack("{s:s}", "ModelPackageGroupName", group);
  if (description) {
    json_object_set_new(b, "ModelPackageGroupDescription", json_string(description));
  }
  return reg_call(r, "CreateModelPackageGroup", b, reg_group_cb, err);
}

// "arn:...:model-package/GROUP/3" → 3.
static int reg_version_of(const char *arn)
{
  const char *slash = arn ? strrchr(arn, '/') : NULL;
  return slash ? atoi(slash + 1) : 0;
}

static void reg_created_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct reg_req *r = data;
  if (awst_of(r->t)->closing) {  // target_close: nothing is delivered any more
    reg_free(r);
    return;
  }
  if (res == NULL) {
    struct smf_error e = *err;
    e.klass = awst_api_class(err);
    r->pkg_cb(r->data, e.code, NULL, 0, &e);
  } else {
    const char *arn = json_string_value(json_object_get(res, "ModelPackageArn"));
    struct target_model_package p = {.group = r->group, .version = reg_version_of(arn),
                                     .arn = arn, .approval = r->approval};
    r->pkg_cb(r->data, 0, &p, 1, NULL);
  }
  reg_free(r);
}

static int reg_create_version(struct target *t, const struct target_model_package *pkg,
                              target_package_cb cb, void *data, struct smf_error *err)
{
  struct awst_env env;
  awst_env_of(t, &env);
  json_t *body = NULL;
  int rc = awst_model_package_request(&env, pkg, &body, err);
  if (rc != 0) {
    return rc;
  }
  struct reg_req *r = reg_new(t, pkg->group, data);
  r->pkg_cb = cb;
  r->approval = smf_xstrdup(pkg->approval ? pkg->approval : "PendingManualApproval");
  return reg_call(r, "CreateModelPackage", body, reg_created_cb, err);
}

static void reg_list_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct reg_req *r = data;
  if (awst_of(r->t)->closing) {  // target_close: nothing is delivered any more
    reg_free(r);
    return;
  }
  if (res == NULL) {
    bool missing = strcasestr(err->message, "does not exist") || strcasestr(err->message, "not found");
    if (missing) {
      r->pkg_cb(r->data, 0, NULL, 0, NULL);
    } else {
      r->pkg_cb(r->data, err->code, NULL, 0, err);
    }
    reg_free(r);
    return;
  }
  json_t *list = json_object_get(res, "ModelPackageSummaryList");
  size_t n = json_array_size(list);
  struct target_model_package *p = smf_xcalloc(n + 1, sizeof(*p));
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(list, i);
    p[i].group = r->group;
    p[i].arn = json_string_value(json_object_get(s, "ModelPackageArn"));
    p[i].version = (int)json_integer_value(json_object_get(s, "ModelPackageVersion"));
    if (p[i].version == 0) {
      p[i].version = reg_version_of(p[i].arn);
    }
    p[i].approval = json_string_value(json_object_get(s, "ModelApprovalStatus"));
    p[i].description = json_string_value(json_object_get(s, "ModelPackageDescription"));
  }
  r->pkg_cb(r->data, 0, p, n, NULL);
  free(p);
  reg_free(r);
}

static int reg_list(struct target *t, const char *group, target_package_cb cb, void *data,
                    struct smf_error *err)
{
  struct reg_req *r = reg_new(t, group, data);
  r->pkg_cb = cb;
  json_t *b = json_pack("{s:s, s:i}", "ModelPackageGroupName", group, "MaxResults", 100);
  return reg_call(r, "ListModelPackages", b, reg_list_cb, err);
}

static void reg_update_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct reg_req *r = data;
  if (awst_of(r->t)->closing) {  // target_close: nothing is delivered any more
    reg_free(r);
    return;
  }
  r->done_cb(r->data, res ? 0 : err->code, res ? NULL : err);
  reg_free(r);
}

static int reg_update_approval(struct target *t, const char *group, int version,
                               const char *approval, target_done_cb cb, void *data,
                               struct smf_error *err)
{
  struct reg_req *r = reg_new(t, group, data);
  r->done_cb = cb;
  char *arn = smf_xasprintf("arn:%s:sagemaker:%s:%s:model-package/%s/%d",
                            aws_partition_of(t->region), t->region, t->account_id, group, version);
  json_t *b = json_pack("{s:s, s:s}", "ModelPackageArn", arn, "ModelApprovalStatus", approval);
  free(arn);
  return reg_call(r, "UpdateModelPackage", b, reg_update_cb, err);
}

const struct target_registry_ops awst_registry_ops = {
    .create_group = reg_create_group,
    .create_version = reg_create_version,
    .list = reg_list,
    .update_approval = reg_update_approval,
};
