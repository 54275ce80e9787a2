// spec_train.c: the key tables of `fit` and `evaluate` (SPEC §4), with the
// pieces they share: `inputs` channels, `distribution`, tags and image rules.
#include <ctype.h>
#include <string.h>

#include "dsl/internal.h"

static const char *const input_modes[] = {"File", "Pipe", "FastFile", NULL};
static const char *const compressions[] = {"Gzip", NULL};
static const char *const s3_distributions[] = {"FullyReplicated", "ShardedByS3Key", NULL};
static const char *const s3_data_types[] = {"S3Prefix", "ManifestFile", "AugmentedManifestFile",
                                            NULL};
static const char *const frameworks[] = {"pytorch", "tensorflow", "sklearn", "xgboost",
                                         "mxnet",   "huggingface", NULL};

static const struct dsl_field channel_fields[] = {
    {"uri", VT_LOCATION, true, NULL},
    {"input_mode", VT_ENUM, false, input_modes},
    {"content_type", VT_STR, false, NULL},
    {"compression", VT_ENUM, false, compressions},
    {"distribution", VT_ENUM, false, s3_distributions},
    {"s3_data_type", VT_ENUM, false, s3_data_types},
};
static const struct dsl_schema channel_schema = {channel_fields, SMF_ARRAY_LEN(channel_fields),
                                                 NULL};

static bool valid_channel(const char *s)
{
  size_t len = strlen(s);
  if (len == 0 || len > 64) {
    return false;
  }
  for (; *s; s++) {
    if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_') {
      return false;
    }
  }
  return true;
}

void dsl__check_inputs(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  if (n->type == DSL_STR) {  // the SDK's shorthand: one channel named `training`
    dsl__value_check(v, where, n, VT_LOCATION, NULL);
    return;
  }
  if (n->type != DSL_MAP) {
    dsl__verr(v, where, n->mark, "expected a URI or a map of channels, got %s",
              dsl__a_type(n->type));
    return;
  }
  char w[256];
  for (size_t i = 0; i < n->u.map.n; i++) {
    const struct dsl_pair *p = &n->u.map.pairs[i];
    dsl__where(w, sizeof(w), where, p->key);
    if (!valid_channel(p->key)) {
      dsl__verr(v, where, p->key_mark,
                "channel name '%s' may hold only letters, digits, '.', '-' and '_' (1 to 64)",
                p->key);
    }
    if (p->value->type == DSL_MAP) {
      dsl__schema_check(v, w, p->value, &channel_schema);
    } else if (p->value->type == DSL_STR) {
      dsl__value_check(v, w, p->value, VT_LOCATION, NULL);
    } else {
      dsl__verr(v, w, p->value->mark, "expected a URI or a map {uri, input_mode, ...}, got %s",
                dsl__a_type(p->value->type));
    }
  }
}

static void check_tags(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  dsl__value_check(v, where, n, VT_STRMAP, NULL);
  if (n->type != DSL_MAP) {
    return;
  }
  for (size_t i = 0; i < n->u.map.n; i++) {
    const struct dsl_pair *p = &n->u.map.pairs[i];
    if (smf_str_startswith(p->key, "smflow:") || smf_str_startswith(p->key, "aws:")) {
      dsl__verr(v, where, p->key_mark, "tag key '%s' uses a reserved prefix (smflow: or aws:)",
                p->key);
    }
  }
}

static const struct dsl_fnref inputs_fn = {dsl__check_inputs};
static const struct dsl_fnref tags_fn = {check_tags};

static struct dsl_mark key_mark(const struct dsl_node *map, const char *key)
{
  for (size_t i = 0; i < map->u.map.n; i++) {
    if (strcmp(map->u.map.pairs[i].key, key) == 0) {
      return map->u.map.pairs[i].key_mark;
    }
  }
  return map->mark;
}

void dsl__check_image(struct dsl_vctx *v, const struct dsl_node *map, bool required)
{
  bool img = dsl_map_get(map, "image_uri") != NULL;
  bool fw = dsl_map_get(map, "framework") != NULL;
  if (img && fw) {
    dsl__verr(v, "", key_mark(map, "framework"), "set either image_uri or framework, not both");
  }
  if (fw && dsl_map_get(map, "framework_version") == NULL) {
    dsl__verr(v, "", key_mark(map, "framework"), "framework needs framework_version");
  }
  if (!fw) {
    if (dsl_map_get(map, "framework_version")) {
      dsl__verr(v, "", key_mark(map, "framework_version"), "framework_version needs framework");
    }
    if (dsl_map_get(map, "py_version")) {
      dsl__verr(v, "", key_mark(map, "py_version"), "py_version needs framework");
    }
  }
  if (required && v->aws && !img && !fw) {
    dsl__verr(v, "", map->mark, "the aws target needs image_uri or framework (+ framework_version)");
  }
}

static void check_source(struct dsl_vctx *v, const struct dsl_node *map)
{
  if (dsl_map_get(map, "source") && dsl_map_get(map, "source_dir")) {
    dsl__verr(v, "", key_mark(map, "source"), "set either source or source_dir, not both");
  }
}

// ---- distribution ---------------------------------------------------------------------

static const struct dsl_field enabled_fields[] = {{"enabled", VT_BOOL, true, NULL}};
static const struct dsl_schema enabled_schema = {enabled_fields, 1, NULL};
static const struct dsl_field mpi_fields[] = {
    {"enabled", VT_BOOL, true, NULL},
    {"processes_per_host", VT_POSINT, false, NULL},
    {"custom_mpi_options", VT_STR, false, NULL},
};
static const struct dsl_schema mpi_schema = {mpi_fields, SMF_ARRAY_LEN(mpi_fields), NULL};
static const struct dsl_field dataparallel_fields[] = {
    {"enabled", VT_BOOL, true, NULL},
    {"custom_mpi_options", VT_STR, false, NULL},
};
static const struct dsl_schema dataparallel_schema = {dataparallel_fields,
                                                      SMF_ARRAY_LEN(dataparallel_fields), NULL};
static const struct dsl_field smdist_fields[] = {
    {"dataparallel", VT_SCHEMA, true, &dataparallel_schema},
};
static const struct dsl_schema smdist_schema = {smdist_fields, 1, NULL};

static bool enabled(const struct dsl_node *n)
{
  return dsl_map_bool(n, "enabled", false);
}

static void distribution_cross(struct dsl_vctx *v, const char *where, const struct dsl_node *map)
{
  size_t on = 0;
  for (size_t i = 0; i < map->u.map.n; i++) {
    const struct dsl_node *val = map->u.map.pairs[i].value;
    if (strcmp(map->u.map.pairs[i].key, "smdistributed") == 0) {
      val = dsl_map_get(val, "dataparallel");
    }
    on += enabled(val);
  }
  if (on > 1) {
    dsl__verr(v, where, map->mark, "only one distribution strategy may be enabled");
  }
}

static const struct dsl_field distribution_fields[] = {
    {"parameter_server", VT_SCHEMA, false, &enabled_schema},
    {"mpi", VT_SCHEMA, false, &mpi_schema},
    {"torch_distributed", VT_SCHEMA, false, &enabled_schema},
    {"pytorchddp", VT_SCHEMA, false, &enabled_schema},
    {"smdistributed", VT_SCHEMA, false, &smdist_schema},
};
static const struct dsl_schema distribution_schema = {
    distribution_fields, SMF_ARRAY_LEN(distribution_fields), distribution_cross};

static const struct dsl_field spot_fields[] = {
    {"enabled", VT_BOOL, false, NULL},
    {"max_wait", VT_DURATION, false, NULL},
};
static const struct dsl_schema spot_schema = {spot_fields, SMF_ARRAY_LEN(spot_fields), NULL};

static const struct dsl_field metric_fields[] = {
    {"name", VT_STR, true, NULL},
    {"regex", VT_STR, true, NULL},
};
static const struct dsl_schema metric_schema = {metric_fields, SMF_ARRAY_LEN(metric_fields), NULL};

// ---- fit --------------------------------------------------------------------------------

static void fit_cross(struct dsl_vctx *v, const char *where, const struct dsl_node *map)
{
  (void)where;
  dsl__check_image(v, map, true);
  check_source(v, map);
  if (dsl_map_get(map, "entry_point") == NULL && dsl_map_get(map, "image_uri") == NULL) {
    dsl__verr(v, "", map->mark, "missing required key 'entry_point' (needed unless image_uri is set)");
  }
  const struct dsl_node *spot = dsl_map_get(map, "spot");
  int64_t wait_ms, run_ms = 86400000;
  dsl__duration_ms(dsl_map_get(map, "max_run"), &run_ms);
  if (spot && dsl_map_bool(spot, "enabled", true) &&
      dsl__duration_ms(dsl_map_get(spot, "max_wait"), &wait_ms) && wait_ms < run_ms) {
    dsl__verr(v, "spot.max_wait", dsl_map_get(spot, "max_wait")->mark,
              "must be at least max_run (SageMaker's rule for spot training)");
  }
}

static const struct dsl_field fit_fields[] = {
    {"entry_point", VT_STR, false, NULL},
    {"source_dir", VT_STR, false, NULL},
    {"source", VT_LOCATION, false, NULL},
    {"dependencies", VT_STRLIST, false, NULL},
    {"image_uri", VT_STR, false, NULL},
    {"framework", VT_ENUM, false, frameworks},
    {"framework_version", VT_VERSION, false, NULL},
    {"py_version", VT_VERSION, false, NULL},
    {"instance_type", VT_ITYPE, true, NULL},
    {"instance_count", VT_POSINT, false, NULL},
    {"volume_size", VT_POSINT, false, NULL},
    {"max_run", VT_DURATION, false, NULL},
    {"hyperparameters", VT_MAP, false, NULL},
    {"input_mode", VT_ENUM, false, input_modes},
    {"inputs", VT_FN, false, &inputs_fn},
    {"output_path", VT_LOCATION, false, NULL},
    {"code_location", VT_LOCATION, false, NULL},
    {"output_kms_key", VT_KMS, false, NULL},
    {"volume_kms_key", VT_KMS, false, NULL},
    {"base_job_name", VT_JOBBASE, false, NULL},
    {"model_dir", VT_STR, false, NULL},
    {"checkpoint_s3_uri", VT_S3URI, false, NULL},
    {"checkpoint_local_path", VT_STR, false, NULL},
    {"spot", VT_SCHEMA, false, &spot_schema},
    {"distribution", VT_SCHEMA, false, &distribution_schema},
    {"metric_definitions", VT_SCHEMA_LIST, false, &metric_schema},
    {"environment", VT_STRMAP, false, NULL},
    {"tags", VT_FN, false, &tags_fn},
    {"subnets", VT_STRLIST, false, NULL},
    {"security_group_ids", VT_STRLIST, false, NULL},
    {"enable_network_isolation", VT_BOOL, false, NULL},
    {"encrypt_inter_container_traffic", VT_BOOL, false, NULL},
    {"debugger", VT_BOOL, false, NULL},
    {"profiler", VT_BOOL, false, NULL},
    {"wait", VT_BOOL, false, NULL},
    {"command", VT_CMD, false, NULL},
};
static const struct dsl_schema fit_schema = {fit_fields, SMF_ARRAY_LEN(fit_fields), fit_cross};

void dsl__spec_fit(struct dsl_vctx *v, const struct dsl_node *spec)
{
  dsl__schema_check(v, "", spec, &fit_schema);
}

// ---- evaluate ---------------------------------------------------------------------------

static void evaluate_cross(struct dsl_vctx *v, const char *where, const struct dsl_node *map)
{
  (void)where;
  dsl__check_image(v, map, true);
  check_source(v, map);
}

static const struct dsl_field evaluate_fields[] = {
    {"entry_point", VT_STR, true, NULL},
    {"source", VT_LOCATION, false, NULL},
    {"source_dir", VT_STR, false, NULL},
    {"dependencies", VT_STRLIST, false, NULL},
    {"model", VT_LOCATION, false, NULL},
    {"inputs", VT_FN, false, &inputs_fn},
    {"instance_type", VT_ITYPE, false, NULL},
    {"instance_count", VT_POSINT, false, NULL},
    {"volume_size", VT_POSINT, false, NULL},
    {"max_run", VT_DURATION, false, NULL},
    {"base_job_name", VT_JOBBASE, false, NULL},
    {"image_uri", VT_STR, false, NULL},
    {"framework", VT_ENUM, false, frameworks},
    {"framework_version", VT_VERSION, false, NULL},
    {"py_version", VT_VERSION, false, NULL},
    {"report", VT_STR, false, NULL},
    {"environment", VT_STRMAP, false, NULL},
    {"tags", VT_FN, false, &tags_fn},
    {"command", VT_CMD, false, NULL},
};
static const struct dsl_schema evaluate_schema = {evaluate_fields, SMF_ARRAY_LEN(evaluate_fields),
                                                  evaluate_cross};

void dsl__spec_evaluate(struct dsl_vctx *v, const struct dsl_node *spec)
{
  dsl__schema_check(v, "", spec, &evaluate_schema);
}

const struct dsl_fnref dsl__tags_fn = {check_tags};
