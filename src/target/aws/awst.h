// awst.h: the `aws` target's private interface (src/target/aws/): the target
// state, the request builders (pure functions, unit-tested against the SDK's
// requests), image URI resolution, and the job/hosting/registry/store groups.
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "smflow/aws.h"
#include "target/target.h"

struct bucket_req;
struct awst_refresh;
struct aws_shared_config;

/// A job or deploy in flight, listed so that target_close can quiesce it.
struct awst_live {
  struct awst_live *prev, *next;
  void (*quiesce)(struct awst_live *l);  ///< close its timer; no events from now on
};

/// The aws target's state (target->impl).
struct awst {
  struct aws_client *client;
  char *default_bucket;               ///< sagemaker-REGION-ACCOUNT
  bool default_bucket_ready;          ///< created (or found) in this process
  bool bucket_pending;                ///< its CreateBucket is in flight
  struct bucket_req *bucket_waiters;  ///< callers waiting for it
  char *share_dir;                    ///< where image_uris/ lives
  int64_t poll_min_ms;                ///< first Describe interval (adaptive up to poll_max_ms)
  int64_t poll_max_ms;
  unsigned live_jobs;            ///< jobs and deploys in flight (for tests)
  struct awst_live live;         ///< list head of what is in flight
  struct awst_refresh *refresh;  ///< credential refresher (refresh.c), or NULL
  unsigned creds_refreshes;      ///< credentials handed to the client after setup
  bool closing;                  ///< target_close was called: deliver nothing more
};

/// Add to / remove from the target's list of things in flight.
void awst_live_add(struct target *t, struct awst_live *l, void (*quiesce)(struct awst_live *l));
void awst_live_remove(struct target *t, struct awst_live *l);

/// The target's state.
struct awst *awst_of(struct target *t);

/// What the request builders need to know about the target (borrowed).
struct awst_env {
  const char *region;
  const char *account;         ///< may be NULL (tests)
  const char *role;            ///< the pipeline's role, or NULL
  const char *share_dir;       ///< image_uris data; NULL = the built-in search
  const char *default_bucket;  ///< sagemaker-REGION-ACCOUNT
};

// ---------------------------------------------------------------------------
// images.c: the SDK's sagemaker.image_uris.retrieve, offline.

/// Where an image is used: training (fit), inference (deploy, register, and
/// evaluate's processing container, as the SDK's FrameworkProcessor does for
/// sklearn; see docs/aws-target.md).
enum awst_scope { AWST_SCOPE_TRAINING, AWST_SCOPE_INFERENCE };

/// The URI image_uris.retrieve(framework, region, version, py_version,
/// instance_type, image_scope) returns. `distribution` (may be NULL) only
/// matters for the p4d/smdistributed container suffix. Unsupported
/// combinations fail with SMF_EVALIDATE and a message naming what is supported.
/// Caller frees *out.
int awst_image_uri(const char *share_dir, const char *framework, const char *version,
                   const char *py_version, const char *instance_type, const char *region,
                   enum awst_scope scope, bool smdistributed, char **out, struct smf_error *err);

/// The directory that holds image_uris/*.json (share_dir if not NULL, else
/// SMFLOW_SHARE_DIR, the installed share dir, the source tree's). Borrowed.
const char *awst_share_dir(const char *share_dir);

/// "amazonaws.com", "amazonaws.com.cn", ... the DNS suffix of ECR in a region.
const char *awst_dns_suffix(const char *region);

// ---------------------------------------------------------------------------
// request_training.c: CreateTrainingJob as the SDK v2 builds it.

/// The CreateTrainingJob body for `job` (its `spec` gives the estimator
/// settings without a field of their own). *image_out (may be NULL) gets the
/// training image (caller frees). Caller decrefs *out.
int awst_training_request(const struct awst_env *env, const struct target_training_job *job,
                          json_t **out, char **image_out, struct smf_error *err);

/// The spec fingerprint of a request body: SHA-256 (hex, first 32 digits) of
/// its canonical JSON without Tags. Caller frees.
char *awst_fingerprint(const json_t *body);

/// Tags [{Key, Value}] from key/value pairs plus smflow:fingerprint = fp.
json_t *awst_tags(const struct target_kv *kv, size_t n, const char *fp);

/// "s3://BUCKET/KEY" → bucket and key (caller frees both). SMF_EINVAL otherwise.
int awst_s3_split(const char *uri, char **bucket, char **key, struct smf_error *err);

/// A spec value as text (strings as they are, numbers as written). Borrowed or
/// from the node's source text; NULL when absent.
const char *awst_spec_str(const struct dsl_node *spec, const char *key);

// ---------------------------------------------------------------------------
// request_other.c: CreateProcessingJob, CreateModel, CreateEndpointConfig,
// CreateModelPackage.

int awst_processing_request(const struct awst_env *env, const struct target_processing_job *job,
                            json_t **out, char **image_out, struct smf_error *err);
/// CreateModel for an endpoint spec (image resolved for inference). Caller decrefs.
int awst_model_request(const struct awst_env *env, const struct target_endpoint_spec *spec,
                       json_t **out, struct smf_error *err);
json_t *awst_endpoint_config_request(const struct target_endpoint_spec *spec);
int awst_model_package_request(const struct awst_env *env, const struct target_model_package *pkg,
                               json_t **out, struct smf_error *err);

// ---------------------------------------------------------------------------
// failures.c: SageMaker's failure reasons → smflow's retry classes.

/// The class of a failed job from its FailureReason / SecondaryStatus.
enum smf_errclass awst_failure_class(const char *failure_reason, const char *secondary_status);
/// The class of a failed API call (its AWS error code).
enum smf_errclass awst_api_class(const struct smf_error *err);
/// Say what failed before err's message, once: "SUBJECT: WHAT: message", or
/// "SUBJECT: message" when the message names WHAT already (the client's errors
/// read "Service Operation: HTTP 403 Code: message (request id X)").
void awst_error_context(struct smf_error *e, const char *subject, const char *what);

// ---------------------------------------------------------------------------
// The groups of the vtable.

extern const struct target_store_ops awst_store_ops;
extern const struct target_job_ops awst_training_ops;
extern const struct target_job_ops awst_processing_ops;
extern const struct target_hosting_ops awst_hosting_ops;
/// Record a deployed endpoint in the state database (when the target has one):
/// spec_json {"target": "aws", "region": R} tells `smflow endpoints` / `invoke`
/// where it lives. Borrowed arguments; a failure is only logged.
void awst_endpoint_record(struct target *t, const char *endpoint, const char *config_name,
                          const char *model_name, const char *model_data);
/// The CreateEndpoint body of a new endpoint with the config `config` (the
/// CreateEndpointConfig body: its Tags are the endpoint's). Caller decrefs.
json_t *awst_endpoint_request(const char *endpoint, const char *config_name, const json_t *config);
/// Where a deploy with an entry point stores the model repacked with its code
/// (the SDK's s3://DEFAULT_BUCKET/MODEL_NAME/model.tar.gz), the ModelDataUrl of
/// its CreateModel. Caller frees.
char *awst_repack_uri(const char *default_bucket, const char *model_name);
/// Where the SDK uploads inference code that is not repacked:
/// s3://DEFAULT_BUCKET/MODEL_NAME/sourcedir.tar.gz (SAGEMAKER_SUBMIT_DIRECTORY). Caller frees.
char *awst_sourcedir_uri(const char *default_bucket, const char *model_name);
/// hosting.remove: DeleteEndpoint, its config and its models, and the record.
int awst_endpoint_remove(struct target *t, const char *endpoint, target_done_cb cb, void *data,
                         struct smf_error *err);
/// target_vtable.job_logs: CloudWatch lines of a job by name (joblogs.c).
int awst_job_logs(struct target *t, bool processing, const char *job_name, bool follow,
                  target_event_cb cb, void *data, struct smf_error *err);
/// hosting.invoke: InvokeEndpoint.
int awst_endpoint_invoke(struct target *t, const struct target_invoke *req, target_invoke_cb cb,
                         void *data, struct smf_error *err);
extern const struct target_registry_ops awst_registry_ops;

/// Make sure the default bucket exists before writing to it (CreateBucket once
/// per process; "already owned by you" is fine). cb(data, status, err).
int awst_bucket_ensure(struct target *t, const char *bucket, target_done_cb cb, void *data,
                       struct smf_error *err);

/// How the SDK's Model class of a deploy or register ships the inference code
/// (repack.c): Model.deploy / Model.register → prepare_container_def → _upload_code.
enum awst_code {
  AWST_CODE_NONE,    ///< no entry point
  AWST_CODE_REPACK,  ///< into the model: awst_repack_uri, SAGEMAKER_SUBMIT_DIRECTORY
                     ///< /opt/ml/model/code
  AWST_CODE_UPLOAD,  ///< beside the model, left as it is: awst_sourcedir_uri
};

/// The rule of the SDK's model class for `framework` (NULL: the generic
/// Model): SKLearnModel / XGBoostModel upload (they repack only with network
/// isolation, which deploy and register do not set), PyTorchModel repacks from
/// 1.2 on and MXNetModel from 1.4 on (MMS images), TensorFlowModel and
/// HuggingFaceModel always repack, Model repacks when source_dir is given.
enum awst_code awst_code_mode(const char *framework, const char *framework_version,
                              const char *entry_point, bool has_source_dir);

/// The inference code of a deploy or register: the entry point, as the
/// request names it (relative to source_dir when there is one), and the local
/// file or directory packed (absolute). Borrowed from the step's spec.
struct awst_code_src {
  const char *entry_point;
  const char *source_dir;  ///< a directory, or the entry point file alone
};

/// Repack model_uri with the code under code/ and store it at dest_uri
/// (repack.c). cb(data, status, err) once, later. `name` names the temporary files.
int awst_repack(struct target *t, const char *model_uri, const struct awst_code_src *code,
                const char *name, const char *dest_uri, target_done_cb cb, void *data,
                struct smf_error *err);
/// Pack the code as sourcedir.tar.gz (the directory's contents, or the file
/// alone, at the archive's root, as the SDK's tar_and_upload_dir) and store it
/// at dest_uri with SSE aws:kms. cb(data, status, err) once, later.
int awst_code_upload(struct target *t, const struct awst_code_src *code, const char *name,
                     const char *dest_uri, target_done_cb cb, void *data, struct smf_error *err);

/// Keep credentials that expire fresh during the run (refresh.c).
int awst_refresh_start(struct target *t, const struct aws_shared_config *sc, struct smf_error *err);
/// Stop refreshing (target_close).
void awst_refresh_close(struct target *t);

/// The env of a target.
void awst_env_of(struct target *t, struct awst_env *env);

/// Create the aws target (see target.c). Caller frees with target_free.
int aws_target_new(const struct target_config *cfg, struct target **out, struct smf_error *err);
