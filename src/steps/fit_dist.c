// fit_dist.c: the hyperparameters the SageMaker Python SDK adds for a fit's
// `distribution` (Framework._distribution_configuration for tensorflow,
// huggingface and mxnet, PyTorch's own _pytorch_distribution_configuration for
// pytorch; the other estimators send none):
//   parameter_server          sagemaker_parameter_server_enabled
//   mpi                       sagemaker_mpi_enabled, sagemaker_mpi_num_of_processes_per_host
//                             (when set), sagemaker_mpi_custom_mpi_options ("" by default)
//   smdistributed.dataparallel sagemaker_distributed_dataparallel_enabled,
//                             sagemaker_instance_type, and when enabled
//                             sagemaker_distributed_dataparallel_custom_mpi_options
//   pytorchddp (pytorch)      rewritten to smdistributed.dataparallel first, as the
//                             SDK's PyTorch estimator does (it never sends
//                             sagemaker_pytorch_ddp_enabled)
//   torch_distributed (pytorch) sagemaker_torch_distributed_enabled + sagemaker_instance_type
// The training job sends them JSON-encoded beside the user's hyperparameters, and
// the local target's toolkit environment reports them in SM_FRAMEWORK_PARAMS.
// TensorFlow's estimator adds model_dir too (a user hyperparameter for the
// toolkit: SM_HPS and --model_dir): the spec's model_dir, else /opt/ml/model with
// mpi enabled, else OUTPUT_PATH/JOB_NAME/model - what the aws request builder sends.
#include <string.h>

#include "smflow/util.h"
#include "steps/common.h"

static bool fd_enabled(const struct dsl_node *parent, const char *key)
{
  const struct dsl_node *d = dsl_map_get(parent, key);
  return d && d->type == DSL_MAP && dsl_map_bool(d, "enabled", false);
}

// `ddp` (or NULL): a pytorchddp map, sent as smdistributed dataparallel.
static void fd_generic(const struct dsl_node *dist, const struct dsl_node *ddp, const char *itype,
                       json_t *hps)
{
  if (dsl_map_get(dist, "parameter_server")) {
    json_object_set_new(hps, "sagemaker_parameter_server_enabled",
                        json_boolean(fd_enabled(dist, "parameter_server")));
  }
  const struct dsl_node *mpi = dsl_map_get(dist, "mpi");
  if (mpi) {
    json_object_set_new(hps, "sagemaker_mpi_enabled", json_boolean(fd_enabled(dist, "mpi")));
    const struct dsl_node *pph = dsl_map_get(mpi, "processes_per_host");
    if (pph && pph->type == DSL_INT && pph->u.i != 0) {
      json_object_set_new(hps, "sagemaker_mpi_num_of_processes_per_host", json_integer(pph->u.i));
    }
    json_object_set_new(hps, "sagemaker_mpi_custom_mpi_options",
                        json_string(dsl_map_str(mpi, "custom_mpi_options", "")));
  }
  const struct dsl_node *smd = dsl_map_get(dist, "smdistributed");
  if (smd || ddp) {
    const struct dsl_node *o = ddp ? ddp : dsl_map_get(smd, "dataparallel");
    bool dp = o && o->type == DSL_MAP && dsl_map_bool(o, "enabled", false);
    json_object_set_new(hps, "sagemaker_distributed_dataparallel_enabled", json_boolean(dp));
    json_object_set_new(hps, "sagemaker_instance_type", itype ? json_string(itype) : json_null());
    if (dp) {
      json_object_set_new(hps, "sagemaker_distributed_dataparallel_custom_mpi_options",
                          json_string(dsl_map_str(o, "custom_mpi_options", "")));
    }
  }
}

static void fd_pytorch(const struct dsl_node *dist, const char *itype, json_t *hps)
{
  const struct dsl_node *ddp = dsl_map_get(dist, "pytorchddp");
  if (ddp == NULL && fd_enabled(dist, "torch_distributed")) {
    if (dsl_map_get(dist, "smdistributed")) {
      fd_generic(dist, NULL, itype, hps);
    }
    json_object_set_new(hps, "sagemaker_torch_distributed_enabled", json_true());
    if (itype) {
      json_object_set_new(hps, "sagemaker_instance_type", json_string(itype));
    }
    return;
  }
  fd_generic(dist, ddp, itype, hps);
}

// OUTPUT_PATH/JOB/model, trailing slashes of output_path dropped (not s3://'s own).
static char *fd_model_dir(const char *output_path, const char *job_name)
{
  size_t n = strlen(output_path);
  while (n > 0 && output_path[n - 1] == '/' &&
         !(n == 5 && smf_str_startswith(output_path, "s3://"))) {
    n--;
  }
  const char *sep = n > 0 && output_path[n - 1] == '/' ? "" : "/";
  return smf_xasprintf("%.*s%s%s/model", (int)n, output_path, sep, job_name);
}

static void fd_tensorflow_model_dir(const struct dsl_node *spec, const struct dsl_node *dist,
                                    const char *output_path, const char *job_name, json_t *hps)
{
  const char *md = dsl_map_str(spec, "model_dir", NULL);
  if (md) {
    json_object_set_new(hps, "model_dir", json_string(md));
  } else if (dist && dist->type == DSL_MAP && fd_enabled(dist, "mpi")) {
    json_object_set_new(hps, "model_dir", json_string("/opt/ml/model"));
  } else if (output_path && job_name) {
    char *def = fd_model_dir(output_path, job_name);
    json_object_set_new(hps, "model_dir", json_string(def));
    free(def);
  }
}

const struct dsl_node *step_fit_framework_hps(struct step_ctx *ctx, const struct dsl_node *spec,
                                              const char *output_path, const char *job_name)
{
  const struct dsl_node *dist = dsl_map_get(spec, "distribution");
  const char *itype = dsl_map_str(spec, "instance_type", NULL);
  const char *fw = dsl_map_str(spec, "framework", NULL);
  json_t *hps = json_object();
  if (dist && dist->type == DSL_MAP) {
    if (fw && strcmp(fw, "pytorch") == 0) {
      fd_pytorch(dist, itype, hps);
    } else if (fw && (strcmp(fw, "tensorflow") == 0 || strcmp(fw, "huggingface") == 0 ||
                      strcmp(fw, "mxnet") == 0)) {
      fd_generic(dist, NULL, itype, hps);
    }  // other estimators (xgboost, sklearn, a plain image) send no distribution keys
  }
  if (fw && strcmp(fw, "tensorflow") == 0) {
    fd_tensorflow_model_dir(spec, dist, output_path, job_name, hps);
  }
  const struct dsl_node *n = json_object_size(hps) ? step_json_node(ctx, hps) : NULL;
  json_decref(hps);
  return n;
}
