// job.h: what fit and evaluate share — driving one training or processing job
// of the target: start or re-attach, the durable intent, log lines, stop,
// the result mapped to outputs or to a classed failure (private to src/steps/).
#pragma once

#include <stdbool.h>

#include "steps/common.h"

struct step_job;

/// The outputs of a completed job (a DSL_MAP in ctx->arena).
typedef struct dsl_node *(*step_job_outputs_fn)(struct step_job *sj,
                                                const struct target_job_result *r);

/// Embedded first in the kind's own state; allocated with smf_xcalloc and freed by
/// step_job_free (after its timer closed).
struct step_job {
  struct step_ctx *ctx;
  struct target *t;
  bool processing;   ///< processing job (evaluate) rather than training (fit)
  const void *desc;  ///< struct target_training_job / target_processing_job
  const char *job_name;
  const char *code_uri;  ///< kept in the intent (the code is not stored again on resume)
  step_job_outputs_fn outputs;
  struct target_job *handle;  ///< valid between start and DONE
  int cancel_reason;
  bool finished;
  char *tmp;  ///< code packed by step_job_stage_code before it is stored
  uv_timer_t timer;
};

/// Initialise (timer included) and set ctx->kind_data = sj.
void step_job_init(struct step_job *sj, struct step_ctx *ctx, struct target *t, bool processing);
/// The attempt's first intent: {attempt, job_name}. Caller frees.
char *step_job_intent(struct step_ctx *ctx, const char *job_name);
/// Start the described job; on error *err is set (class included).
int step_job_launch(struct step_job *sj, struct smf_error *err);
/// Pack the spec's source_dir (+ dependencies), or its entry point file alone,
/// reproducibly on the thread pool, store it at sj->code_uri through the
/// target, then launch the job. Failures after this returned 0 end the attempt.
int step_job_stage_code(struct step_job *sj, struct smf_error *err);
/// Re-attach from the intent of an earlier smflow; without its target part (a
/// crash before STARTED was committed) the target looks the job up by name.
/// When there is no job to attach to, the attempt is reported lost (SMF_ENOENT)
/// from a timer, so that the engine starts a new attempt under a new job name.
int step_job_resume(struct step_job *sj, const json_t *intent, struct smf_error *err);
/// Finish with a failure from a loop callback (before the job started).
void step_job_fail(struct step_job *sj, const struct smf_error *err);
/// Stop the job (or remember the reason until it is started). On an interrupt
/// (SMF_ECANCELLED) a started job is detached and left running instead, and the
/// attempt ends with step_ctx_detached (resume re-attaches).
void step_job_cancel(struct step_job *sj, int reason);
/// Release: closes the timer, then frees sj (which must come from smf_xcalloc).
/// `extra` (may be NULL) is called first to free the kind's own members.
void step_job_free(struct step_job *sj, void (*extra)(struct step_job *sj));
/// step_kind.cancel and .free of the kinds whose kind_data is their struct
/// step_job (fit, evaluate): stop the job / release it.
void step_job_kind_cancel(struct step_ctx *ctx, int reason, bool kill_now);
void step_job_kind_free(struct step_ctx *ctx);
/// Metrics of a result as a map name → number (in ctx->arena).
struct dsl_node *step_job_metrics(struct step_ctx *ctx, const struct target_job_result *r);
/// outputs[key] = string (skipped when NULL).
void step_out_str(struct step_ctx *ctx, struct dsl_node *out, const char *key, const char *v);
