// spec_serve.c: the key tables of `register`, `deploy`, `upload`, `run` and `lua`.
#include <string.h>

#include "dsl/internal.h"

static const char *const approvals[] = {"Approved", "PendingManualApproval", "Rejected", NULL};
static const char *const frameworks[] = {"pytorch", "tensorflow", "sklearn", "xgboost",
                                         "mxnet",   "huggingface", NULL};

static struct dsl_mark key_mark(const struct dsl_node *map, const char *key)
{
  for (size_t i = 0; i < map->u.map.n; i++) {
    if (strcmp(map->u.map.pairs[i].key, key) == 0) {
      return map->u.map.pairs[i].key_mark;
    }
  }
  return map->mark;
}

static void check_code(struct dsl_vctx *v, const struct dsl_node *map)
{
  if (dsl_map_get(map, "source_dir") && !dsl_map_get(map, "entry_point")) {
    dsl__verr(v, "", key_mark(map, "source_dir"), "source_dir needs entry_point");
  }
}

// ---- register ---------------------------------------------------------------------------

static void register_cross(struct dsl_vctx *v, const char *where, const struct dsl_node *map)
{
  (void)where;
  dsl__check_image(v, map, true);
  check_code(v, map);
}

static const struct dsl_field register_fields[] = {
    {"model_package_group", VT_AWSNAME, true, NULL},
    {"model_data", VT_LOCATION, true, NULL},
    {"image_uri", VT_STR, false, NULL},
    {"framework", VT_ENUM, false, frameworks},
    {"framework_version", VT_VERSION, false, NULL},
    {"py_version", VT_VERSION, false, NULL},
    {"approval", VT_ENUM, false, approvals},
    {"description", VT_STR, false, NULL},
    {"content_types", VT_STRLIST, false, NULL},
    {"response_types", VT_STRLIST, false, NULL},
    {"inference_instances", VT_ITYPE_LIST, false, NULL},
    {"transform_instances", VT_ITYPE_LIST, false, NULL},
    {"environment", VT_STRMAP, false, NULL},
    {"entry_point", VT_STR, false, NULL},
    {"source_dir", VT_STR, false, NULL},
    {"metrics", VT_LOCATION, false, NULL},
    {"metadata", VT_STRMAP, false, NULL},
    {"copy_to", VT_LOCATION, false, NULL},
    {"wait_for_approval", VT_DURATION, false, NULL},
};
static const struct dsl_schema register_schema = {register_fields, SMF_ARRAY_LEN(register_fields),
                                                  register_cross};

void dsl__spec_register(struct dsl_vctx *v, const struct dsl_node *spec)
{
  dsl__schema_check(v, "", spec, &register_schema);
}

// ---- deploy -----------------------------------------------------------------------------

static const struct dsl_field blue_green_fields[] = {
    {"canary", VT_PERCENT, false, NULL},
    {"wait", VT_DURATION, false, NULL},
};
static const struct dsl_schema blue_green_schema = {blue_green_fields,
                                                    SMF_ARRAY_LEN(blue_green_fields), NULL};
static const struct dsl_field strategy_fields[] = {
    {"blue_green", VT_SCHEMA, false, &blue_green_schema},
    {"rollback_alarms", VT_STRLIST, false, NULL},
};
static const struct dsl_schema strategy_schema = {strategy_fields, SMF_ARRAY_LEN(strategy_fields),
                                                  NULL};
static const struct dsl_field smoke_fields[] = {
    {"body", VT_STR, true, NULL},
    {"content_type", VT_STR, false, NULL},
    {"expect_status", VT_HTTP_STATUS, false, NULL},
};
static const struct dsl_schema smoke_schema = {smoke_fields, SMF_ARRAY_LEN(smoke_fields), NULL};

static void check_model_package(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  dsl__value_check(v, where, n, VT_STR, NULL);
  if (n->type == DSL_STR && !dsl__deferred(v, n) && smf_str_startswith(n->u.str.s, "arn:")) {
    const char *why = dsl__check_arn(n->u.str.s, "sagemaker", "model-package/");
    if (why) {
      dsl__verr(v, where, n->mark, "expected a model package ARN, got '%s'", n->u.str.s);
    }
  }
}
static const struct dsl_fnref model_package_fn = {check_model_package};

static void deploy_cross(struct dsl_vctx *v, const char *where, const struct dsl_node *map)
{
  (void)where;
  bool pkg = dsl_map_get(map, "model_package") != NULL;
  bool data = dsl_map_get(map, "model_data") != NULL;
  if (pkg == data) {
    dsl__verr(v, "", pkg ? key_mark(map, "model_package") : map->mark,
              "set exactly one of model_package or model_data");
  }
  if (pkg && (dsl_map_get(map, "image_uri") || dsl_map_get(map, "framework"))) {
    dsl__verr(v, "", key_mark(map, dsl_map_get(map, "image_uri") ? "image_uri" : "framework"),
              "a model_package brings its own image: drop image_uri / framework");
  }
  dsl__check_image(v, map, data);
  check_code(v, map);
}

static const struct dsl_field deploy_fields[] = {
    {"model_package", VT_FN, false, &model_package_fn},
    {"model_data", VT_LOCATION, false, NULL},
    {"image_uri", VT_STR, false, NULL},
    {"framework", VT_ENUM, false, frameworks},
    {"framework_version", VT_VERSION, false, NULL},
    {"py_version", VT_VERSION, false, NULL},
    {"entry_point", VT_STR, false, NULL},
    {"source_dir", VT_STR, false, NULL},
    {"model_name", VT_AWSNAME, false, NULL},
    {"endpoint", VT_AWSNAME, true, NULL},
    {"instance_type", VT_ITYPE, true, NULL},
    {"initial_instance_count", VT_POSINT, false, NULL},
    {"environment", VT_STRMAP, false, NULL},
    {"tags", VT_FN, false, &dsl__tags_fn},
    {"strategy", VT_SCHEMA, false, &strategy_schema},
    {"smoke_test", VT_SCHEMA, false, &smoke_schema},
    {"serve", VT_CMD, false, NULL},
};
static const struct dsl_schema deploy_schema = {deploy_fields, SMF_ARRAY_LEN(deploy_fields),
                                                deploy_cross};

void dsl__spec_deploy(struct dsl_vctx *v, const struct dsl_node *spec)
{
  dsl__schema_check(v, "", spec, &deploy_schema);
}

// ---- upload, run, lua ---------------------------------------------------------------

static const struct dsl_field upload_fields[] = {
    {"source_dir", VT_STR, true, NULL},
    {"dependencies", VT_STRLIST, false, NULL},
    {"to", VT_LOCATION, false, NULL},
};
static const struct dsl_schema upload_schema = {upload_fields, SMF_ARRAY_LEN(upload_fields), NULL};

void dsl__spec_upload(struct dsl_vctx *v, const struct dsl_node *spec)
{
  dsl__schema_check(v, "", spec, &upload_schema);
}

static const struct dsl_field run_fields[] = {
    {"command", VT_CMD, true, NULL},
    {"env", VT_STRMAP, false, NULL},
    {"workdir", VT_STR, false, NULL},
};
static const struct dsl_schema run_schema = {run_fields, SMF_ARRAY_LEN(run_fields), NULL};

void dsl__spec_run(struct dsl_vctx *v, const struct dsl_node *spec)
{
  if (spec->type == DSL_STR) {
    dsl__value_check(v, "run", spec, VT_STR, NULL);
    return;
  }
  if (spec->type != DSL_MAP) {
    dsl__verr(v, "run", spec->mark, "expected a command string or a map {command, env, workdir}, got %s",
              dsl__a_type(spec->type));
    return;
  }
  dsl__schema_check(v, "", spec, &run_schema);
}

static const struct dsl_field lua_fields[] = {
    {"function", VT_IDENT, true, NULL},
    {"args", VT_ANY, false, NULL},
};
static const struct dsl_schema lua_schema = {lua_fields, SMF_ARRAY_LEN(lua_fields), NULL};

void dsl__spec_lua(struct dsl_vctx *v, const struct dsl_node *spec)
{
  if (spec->type == DSL_STR) {
    dsl__value_check(v, "lua", spec, VT_IDENT, NULL);
    return;
  }
  if (spec->type != DSL_MAP) {
    dsl__verr(v, "lua", spec->mark, "expected a function name or a map {function, args}, got %s",
              dsl__a_type(spec->type));
    return;
  }
  dsl__schema_check(v, "", spec, &lua_schema);
}
