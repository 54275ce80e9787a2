// target.h: the asynchronous target interface. Step kinds talk to the world
// only through it: `store` (objects), `training` (fit), `processing`
// (evaluate), `hosting` (deploy) and `registry` (register). target/local/ and
// target/aws/ implement it; a kind never asks which target it runs on.
//
// Conventions (STYLE §2, §3):
// - Every operation returns 0 or a negative SMF_E*; when it returns an error the
//   completion callback never runs. When it returns 0 the callback runs exactly
//   once, later, on the loop thread (never from inside the call).
// - Descriptions (jobs, endpoints) are borrowed for the duration of the call
//   only: the target copies what it keeps. Results handed to callbacks are
//   borrowed for the duration of the callback; copy what you keep.
// - Job descriptions are target-neutral and mirror the content of the
//   CreateTrainingJob / CreateProcessingJob requests, so that the aws target
//   builds the exact SDK request from the same struct; the local target runs
//   the same description on this machine.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "smflow/dsl.h"
#include "smflow/error.h"

struct state;
struct target;
struct target_job_ops;

/// A running job's handle. Implementations embed it as their first member.
struct target_job {
  struct target *target;
  const struct target_job_ops *ops;
};

// ---------------------------------------------------------------------------
// Small shared pieces.

/// One key/value string pair (environment, tags, metadata). Borrowed.
struct target_kv {
  const char *key;
  const char *value;
};

/// A completion without a payload.
typedef void (*target_done_cb)(void *data, int status, const struct smf_error *err);

// ---------------------------------------------------------------------------
// store: objects addressed by URI (s3://BUCKET/KEY; on local also file:// and paths).

/// One object, as head and list report it.
struct target_object {
  const char *uri;  ///< full URI of the object
  const char *key;  ///< key within its bucket (s3) or the path (file)
  uint64_t size;
  int64_t mtime_ms;  ///< last modification, ms since the epoch
};

/// status 0: *obj is set; SMF_ENOENT: the object does not exist (obj NULL).
typedef void (*target_head_cb)(void *data, int status, const struct target_object *obj,
                               const struct smf_error *err);
/// Objects whose key starts with the prefix, sorted by key.
typedef void (*target_list_cb)(void *data, int status, const struct target_object *objs, size_t n,
                               const struct smf_error *err);

/// How an object is stored (aws: server-side encryption). Borrowed.
struct target_put_opts {
  bool sse_kms;         ///< aws: x-amz-server-side-encryption: aws:kms
  const char *kms_key;  ///< aws: its key id with sse_kms (NULL: the AWS managed key)
  /// The caller gives the file up: a store on the same filesystem may rename it
  /// into place instead of copying it (local: it then syncs it as its own
  /// puts). The file may be gone afterwards; the caller still removes it.
  bool move;
};

struct target_store_ops {
  int (*put_file)(struct target *t, const char *path, const char *uri, target_done_cb cb,
                  void *data, struct smf_error *err);
  /// Optional: put_file with options (NULL: put_file, the options do not apply).
  int (*put_file_opts)(struct target *t, const char *path, const char *uri,
                       const struct target_put_opts *opts, target_done_cb cb, void *data,
                       struct smf_error *err);
  int (*put_bytes)(struct target *t, const void *bytes, size_t len, const char *uri,
                   target_done_cb cb, void *data, struct smf_error *err);
  int (*get_file)(struct target *t, const char *uri, const char *path, target_done_cb cb,
                  void *data, struct smf_error *err);
  int (*head)(struct target *t, const char *uri, target_head_cb cb, void *data,
              struct smf_error *err);
  int (*copy)(struct target *t, const char *src_uri, const char *dst_uri, target_done_cb cb,
              void *data, struct smf_error *err);
  int (*list)(struct target *t, const char *prefix_uri, target_list_cb cb, void *data,
              struct smf_error *err);
};

// ---------------------------------------------------------------------------
// Jobs (training and processing).

/// An input channel, as in CreateTrainingJob's InputDataConfig. NULL fields = the default.
struct target_channel {
  const char *name;        ///< channel name ("train", "training", ...)
  const char *uri;         ///< S3 prefix (S3Prefix) or manifest URI
  const char *input_mode;  ///< File | Pipe | FastFile (NULL: the job's input_mode)
  const char *content_type;
  const char *compression;   ///< NULL or "Gzip"
  const char *distribution;  ///< FullyReplicated (default) | ShardedByS3Key
  const char *s3_data_type;  ///< S3Prefix (default) | ManifestFile | AugmentedManifestFile
};

/// ResourceConfig + StoppingCondition.
struct target_resources {
  const char *instance_type;  ///< "ml.m5.large"; recorded by the local target
  int instance_count;         ///< >= 1
  int volume_size_gb;         ///< 0 = the default (30)
  int64_t max_run_ms;         ///< MaxRuntimeInSeconds * 1000; 0 = the default (1 day)
};

/// One metric definition: the last match's first group is the final value.
struct target_metric_def {
  const char *name;
  const char *regex;  ///< POSIX extended regular expression
};

/// A fully resolved training job (CreateTrainingJob content). All borrowed.
struct target_training_job {
  const char *job_name;  ///< decided by the caller (deterministic, <= 63 chars)
  const char *image_uri;
  const char *entry_point;     ///< "train.py" (sagemaker_program)
  const char *submit_dir_uri;  ///< sourcedir.tar.gz URI (sagemaker_submit_directory)
  /// Local interpreter argv (`command:`), e.g. {"python3"}; n_command 0 = python3.
  const char *const *command;
  size_t n_command;
  /// The user's hyperparameters as typed YAML values: a DSL_MAP or NULL.
  const struct dsl_node *hyperparameters;
  /// Extra sagemaker_* keys (distribution options), typed; DSL_MAP or NULL.
  const struct dsl_node *framework_hyperparameters;
  int container_log_level;  ///< sagemaker_container_log_level; 0 = 20 (logging.INFO)
  const char *region;       ///< sagemaker_region; NULL = "us-east-1" on local
  const char *role_arn;     ///< recorded only on local
  const char *input_mode;   ///< default TrainingInputMode for channels; NULL = File
  const struct target_channel *channels;
  size_t n_channels;
  const char *output_path;  ///< S3OutputPath: model at OUTPUT_PATH/JOB/output/model.tar.gz
  const char *output_kms_key;
  const char *checkpoint_s3_uri;
  const char *checkpoint_local_path;
  struct target_resources resources;
  const struct target_kv *environment;
  size_t n_environment;
  const struct target_kv *tags;
  size_t n_tags;
  const struct target_metric_def *metric_definitions;
  size_t n_metric_definitions;
  /// The interpolated `fit` spec (borrowed), or NULL: the aws target reads the
  /// SDK estimator settings that have no field above from it (framework,
  /// distribution, spot, volume_kms_key, subnets, debugger, profiler, ...).
  const struct dsl_node *spec;
};

/// One processing input (ProcessingInput): placed at a directory of the job.
struct target_proc_input {
  const char *name;  ///< the script gets `--NAME DIR`
  const char *uri;
};

/// A fully resolved processing job (CreateProcessingJob content), as evaluate uses it.
struct target_processing_job {
  const char *job_name;
  const char *image_uri;
  const char *entry_point;     ///< script file name inside the code
  const char *code_uri;        ///< sourcedir.tar.gz, or a directory / single file
  const char *const *command;  ///< interpreter argv; n_command 0 = python3
  size_t n_command;
  const char *model_uri;  ///< model.tar.gz, extracted for the script (`--model-dir`)
  const struct target_proc_input *inputs;
  size_t n_inputs;
  const char *report;      ///< file name of the JSON report inside the output dir
  const char *output_uri;  ///< where the outputs go (report at OUTPUT_URI/REPORT)
  struct target_resources resources;
  const struct target_kv *environment;
  size_t n_environment;
  const struct target_kv *tags;
  size_t n_tags;
  /// The interpolated `evaluate` spec (borrowed), or NULL (framework, volume_size, ...).
  const struct dsl_node *spec;
};

/// A final metric value.
struct target_metric {
  const char *name;
  double value;
};

enum target_job_status {
  TARGET_JOB_IN_PROGRESS,
  TARGET_JOB_COMPLETED,
  TARGET_JOB_FAILED,
  TARGET_JOB_STOPPED,
};
/// "InProgress", "Completed", "Failed", "Stopped" (SageMaker's words).
const char *target_job_status_name(enum target_job_status s);

/// What a finished job produced. Borrowed for the callback.
struct target_job_result {
  const char *job_name;
  const char *job_arn;
  enum target_job_status status;
  const char *failure_reason;  ///< NULL unless failed/stopped
  enum smf_errclass klass;     ///< failure class (AlgorithmError, Timeout, ...)
  int exit_code;               ///< algo-1's exit code (local), -1 if killed by a signal
  const char *model_data;      ///< training: OUTPUT_PATH/JOB/output/model.tar.gz
  const char *output_data;     ///< training: OUTPUT_PATH/JOB/output/output.tar.gz
  const char *image_uri;
  const char *report_uri;  ///< processing: the stored report
  const struct target_metric *metrics;
  size_t n_metrics;
  /// processing: the parsed report (a JSON object), borrowed; NULL for training.
  const char *report_json;
  int64_t billable_seconds;
};

enum target_event_type {
  /// The job was started: persist `intent` (JSON text) to re-attach after a crash.
  TARGET_EVENT_STARTED,
  /// One line of the job's log (without its newline), with the host prefix.
  TARGET_EVENT_LOG,
  /// The job ended (completed, failed or stopped): `result` is set. The last event.
  TARGET_EVENT_DONE,
};

struct target_event {
  enum target_event_type type;
  const char *job_name;
  const char *intent;                      ///< STARTED
  const char *host;                        ///< LOG: "algo-1", ...
  const char *line;                        ///< LOG
  const struct target_job_result *result;  ///< DONE
  const struct smf_error *err;             ///< DONE with a failure: its detail
};

/// Job events; DONE is delivered exactly once and is the last call for the job.
/// After DONE returns, the struct target_job is freed by the target.
typedef void (*target_event_cb)(void *data, const struct target_event *ev);

struct target_job_ops {
  /// Start a job described by `job` (a struct target_training_job or
  /// target_processing_job, by the ops group). *out: a handle for stop, borrowed
  /// until DONE.
  int (*start)(struct target *t, const void *job, target_event_cb cb, void *data,
               struct target_job **out, struct smf_error *err);
  /// Re-attach to a job started by an earlier process, from the `intent` its
  /// STARTED event gave. The job must be described again (same content).
  /// intent NULL: find the job by its name (SMF_ENOENT when no such job was
  /// started: then start it), for a crash before the intent was persisted.
  int (*attach)(struct target *t, const void *job, const char *intent, target_event_cb cb,
                void *data, struct target_job **out, struct smf_error *err);
  /// Ask a running job to stop; DONE follows with status Stopped.
  int (*stop)(struct target_job *j, struct smf_error *err);
  /// Forget a job without stopping it (smflow is shutting down and the job
  /// will be re-attached from its intent): no event follows, the handle is freed.
  void (*detach)(struct target_job *j);
};

// ---------------------------------------------------------------------------
// hosting: endpoints.

/// A model to serve, and the endpoint to serve it at (CreateModel + CreateEndpointConfig +
/// CreateEndpoint/UpdateEndpoint content). All borrowed.
struct target_endpoint_spec {
  const char *endpoint;  ///< endpoint name
  const char *model_name;
  const char *config_name;  ///< a new, uniquely named config per deploy
  const char *model_data;   ///< model.tar.gz URI (repacked with code/ when entry_point is set)
  const char *image_uri;
  /// The registered version deployed (`model_package`), or NULL. aws: CreateModel
  /// names it (ModelPackageName) as the SDK's ModelPackage.deploy does; the local
  /// target serves model_data / image_uri, which the step fills from the registry.
  const char *model_package_arn;
  const char *entry_point;  ///< SAGEMAKER_PROGRAM
  const char *source_dir;   ///< local directory of the inference code, or NULL
  const char *instance_type;
  int initial_instance_count;
  /// Local: the server command line; NULL = share/smflow/model_server.py with python3.
  const char *const *serve_command;
  size_t n_serve_command;
  const struct target_kv *environment;
  size_t n_environment;
  const struct target_kv *tags;
  size_t n_tags;
  /// The interpolated `deploy` spec (borrowed), or NULL (framework, strategy, ...).
  const struct dsl_node *spec;
};

/// What a deployed endpoint is. Borrowed for the callback.
struct target_endpoint_info {
  const char *endpoint;
  const char *endpoint_arn;
  const char *config_name;
  const char *model_name;
  const char *status;  ///< "InService", "Failed", ...
  const char *url;     ///< local: http://127.0.0.1:PORT
  int64_t pid;         ///< local: the server's process id
  /// JSON object of the spec last deployed there (model_data, entry_point,
  /// source_dir, image_uri, serve, environment), to restore it; NULL if unknown.
  const char *deployed_spec;
};

typedef void (*target_endpoint_cb)(void *data, int status, const struct target_endpoint_info *ep,
                                   const struct smf_error *err);

/// An InvokeEndpoint request. All borrowed.
struct target_invoke {
  const char *endpoint;
  const char *content_type;  ///< NULL = application/octet-stream
  const char *accept;        ///< NULL = */*
  const void *body;
  size_t len;
};

/// The endpoint's answer (borrowed for the callback).
struct target_invoke_result {
  long http_status;  ///< 0 when no answer came
  const char *body;  ///< the model's answer (or the error document)
  size_t len;
  const char *content_type;  ///< may be NULL
};

/// status 0 on a 2xx answer; else err has the status, AWS error code, message
/// and request id, and res (when an answer came) its body.
typedef void (*target_invoke_cb)(void *data, int status, const struct target_invoke_result *res,
                                 const struct smf_error *err);

struct target_hosting_ops {
  /// Create the endpoint, or update it when it exists: the old server keeps
  /// serving until the new one answers `/ping`, then it is replaced.
  int (*deploy)(struct target *t, const struct target_endpoint_spec *spec, target_endpoint_cb cb,
                void *data, struct smf_error *err);
  /// SMF_ENOENT in the callback when there is no such endpoint.
  int (*describe)(struct target *t, const char *endpoint, target_endpoint_cb cb, void *data,
                  struct smf_error *err);
  int (*remove)(struct target *t, const char *endpoint, target_done_cb cb, void *data,
                struct smf_error *err);
  /// Optional (NULL: SMF_EUNSUPPORTED): send one inference request (aws:
  /// InvokeEndpoint; the local target's endpoints are plain HTTP, see `smflow invoke`).
  int (*invoke)(struct target *t, const struct target_invoke *req, target_invoke_cb cb, void *data,
                struct smf_error *err);
  /// Optional (NULL: a deploy step restores by deploying `deployed_spec` again):
  /// serve the existing endpoint config `config_name` again, creating nothing
  /// (aws: UpdateEndpoint back to it, then DescribeEndpoint until InService).
  int (*restore)(struct target *t, const char *endpoint, const char *config_name,
                 target_endpoint_cb cb, void *data, struct smf_error *err);
};

// ---------------------------------------------------------------------------
// registry: model package groups and versions.

struct target_model_package {
  const char *group;
  int version;
  const char *arn;
  /// create_version: the name the inference code is stored under when an
  /// entry_point is given (aws: s3://DEFAULT_BUCKET/NAME/...; the SDK's
  /// name_from_image), deterministic per attempt; NULL: none.
  const char *model_name;
  const char *approval;  ///< Approved | PendingManualApproval | Rejected
  const char *model_data;
  const char *image_uri;
  const char *description;
  const char *metrics_uri;
  const struct target_kv *metadata;
  size_t n_metadata;
  /// The interpolated `register` spec (borrowed), or NULL: content_types,
  /// response_types, inference_instances, transform_instances, environment, ...
  const struct dsl_node *spec;
};

typedef void (*target_package_cb)(void *data, int status, const struct target_model_package *pkgs,
                                  size_t n, const struct smf_error *err);

struct target_registry_ops {
  /// "Already exists" is success.
  int (*create_group)(struct target *t, const char *group, const char *description,
                      target_done_cb cb, void *data, struct smf_error *err);
  /// `pkg->version` and `arn` are ignored on input; the callback gets the new version.
  int (*create_version)(struct target *t, const struct target_model_package *pkg,
                        target_package_cb cb, void *data, struct smf_error *err);
  int (*list)(struct target *t, const char *group, target_package_cb cb, void *data,
              struct smf_error *err);
  int (*update_approval)(struct target *t, const char *group, int version, const char *approval,
                         target_done_cb cb, void *data, struct smf_error *err);
};

// ---------------------------------------------------------------------------
// The target object.

/// One implementation. Groups a target does not offer are NULL (the wrappers
/// then fail with SMF_EUNSUPPORTED).
struct target_vtable {
  const char *name;  ///< "local", "aws"
  /// Its jobs, endpoints and objects survive a power loss of this machine
  /// (remote ones): a run syncs its state to the disk before each of them.
  /// Without it (local processes die with the machine) commits reach the disk
  /// at the run's end; a killed smflow loses nothing either way.
  bool outlives_host;
  const struct target_store_ops *store;
  const struct target_job_ops *training;
  const struct target_job_ops *processing;
  const struct target_hosting_ops *hosting;
  const struct target_registry_ops *registry;
  void (*free)(struct target *t);
  /// Optional: stop using the loop (close handles, cancel calls) so that the
  /// loop's last run can finish them; remote jobs are left running. Called by
  /// target_close, before the owner closes the loop's remaining handles.
  void (*close)(struct target *t);
  /// Optional (NULL: SMF_EUNSUPPORTED): stop the training (processing false) or
  /// processing job named job_name that an earlier process started and whose
  /// handle is gone (`smflow cancel`). Same callback contract as the other
  /// operations; status SMF_ENOENT when there is no such job.
  int (*stop_job_by_name)(struct target *t, bool processing, const char *job_name,
                          target_done_cb cb, void *data, struct smf_error *err);
  /// Optional (NULL: SMF_EUNSUPPORTED): the log lines of the training (processing
  /// false) or processing job named job_name, from its start, as LOG events, then
  /// one DONE (result NULL; err set when the job could not be read). follow: go
  /// on until the job has ended and its last lines are read (`smflow logs`).
  /// For commands: not stopped by target_close.
  int (*job_logs)(struct target *t, bool processing, const char *job_name, bool follow,
                  target_event_cb cb, void *data, struct smf_error *err);
};

/// Settings every target understands. Borrowed during target_new only.
struct target_config {
  uv_loop_t *loop;
  const char *state_dir;  ///< absolute; local jobs, store and endpoints live below it
  const char *base_dir;   ///< directory of the pipeline file (relative paths)
  const char *region;     ///< NULL = us-east-1
  const char *share_dir;  ///< where model_server.py is; NULL = the installed/source share/
  /// The open state database (borrowed, may be NULL): the local target keeps its
  /// model registry and endpoint records there (without it: files in state_dir).
  struct state *state;
  const char *role;  ///< the pipeline's `role:` (execution role ARN), or NULL
};

struct target {
  const struct target_vtable *vt;
  uv_loop_t *loop;
  char *state_dir;
  char *base_dir;
  char *region;
  char *share_dir;
  struct state *state;  ///< borrowed from target_config; may be NULL
  void *impl;           ///< the implementation's state
  char *role;           ///< from target_config; may be NULL
  /// The account the target works in (aws: from STS GetCallerIdentity), NULL on
  /// local; with region it names the default bucket sagemaker-REGION-ACCOUNT.
  char *account_id;
};

/// Make the target named `name` ("local"; "aws" once built). SMF_EINVAL for an
/// unknown name (the message lists the known ones). Caller frees with target_free.
int target_new(const char *name, const struct target_config *cfg, struct target **out,
               struct smf_error *err);
/// Free the target. Call it once every operation has called back and every job
/// handle is DONE or detached (target_job_detach): they use the target and its
/// loop. Job processes and endpoints are left running (by design: endpoints
/// outlive the run; jobs are re-attached by resume).
void target_free(struct target *t);
/// Let the target release its loop handles and cancel its calls (no events are
/// delivered for jobs afterwards; they are left running). Call it before
/// closing every handle of the loop and running it one last time, then
/// target_free. NULL-safe; idempotent.
void target_close(struct target *t);
/// The names of the built-in targets, NULL-terminated.
const char *const *target_names(void);

/// Fill the common fields of a new target; for implementations.
void target__init(struct target *t, const struct target_vtable *vt,
                  const struct target_config *cfg);

// Wrappers that dispatch to the vtable (SMF_EUNSUPPORTED if the group is absent).
int target_training_start(struct target *t, const struct target_training_job *job,
                          target_event_cb cb, void *data, struct target_job **out,
                          struct smf_error *err);
int target_training_attach(struct target *t, const struct target_training_job *job,
                           const char *intent, target_event_cb cb, void *data,
                           struct target_job **out, struct smf_error *err);
int target_processing_start(struct target *t, const struct target_processing_job *job,
                            target_event_cb cb, void *data, struct target_job **out,
                            struct smf_error *err);
int target_processing_attach(struct target *t, const struct target_processing_job *job,
                             const char *intent, target_event_cb cb, void *data,
                             struct target_job **out, struct smf_error *err);
/// Stop a training or processing job (the handle knows its group).
int target_job_stop(struct target *t, struct target_job *j, struct smf_error *err);
/// Stop a job by name (target_vtable.stop_job_by_name; SMF_EUNSUPPORTED without it).
int target_job_stop_by_name(struct target *t, bool processing, const char *job_name,
                            target_done_cb cb, void *data, struct smf_error *err);
/// A job's log lines by name (target_vtable.job_logs; SMF_EUNSUPPORTED without it).
int target_job_logs(struct target *t, bool processing, const char *job_name, bool follow,
                    target_event_cb cb, void *data, struct smf_error *err);
/// Leave a training or processing job running and forget it (see target_job_ops.detach).
void target_job_detach(struct target_job *j);

/// Store a file with options (store.put_file_opts, else put_file without them).
int target_store_put_file(struct target *t, const char *path, const char *uri,
                          const struct target_put_opts *opts, target_done_cb cb, void *data,
                          struct smf_error *err);

int target_endpoint_deploy(struct target *t, const struct target_endpoint_spec *spec,
                           target_endpoint_cb cb, void *data, struct smf_error *err);
int target_endpoint_describe(struct target *t, const char *endpoint, target_endpoint_cb cb,
                             void *data, struct smf_error *err);
int target_endpoint_delete(struct target *t, const char *endpoint, target_done_cb cb, void *data,
                           struct smf_error *err);
/// One inference request (target_hosting_ops.invoke; SMF_EUNSUPPORTED without it).
int target_endpoint_invoke(struct target *t, const struct target_invoke *req, target_invoke_cb cb,
                           void *data, struct smf_error *err);

int target_registry_create_group(struct target *t, const char *group, const char *description,
                                 target_done_cb cb, void *data, struct smf_error *err);
int target_registry_create_version(struct target *t, const struct target_model_package *pkg,
                                   target_package_cb cb, void *data, struct smf_error *err);
int target_registry_list(struct target *t, const char *group, target_package_cb cb, void *data,
                         struct smf_error *err);
int target_registry_update_approval(struct target *t, const char *group, int version,
                                    const char *approval, target_done_cb cb, void *data,
                                    struct smf_error *err);

// ---------------------------------------------------------------------------
// Hyperparameter encoding shared by every target (SPEC §4 fit): each value is
// JSON-encoded the way Python's json.dumps encodes the typed YAML value.

/// One encoded hyperparameter: name and its JSON text. Owned by the list.
struct target_hp {
  char *name;
  char *json;
};
struct target_hps {
  struct target_hp *items;
  size_t n;
};

/// The HyperParameters of the CreateTrainingJob request for `job`: the user's
/// values, the framework keys, then sagemaker_program, sagemaker_submit_directory,
/// sagemaker_container_log_level, sagemaker_job_name, sagemaker_region (as the SDK
/// adds them). Caller frees with target_hps_free.
int target_hps_encode(const struct target_training_job *job, const char *default_region,
                      struct target_hps *out, struct smf_error *err);
void target_hps_free(struct target_hps *hps);

/// Python's json.dumps(value) of a typed YAML value (", " and ": " separators,
/// ensure_ascii, floats as repr). Caller frees.
char *target_json_dumps_py(const struct dsl_node *value);
