// registry.c: the aws target's model registry: model package groups
// (CreateModelPackageGroup; "already exists" is fine), versions
// (CreateModelPackage as model.register(...) sends it, after the inference
// code was placed as its model class does: repacked into the model or uploaded
// as sourcedir.tar.gz, under s3://DEFAULT_BUCKET/MODEL_NAME/), listing and
// approval.
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
  json_t *body;  ///< create_version: the CreateModelPackage sent once the code is placed
};

static void reg_free(struct reg_req *r)
{
  free(r->group);
  free(r->approval);
  json_decref(r->body);
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
    struct target_model_package p = {
        .group = r->group, .version = reg_version_of(arn), .arn = arn, .approval = r->approval};
    r->pkg_cb(r->data, 0, &p, 1, NULL);
  }
  reg_free(r);
}

static void reg_code_placed(void *data, int status, const struct smf_error *err)
{
  struct reg_req *r = data;
  struct smf_error e = SMF_ERROR_INIT;
  json_t *body = r->body;
  r->body = NULL;
  if (awst_of(r->t)->closing) {
    json_decref(body);
    reg_free(r);
  } else if (status != 0) {
    json_decref(body);
    e = *err;
    e.klass = SMF_CLASS_CLIENT;
    r->pkg_cb(r->data, status, NULL, 0, &e);
    reg_free(r);
  } else {
    target_package_cb cb = r->pkg_cb;
    void *cb_data = r->data;
    if (reg_call(r, "CreateModelPackage", body, reg_created_cb, &e) != 0) {
      cb(cb_data, e.code, NULL, 0, &e);  // reg_call has freed r
    }
  }
}

// Place the inference code where the body says (awst_model_package_request).
static int reg_place_code(struct reg_req *r, const struct target_model_package *pkg,
                          enum awst_code mode, struct smf_error *err)
{
  struct target *t = r->t;
  const char *bucket = awst_of(t)->default_bucket;
  const char *name = pkg->model_name ? pkg->model_name : pkg->group;
  const char *sd = awst_spec_str(pkg->spec, "source_dir");
  char *dir = sd == NULL     ? NULL
              : sd[0] == '/' ? smf_xstrdup(sd)
                             : smf_xasprintf("%s/%s", t->base_dir, sd);
  struct awst_code_src code = {awst_spec_str(pkg->spec, "entry_point"), dir};
  char *dest =
      mode == AWST_CODE_REPACK ? awst_repack_uri(bucket, name) : awst_sourcedir_uri(bucket, name);
  int rc = mode == AWST_CODE_REPACK
               ? awst_repack(t, pkg->model_data, &code, name, dest, reg_code_placed, r, err)
               : awst_code_upload(t, &code, name, dest, reg_code_placed, r, err);
  free(dest);
  free(dir);
  return rc;
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
  enum awst_code mode = awst_code_mode(
      awst_spec_str(pkg->spec, "framework"), awst_spec_str(pkg->spec, "framework_version"),
      awst_spec_str(pkg->spec, "entry_point"), awst_spec_str(pkg->spec, "source_dir") != NULL);
  if (mode == AWST_CODE_UPLOAD || (mode == AWST_CODE_REPACK && pkg->model_data)) {
    r->body = body;
    rc = reg_place_code(r, pkg, mode, err);
    if (rc != 0) {
      reg_free(r);
    }
    return rc;
  }
  return reg_call(r, "CreateModelPackage", body, reg_created_cb, err);
}

// list: ListModelPackages, then DescribeModelPackage of each version (the
// summaries carry neither the model nor the metadata that register's
// exactly-once check and deploy's model_package need).
struct reg_list {
  struct reg_req *r;
  json_t *described;  ///< array of DescribeModelPackage answers, by summary index
  size_t n, left;
  int code;
  struct smf_error err;
};

static void reg_list_finish(struct reg_list *l)
{
  struct reg_req *r = l->r;
  size_t n = l->code ? 0 : l->n;
  struct target_model_package *p = smf_xcalloc(n + 1, sizeof(*p));
  struct target_kv **meta = smf_xcalloc(n + 1, sizeof(*meta));
  for (size_t i = 0; i < n; i++) {
    json_t *d = json_array_get(l->described, i);
    json_t *c = json_array_get(
        json_object_get(json_object_get(d, "InferenceSpecification"), "Containers"), 0);
    p[i].group = r->group;
    p[i].arn = json_string_value(json_object_get(d, "ModelPackageArn"));
    p[i].version = (int)json_integer_value(json_object_get(d, "ModelPackageVersion"));
    p[i].version = p[i].version ? p[i].version : reg_version_of(p[i].arn);
    p[i].approval = json_string_value(json_object_get(d, "ModelApprovalStatus"));
    p[i].description = json_string_value(json_object_get(d, "ModelPackageDescription"));
    p[i].model_data = json_string_value(json_object_get(c, "ModelDataUrl"));
    p[i].image_uri = json_string_value(json_object_get(c, "Image"));
    p[i].metrics_uri = json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(d, "ModelMetrics"), "ModelQuality"),
                        "Statistics"),
        "S3Uri"));
    json_t *props = json_object_get(d, "CustomerMetadataProperties");
    meta[i] = smf_xcalloc(json_object_size(props) + 1, sizeof(**meta));
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v)
    {
      meta[i][p[i].n_metadata++] = (struct target_kv){k, json_string_value(v)};
    }
    p[i].metadata = meta[i];
  }
  if (!awst_of(r->t)->closing) {
    r->pkg_cb(r->data, l->code, l->code ? NULL : p, n, l->code ? &l->err : NULL);
  }
  for (size_t i = 0; i < n; i++) {
    free(meta[i]);
  }
  free(meta);
  free(p);
  json_decref(l->described);
  reg_free(r);
  free(l);
}

static void reg_described_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct reg_list *l = data;
  if (res) {
    // Answers come in any order: place each by its ARN's version slot.
    const char *arn = json_string_value(json_object_get(res, "ModelPackageArn"));
    for (size_t i = 0; i < l->n; i++) {
      json_t *slot = json_array_get(l->described, i);
      if (json_is_string(slot) && arn && strcmp(json_string_value(slot), arn) == 0) {
        json_array_set(l->described, i, res);
      }
    }
  } else if (l->code == 0) {
    l->code = err->code ? err->code : SMF_EAWS;
    l->err = *err;
  }
  if (--l->left == 0) {
    reg_list_finish(l);
  }
}

static void reg_list_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct reg_req *r = data;
  struct reg_list *l = smf_xcalloc(1, sizeof(*l));
  l->r = r;
  l->described = json_array();
  if (awst_of(r->t)->closing || res == NULL) {
    bool missing =
        res == NULL && !awst_of(r->t)->closing &&
        (strcasestr(err->message, "does not exist") || strcasestr(err->message, "not found"));
    if (res == NULL && !missing && !awst_of(r->t)->closing) {
      l->code = err->code ? err->code : SMF_EAWS;
      l->err = *err;
    }
    reg_list_finish(l);
    return;
  }
  json_t *list = json_object_get(res, "ModelPackageSummaryList");
  l->n = json_array_size(list);
  for (size_t i = 0; i < l->n; i++) {
    const char *arn =
        json_string_value(json_object_get(json_array_get(list, i), "ModelPackageArn"));
    json_array_append_new(l->described, json_string(arn ? arn : ""));
  }
  l->left = 1;  // held until every call is started
  for (size_t i = 0; i < l->n; i++) {
    json_t *b = json_pack("{s:O}", "ModelPackageName", json_array_get(l->described, i));
    struct smf_error e = SMF_ERROR_INIT;
    if (aws_sagemaker_call(awst_of(r->t)->client, "DescribeModelPackage", b, NULL, reg_described_cb,
                           l, &e) == 0) {
      l->left++;
    } else if (l->code == 0) {
      l->code = e.code;
      l->err = e;
    }
    json_decref(b);
  }
  if (--l->left == 0) {
    reg_list_finish(l);
  }
}

static int reg_list(struct target *t, const char *group, target_package_cb cb, void *data,
                    struct smf_error *err)
{
  struct reg_req *r = reg_new(t, group, data);
  r->pkg_cb = cb;
  json_t *b = json_pack("{s:s, s:i, s:s, s:s}", "ModelPackageGroupName", group, "MaxResults", 100,
                        "SortBy", "CreationTime", "SortOrder", "Descending");
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
