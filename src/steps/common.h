// common.h: helpers shared by the step kinds of src/steps/ (private).
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "smflow/step.h"
#include "target/target.h"

/// The bucket the local target uses where SageMaker would use the default
/// bucket `sagemaker-REGION-ACCOUNT`: the same name with the account 000000000000.
#define STEP_LOCAL_ACCOUNT "000000000000"

/// The run's target, or NULL with *err set (ClientError) when there is none.
struct target *step_target(struct step_ctx *ctx, struct smf_error *err);
/// `s3://sagemaker-REGION-000000000000/` of the target's region (in ctx->arena).
const char *step_default_bucket_uri(struct step_ctx *ctx);
/// A path of the spec made absolute against the pipeline's directory; URIs
/// (scheme://) are returned as they are. In ctx->arena.
const char *step_path(struct step_ctx *ctx, const char *p);
/// The deterministic job name BASE-RUNID-STEP-ATTEMPT (<= 63 chars,
/// [a-zA-Z0-9-]); see step_job_name's comment in common.c. In ctx->arena.
const char *step_job_name(struct step_ctx *ctx, const char *base);
/// The job-name base of a spec: base_job_name, else the image's repository name,
/// else the framework, else the step id.
const char *step_job_base(struct step_ctx *ctx);
/// Map of scalars → key/value strings (in ctx->arena). NULL map: n = 0.
struct target_kv *step_kvs(struct step_ctx *ctx, const struct dsl_node *map, size_t *n);
/// `command:` (a string split on blanks, or a list) → argv (in ctx->arena).
const char *const *step_argv(struct step_ctx *ctx, const struct dsl_node *cmd, size_t *n);
/// A scalar as text (numbers as written, booleans true/false). In ctx->arena.
const char *step_scalar(struct step_ctx *ctx, const struct dsl_node *v);
/// jansson value → value tree in ctx->arena.
struct dsl_node *step_json_node(struct step_ctx *ctx, const json_t *j);
/// The hyperparameters the SDK's estimator adds to the user's (fit_dist.c): the
/// sagemaker_* keys of the fit spec's `distribution` and TensorFlow's model_dir
/// (OUTPUT_PATH/JOB_NAME/model by default), as a DSL_MAP in ctx's arena; NULL when
/// there are none. output_path and job_name are borrowed.
const struct dsl_node *step_fit_framework_hps(struct step_ctx *ctx, const struct dsl_node *spec,
                                              const char *output_path, const char *job_name);
/// Fail the attempt now (from a loop callback) with class and message.
void step_fail(struct step_ctx *ctx, int code, enum smf_errclass klass, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/// Parse intent JSON text; NULL when it is not an object.
json_t *step_intent_parse(const char *text);

/// Completion of step_stage_local: status 0 with uri (borrowed for the call)
/// naming the object, else err (class set).
typedef void (*step_stage_cb)(void *data, int status, const char *uri, const struct smf_error *err);
/// SPEC §5: a local file given where a remote target needs an object URI
/// (register's and deploy's `model_data`) is uploaded first, content addressed,
/// where the aws target stages job inputs: DEFAULT_BUCKET/smflow/inputs/SHA/NAME
/// (SHA: 16 hex digits of the SHA-256 over NAME, a NUL and the file's SHA-256),
/// then a marker SHA/.smflow-complete; nothing is uploaded when the marker
/// exists. Returns 0 when there is nothing to do (the local target, a URI, NULL:
/// cb never runs), 1 when cb runs once later, or a negative SMF_E* with *err set.
int step_stage_local(struct step_ctx *ctx, const char *path, step_stage_cb cb, void *data,
                     struct smf_error *err);
