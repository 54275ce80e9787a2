// toolkit.c: the SageMaker training toolkit's container contract for one host.
//
// The config files are written the way the SageMaker platform writes them into
// /opt/ml/input/config, and the same documents (not read back from the files)
// are turned into the environment the toolkit's Environment.to_env_vars() builds
// (sagemaker_training/environment.py and mapping.py): names "SM_" + KEY.upper(), strings as they
// are, None as "", anything else json.dumps(sort_keys=True, separators=(",", ":")); arguments as
// mapping.to_cmd_args(): sorted names, "--name" or "-n", str() of each value.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/local/local.h"
#include "target/pyjson.h"

#define TK_GROUP "homogeneousCluster"

static json_t *tk_hosts(int n_hosts)
{
  json_t *a = json_array();
  for (int i = 1; i <= n_hosts; i++) {
    char name[32];
    snprintf(name, sizeof(name), "algo-%d", i);
    json_array_append_new(a, json_string(name));
  }
  return a;
}

static json_t *tk_resource_config(const struct target_training_job *job, int host_index,
                                  int n_hosts)
{
  const char *itype = job->resources.instance_type ? job->resources.instance_type : "local";
  char host[32];
  snprintf(host, sizeof(host), "algo-%d", host_index);
  json_t *group = json_pack("{s:s, s:s, s:o}", "instance_group_name", TK_GROUP, "instance_type",
                            itype, "hosts", tk_hosts(n_hosts));
  return json_pack("{s:s, s:s, s:s, s:o, s:[o], s:s}", "current_host", host,
                   "current_instance_type", itype, "current_group_name", TK_GROUP, "hosts",
                   tk_hosts(n_hosts), "instance_groups", group, "network_interface_name", "eth0");
}

static json_t *tk_input_data_config(const struct target_training_job *job)
{
  json_t *o = json_object();
  for (size_t i = 0; i < job->n_channels; i++) {
    const struct target_channel *c = &job->channels[i];
    const char *mode = c->input_mode ? c->input_mode : job->input_mode ? job->input_mode : "File";
    json_t *ch = json_object();
    if (c->content_type) {
      json_object_set_new(ch, "ContentType", json_string(c->content_type));
    }
    json_object_set_new(ch, "TrainingInputMode", json_string(mode));
    json_object_set_new(ch, "S3DistributionType",
                        json_string(c->distribution ? c->distribution : "FullyReplicated"));
    json_object_set_new(ch, "RecordWrapperType", json_string("None"));
    if (c->compression) {
      json_object_set_new(ch, "CompressionType", json_string(c->compression));
    }
    json_object_set_new(o, c->name, ch);
  }
  return o;
}

// ---------------------------------------------------------------------------
// Environment.

struct tk_ctx {
  const char *base;
  json_t *rcfg, *idc, *hps_raw;
  json_t *hps, *sm;          // user hyperparameters / sagemaker_* ones, decoded
  json_t *framework_params;  // sagemaker_* keys the toolkit does not know
  json_t *props;             // Environment's properties (SM_TRAINING_ENV)
};

static bool tk_is_known_sm_key(const char *k)
{
  static const char *const known[] = {"sagemaker_program",
                                      "sagemaker_submit_directory",
                                      "sagemaker_enable_cloudwatch_metrics",
                                      "sagemaker_region",
                                      "sagemaker_container_log_level",
                                      "sagemaker_job_name",
                                      "default_user_module_name",
                                      "_tuning_objective_metric",
                                      "sagemaker_s3_output"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(known); i++) {
    if (strcmp(k, known[i]) == 0) {
      return true;
    }
  }
  return false;
}

// read_hyperparameters(): json.loads each value, the raw string if it is not JSON;
// then split_by_criteria(keys=SAGEMAKER_HYPERPARAMETERS, prefix="sagemaker_").
static void tk_split_hps(struct tk_ctx *c)
{
  c->hps = json_object();
  c->sm = json_object();
  c->framework_params = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(c->hps_raw, k, v)
  {
    json_t *dec = NULL;
    if (json_is_string(v)) {
      dec = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
    }
    if (dec == NULL) {
      dec = json_incref(v);
    }
    if (tk_is_known_sm_key(k) || strncmp(k, "sagemaker_", 10) == 0) {
      json_object_set(c->sm, k, dec);
      if (!tk_is_known_sm_key(k)) {
        json_object_set(c->framework_params, k, dec);
      }
    } else {
      json_object_set(c->hps, k, dec);
    }
    json_decref(dec);
  }
}

static void tk_set_path(json_t *o, const char *key, const char *base, const char *rel)
{
  char *p = rel ? smf_xasprintf("%s/%s", base, rel) : smf_xstrdup(base);
  json_object_set_new(o, key, json_string(p));
  free(p);
}

static const char *tk_sm_str(const struct tk_ctx *c, const char *key, const char *dflt)
{
  const json_t *v = json_object_get(c->sm, key);
  return json_is_string(v) ? json_string_value(v) : dflt;
}

// The distribution groups: the current group when a distribution is enabled.
static json_t *tk_distribution_groups(const struct tk_ctx *c)
{
  static const char *const flags[] = {"sagemaker_mpi_enabled",
                                      "sagemaker_parameter_server_enabled",
                                      "sagemaker_distributed_dataparallel_enabled",
                                      "sagemaker_pytorch_ddp_enabled",
                                      "sagemaker_pytorch_xla_multi_worker_enabled",
                                      "sagemaker_multi_worker_mirrored_strategy_enabled",
                                      "sagemaker_torch_distributed_enabled"};
  json_t *given = json_object_get(c->framework_params, "sagemaker_distribution_instance_groups");
  if (given) {
    return json_incref(given);
  }
  json_t *a = json_array();
  for (size_t i = 0; i < SMF_ARRAY_LEN(flags); i++) {
    if (json_is_true(json_object_get(c->sm, flags[i]))) {
      json_array_append_new(a, json_string(TK_GROUP));
      break;
    }
  }
  return a;
}

// Instance-group properties (heterogeneous-cluster support of the toolkit).
static void tk_group_props(struct tk_ctx *c, json_t *p)
{
  json_t *groups = json_object_get(c->rcfg, "instance_groups");
  json_t *names = json_array(), *dict = json_object(), *cur_hosts = json_array();
  json_t *dist_groups = tk_distribution_groups(c), *dist_hosts = json_array();
  const char *cur = json_string_value(json_object_get(p, "current_instance_group"));
  size_t i;
  json_t *g;
  json_array_foreach(groups, i, g)
  {
    const char *gname = json_string_value(json_object_get(g, "instance_group_name"));
    json_array_append_new(names, json_string(gname));
    json_object_set(dict, gname, g);
    if (cur && strcmp(cur, gname) == 0) {
      json_array_extend(cur_hosts, json_object_get(g, "hosts"));
    }
    size_t j;
    json_t *dg;
    json_array_foreach(dist_groups, j, dg)
    {
      if (json_is_string(dg) && strcmp(json_string_value(dg), gname) == 0) {
        json_array_extend(dist_hosts, json_object_get(g, "hosts"));
      }
    }
  }
  json_t *hosts = json_object_get(c->rcfg, "hosts");
  json_t *master =
      json_array_size(dist_hosts) ? json_array_get(dist_hosts, 0) : json_array_get(hosts, 0);
  json_object_set(p, "master_hostname", master);
  json_object_set_new(p, "is_master",
                      json_boolean(json_equal(master, json_object_get(c->rcfg, "current_host"))));
  json_object_set_new(p, "is_hetero", json_boolean(json_array_size(names) > 1));
  json_object_set_new(p, "instance_groups", names);
  json_object_set_new(p, "instance_groups_dict", dict);
  json_object_set_new(p, "current_instance_group_hosts", cur_hosts);
  json_object_set_new(p, "distribution_instance_groups", dist_groups);
  json_object_set_new(p, "distribution_hosts", dist_hosts);
}

// Every property of the toolkit's Environment (dict(env) = SM_TRAINING_ENV).
static void tk_props(struct tk_ctx *c, const struct target_training_job *job)
{
  json_t *p = json_object();
  const char *program = tk_sm_str(c, "sagemaker_program", NULL);
  char *module = NULL;
  if (program) {
    size_t n = strlen(program);
    module = smf_str_endswith(program, ".py") ? smf_xstrndup(program, n - 3) : smf_xstrdup(program);
  }
  json_t *channels = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(c->idc, k, v)
  {
    (void)v;
    char *rel = smf_xasprintf("input/data/%s", k);
    tk_set_path(channels, k, c->base, rel);
    free(rel);
  }
  json_object_set_new(p, "additional_framework_parameters", json_incref(c->framework_params));
  json_object_set_new(p, "channel_input_dirs", channels);
  json_object_set(p, "current_host", json_object_get(c->rcfg, "current_host"));
  const char *group = json_string_value(json_object_get(c->rcfg, "current_group_name"));
  json_object_set_new(p, "current_instance_group", json_string(group ? group : TK_GROUP));
  const json_t *itype = json_object_get(c->rcfg, "current_instance_type");
  json_object_set_new(p, "current_instance_type",
                      itype ? json_incref((json_t *)itype) : json_string("local"));
  tk_group_props(c, p);
  json_object_set_new(p, "framework_module", json_null());
  json_object_set(p, "hosts", json_object_get(c->rcfg, "hosts"));
  json_object_set(p, "hyperparameters", c->hps);
  tk_set_path(p, "input_config_dir", c->base, "input/config");
  json_object_set(p, "input_data_config", c->idc);
  tk_set_path(p, "input_dir", c->base, "input");
  json_object_set_new(p, "is_modelparallel_enabled", json_null());
  json_object_set_new(p, "job_name", json_string(job->job_name));
  json_t *level = json_object_get(c->sm, "sagemaker_container_log_level");
  json_object_set_new(p, "log_level", level ? json_incref(level) : json_integer(20));
  tk_set_path(p, "model_dir", c->base, "model");
  char *code = smf_xasprintf("%s/code", c->base);
  json_object_set_new(p, "module_dir",
                      json_string(tk_sm_str(c, "sagemaker_submit_directory", code)));
  free(code);
  json_object_set_new(p, "module_name", module ? json_string(module) : json_null());
  const json_t *nic = json_object_get(c->rcfg, "network_interface_name");
  json_object_set_new(p, "network_interface_name",
                      json_string(nic ? json_string_value(nic) : "eth0"));
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  json_object_set_new(p, "num_cpus", json_integer(cpus > 0 ? cpus : 1));
  json_object_set_new(p, "num_gpus", json_integer(0));
  json_object_set_new(p, "num_neurons", json_integer(0));  // no neuron-ls here
  json_object_set_new(p, "is_smddprun_installed", json_false());
  json_object_set_new(p, "is_smddpmprun_installed", json_false());
  json_t *topology = json_object_get(c->rcfg, "topology");
  json_object_set_new(p, "topology", topology ? json_incref(topology) : json_array());
  tk_set_path(p, "output_data_dir", c->base, "output/data");
  tk_set_path(p, "output_dir", c->base, "output");
  tk_set_path(p, "output_intermediate_dir", c->base, "output/intermediate");
  json_object_set(p, "resource_config", c->rcfg);
  json_object_set_new(p, "user_entry_point", program ? json_string(program) : json_null());
  free(module);
  c->props = p;
}

// mapping.to_cmd_args(hyperparameters).
static void tk_args(const struct tk_ctx *c, struct local_tk_env *out, json_t *user_args)
{
  size_t n = json_object_size(c->hps);
  const char **keys = smf_xcalloc(n ? n : 1, sizeof(*keys));
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(c->hps, k, v)
  {
    (void)v;
    keys[i++] = k;
  }
  for (size_t a = 1; a < n; a++) {  // insertion sort: a handful of keys
    for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
      const char *t = keys[b];
      keys[b] = keys[b - 1];
      keys[b - 1] = t;
    }
  }
  out->args = smf_xcalloc(2 * n + 1, sizeof(char *));
  for (i = 0; i < n; i++) {
    char *name = smf_xasprintf(strlen(keys[i]) > 1 ? "--%s" : "-%s", keys[i]);
    struct smf_buf val = SMF_BUF_INIT;
    target_py_str(json_object_get(c->hps, keys[i]), &val);
    json_array_append_new(user_args, json_string(name));
    json_array_append_new(user_args, json_string(smf_buf_cstr(&val)));
    out->args[out->n_args++] = name;
    out->args[out->n_args++] = smf_xstrdup(smf_buf_cstr(&val));
    smf_buf_free(&val);
  }
  free(keys);
}

static void tk_env_add(struct local_tk_env *out, size_t *cap, const char *name, const char *value)
{
  if (out->n_env + 1 >= *cap) {
    *cap = *cap ? *cap * 2 : 64;
    out->env = smf_xrealloc(out->env, *cap * sizeof(char *));
  }
  out->env[out->n_env++] = smf_xasprintf("%s=%s", name, value);
  out->env[out->n_env] = NULL;
}

// format_key/format_value of mapping.to_env_vars.
static void tk_env_put(struct local_tk_env *out, size_t *cap, const char *key, const json_t *v)
{
  struct smf_buf name = SMF_BUF_INIT, val = SMF_BUF_INIT;
  smf_buf_puts(&name, "SM_");
  for (const char *p = key; *p; p++) {
    char ch = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
    smf_buf_append(&name, &ch, 1);
  }
  if (json_is_string(v)) {
    smf_buf_puts(&val, json_string_value(v));
  } else if (!json_is_null(v) && v != NULL) {
    target_py_dumps_compact(v, &val);
  }
  tk_env_add(out, cap, smf_buf_cstr(&name), smf_buf_cstr(&val));
  smf_buf_free(&name);
  smf_buf_free(&val);
}

// sorted(self.channel_input_dirs.keys()): a new array (few channels: an
// insertion sort).
static json_t *tk_channel_names(json_t *channels)
{
  json_t *names = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(channels, k, v)
  {
    json_array_append_new(names, json_string(k));
  }
  for (size_t a = 1; a < json_array_size(names); a++) {
    for (size_t b = a; b > 0; b--) {
      json_t *x = json_array_get(names, b - 1), *y = json_array_get(names, b);
      if (strcmp(json_string_value(x), json_string_value(y)) <= 0) {
        break;
      }
      json_incref(x);
      json_array_set(names, b - 1, y);
      json_array_set_new(names, b, x);
    }
  }
  return names;
}

static void tk_env_vars(struct tk_ctx *c, struct local_tk_env *out, json_t *user_args)
{
  // to_env_vars(): key -> the property it reports.
  static const char *const map[][2] = {
      {"hosts", "hosts"},
      {"network_interface_name", "network_interface_name"},
      {"hps", "hyperparameters"},
      {"user_entry_point", "user_entry_point"},
      {"framework_params", "additional_framework_parameters"},
      {"resource_config", "resource_config"},
      {"input_data_config", "input_data_config"},
      {"output_data_dir", "output_data_dir"},
      {"current_host", "current_host"},
      {"current_instance_type", "current_instance_type"},
      {"current_instance_group", "current_instance_group"},
      {"current_instance_group_hosts", "current_instance_group_hosts"},
      {"instance_groups", "instance_groups"},
      {"instance_groups_dict", "instance_groups_dict"},
      {"distribution_instance_groups", "distribution_instance_groups"},
      {"is_hetero", "is_hetero"},
      {"module_name", "module_name"},
      {"log_level", "log_level"},
      {"framework_module", "framework_module"},
      {"input_dir", "input_dir"},
      {"input_config_dir", "input_config_dir"},
      {"output_dir", "output_dir"},
      {"num_cpus", "num_cpus"},
      {"num_gpus", "num_gpus"},
      {"num_neurons", "num_neurons"},
      {"model_dir", "model_dir"},
      {"module_dir", "module_dir"},
      {"output_intermediate_dir", "output_intermediate_dir"}};
  size_t cap = 0;
  for (size_t i = 0; i < SMF_ARRAY_LEN(map); i++) {
    tk_env_put(out, &cap, map[i][0], json_object_get(c->props, map[i][1]));
  }
  json_t *topology = json_object_get(c->props, "topology");
  if (json_array_size(topology) > 0) {  // only when the cluster has one
    tk_env_put(out, &cap, "topology", topology);
  }
  json_t *channels = json_object_get(c->props, "channel_input_dirs");
  json_t *names = tk_channel_names(channels);
  const char *k;
  json_t *v;
  tk_env_put(out, &cap, "channels", names);
  json_decref(names);
  tk_env_put(out, &cap, "training_env", c->props);
  tk_env_put(out, &cap, "user_args", user_args);
  json_object_foreach(channels, k, v)
  {
    char *key = smf_xasprintf("channel_%s", k);
    tk_env_put(out, &cap, key, v);
    free(key);
  }
  json_object_foreach(c->hps, k, v)
  {
    char *key = smf_xasprintf("hp_%s", k);
    tk_env_put(out, &cap, key, v);
    free(key);
  }
  // What the toolkit itself exports and the platform sets.
  tk_env_add(out, &cap, "TRAINING_JOB_NAME",
             json_string_value(json_object_get(c->props, "job_name")));
  char *arn = smf_xasprintf("arn:aws:sagemaker:%s:000000000000:training-job/%s",
                            tk_sm_str(c, "sagemaker_region", "us-east-1"),
                            json_string_value(json_object_get(c->props, "job_name")));
  tk_env_add(out, &cap, "TRAINING_JOB_ARN", arn);  // set by the platform, as the name
  free(arn);
  tk_env_add(out, &cap, "SAGEMAKER_JOB_NAME", tk_sm_str(c, "sagemaker_job_name", ""));
  tk_env_add(out, &cap, "CURRENT_HOST",
             json_string_value(json_object_get(c->props, "current_host")));
  tk_env_add(out, &cap, "SAGEMAKER_REGION", tk_sm_str(c, "sagemaker_region", ""));
}

// The config files, written as the platform writes them (scratch: no fsync);
// the directories of the layout made top-down, one mkdir each.
static int tk_write_config(const char *opt_ml, const struct target_training_job *job,
                           const struct tk_ctx *c, struct smf_error *err)
{
  static const char *const dirs[] = {"",      "input",  "input/config", "input/data",
                                     "model", "output", "output/data",  "output/intermediate",
                                     "code"};
  int rc = smf_mkdir_p(opt_ml, err);
  for (size_t i = 1; rc == 0 && i < SMF_ARRAY_LEN(dirs) + job->n_channels; i++) {
    char *path = i < SMF_ARRAY_LEN(dirs)
                     ? smf_xasprintf("%s/%s", opt_ml, dirs[i])
                     : smf_xasprintf("%s/input/data/%s", opt_ml,
                                     job->channels[i - SMF_ARRAY_LEN(dirs)].name);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
      rc = SMF_ERR_SET(err, SMF_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    free(path);
  }
  static const char *const names[] = {"hyperparameters", "resourceconfig", "inputdataconfig"};
  const json_t *docs[] = {c->hps_raw, c->rcfg, c->idc};
  for (size_t i = 0; rc == 0 && i < SMF_ARRAY_LEN(names); i++) {
    char *path = smf_xasprintf("%s/input/config/%s.json", opt_ml, names[i]);
    rc = local_json_write_scratch(path, docs[i], err);
    free(path);
  }
  return rc;
}

int local_tk_prepare(const char *opt_ml, const struct target_training_job *job,
                     const struct target_hps *hps, int host_index, int n_hosts,
                     struct local_tk_env *out, struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  struct tk_ctx c = {.base = opt_ml};
  c.hps_raw = json_object();
  for (size_t i = 0; i < hps->n; i++) {
    json_object_set_new(c.hps_raw, hps->items[i].name, json_string(hps->items[i].json));
  }
  c.rcfg = tk_resource_config(job, host_index, n_hosts);
  c.idc = tk_input_data_config(job);
  int rc = tk_write_config(opt_ml, job, &c, err);
  if (rc == 0) {
    // From the documents just written, as the toolkit reads them back.
    tk_split_hps(&c);
    tk_props(&c, job);
    json_t *user_args = json_array();
    tk_args(&c, out, user_args);
    tk_env_vars(&c, out, user_args);
    json_decref(user_args);
  }
  json_decref(c.rcfg);
  json_decref(c.idc);
  json_decref(c.hps_raw);
  json_decref(c.hps);
  json_decref(c.sm);
  json_decref(c.framework_params);
  json_decref(c.props);
  if (rc != 0) {
    local_tk_env_free(out);
  }
  return rc;
}

void local_tk_env_free(struct local_tk_env *e)
{
  for (size_t i = 0; i < e->n_env; i++) {
    free(e->env[i]);
  }
  for (size_t i = 0; i < e->n_args; i++) {
    free(e->args[i]);
  }
  free(e->env);
  free(e->args);
  memset(e, 0, sizeof(*e));
}

const char *local_env_get(char *const *env, size_t n, const char *name)
{
  size_t len = strlen(name);
  for (size_t i = 0; i < n; i++) {
    if (strncmp(env[i], name, len) == 0 && env[i][len] == '=') {
      return env[i] + len + 1;
    }
  }
  return NULL;
}
