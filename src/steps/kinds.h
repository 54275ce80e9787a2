// kinds.h: the step kinds implemented in src/steps/, one vtable per file.
#pragma once

#include <sys/types.h>

#include "smflow/step.h"

extern const struct step_kind step_kind_run;
extern const struct step_kind step_kind_upload;
extern const struct step_kind step_kind_fit;
extern const struct step_kind step_kind_evaluate;
extern const struct step_kind step_kind_register;
extern const struct step_kind step_kind_deploy;
extern const struct step_kind step_kind_lua;

struct target;
struct target_training_job;
struct target_processing_job;
struct target_model_package;
struct target_endpoint_spec;
struct smf_pack_result;

/// The training job a `fit` attempt of ctx would start on t: the same job
/// name, code location and description fit's start uses, made without any side
/// effect (for `smflow plan`; ctx needs run_id, step_id, attempt, pipeline_dir,
/// spec and arena only). Everything in ctx->arena.
void step_fit_plan(struct step_ctx *ctx, struct target *t, struct target_training_job *j);

/// The processing job an `evaluate` attempt of ctx would start, like
/// step_fit_plan (ctx->target gives the region and account of the default bucket).
void step_evaluate_plan(struct step_ctx *ctx, struct target_processing_job *j);

/// The model package version a `register` attempt of ctx would create (its
/// metadata included: ctx needs pipeline_name and git_sha too), like step_fit_plan.
void step_register_plan(struct step_ctx *ctx, struct target_model_package *pkg);

/// The endpoint a `deploy` attempt of ctx would create (model and config names,
/// model, code, instances), like step_fit_plan.
void step_deploy_plan(struct step_ctx *ctx, struct target_endpoint_spec *sp);

/// What an `upload` attempt of ctx would store, without storing anything: the
/// archive packed by the run's own packing code (same bytes) into archive_path,
/// which the caller removes; its SHA-256 and size in *res; *uri (in ctx->arena)
/// where the run would store it (ctx->target gives the region and account of
/// the default bucket). ctx needs pipeline_dir, pipeline_name, spec and arena.
/// Blocks while packing: not for the loop thread. Returns 0 or the packing's
/// SMF_E* (*uri NULL).
int step_upload_plan(struct step_ctx *ctx, const char *archive_path, struct smf_pack_result *res,
                     const char **uri, struct smf_error *err);

/// The command of a `run` spec (string form or {command}). Borrowed.
const char *step_run_command(const struct dsl_node *spec);
/// Start time of a process (clock ticks since boot, /proc/PID/stat field 22);
/// 0 if it does not exist or has exited. Used to tell a pid from a reused one.
unsigned long long step_proc_start_time(pid_t pid);
