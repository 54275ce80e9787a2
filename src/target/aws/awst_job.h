// awst_job.h: what training.c and processing.c share (job.c): one SageMaker
// job created exactly once, polled, tailed (logs.c) and stopped. Private.
#pragma once

#include <jansson.h>
#include <uv.h>

#include "target/aws/awst.h"

struct awst_job;

/// CloudWatch log tailing of one job: every stream JOB/... of the group, each
/// from its saved forward token (kept in STATE_DIR/aws/logs/JOB.json).
struct awst_logs {
  struct target *t;
  const char *group;
  char *job;
  char *token_file;  ///< NULL: the tokens are not saved (`smflow logs`)
  target_event_cb cb;
  void *data;
  json_t *tokens;   ///< stream name → next forward token
  json_t *streams;  ///< names found by the last DescribeLogStreams
  size_t next;      ///< index of the stream being read
  int pages;
  bool dirty;
  void (*done)(void *data);
  void *done_data;
};

void awst_logs_init(struct awst_logs *l, struct target *t, const char *group, const char *job,
                    target_event_cb cb, void *data);
/// Read the saved tokens (re-attach).
void awst_logs_load(struct awst_logs *l);
/// One round over the job's streams; done(data) afterwards (errors are quiet:
/// a job without logs yet has no log group or stream).
void awst_logs_round(struct awst_logs *l, void (*done)(void *data), void *data);
void awst_logs_free(struct awst_logs *l);

/// What differs between training and processing jobs.
struct awst_job_kind {
  const char *what;  ///< "training job"
  const char *create_op, *describe_op, *stop_op;
  const char *name_field, *arn_field, *status_field;
  const char *log_group;
  const struct target_job_ops *ops;
  /// The job Completed: build the result and call awst_job_emit_done (maybe later).
  void (*finish)(struct awst_job *j, json_t *describe);
  void (*free_extra)(struct awst_job *j);
};

enum awst_job_phase {
  AWST_J_STAGING,  ///< local inputs being uploaded (stage.c)
  AWST_J_STARTING,
  AWST_J_CREATE,
  AWST_J_RECREATE,  ///< Create* throttled: send it again from the timer
  AWST_J_ATTACH,
  AWST_J_POLL,
  AWST_J_DONE,
};

struct awst_job {
  struct target_job base;  // first
  const struct awst_job_kind *kind;
  struct target *t;
  json_t *body;  ///< the Create* request
  char *name, *fp, *image, *arn, *intent;
  char *output_path;  ///< training: S3OutputPath; processing: the report URI
  char *extra;        ///< processing: local path of the fetched report
  char *secondary;    ///< the last SecondaryStatus reported
  target_event_cb cb;
  void *data;
  uv_timer_t timer;
  int64_t interval_ms;
  enum awst_job_phase phase;
  bool stop_requested, stop_sent, timer_closed;
  bool attach;  ///< re-attaching (after staging: Describe, not Create)
  int inflight;
  int ambiguous;  ///< ambiguous outcomes resolved by Describe
  int transient;  ///< transient API failures met so far
  struct aws_call *amb_call;
  json_t *last;  ///< the Describe being acted on
  struct awst_logs logs;
  struct awst_live live;  ///< in the target's list while alive
};

/// Completion of awst_stage.
typedef void (*awst_stage_cb)(struct awst_job *j, int status, const struct smf_error *err);
/// Upload the local paths named by the body's "S3Uri" members and point them at
/// the uploads (stage.c). 1: started, cb follows; 0: nothing to stage.
int awst_stage(struct awst_job *j, awst_stage_cb cb);

/// A job for `body` (takes ownership). Not started yet.
struct awst_job *awst_job_new(struct target *t, const struct awst_job_kind *kind, json_t *body,
                              const char *name, target_event_cb cb, void *data);
/// Start (STARTED, then Create) or re-attach (Describe; Create when absent).
void awst_job_go(struct awst_job *j, bool attach);
/// Send the Create* request.
void awst_job_create(struct awst_job *j);
/// Deliver DONE and release the job.
void awst_job_emit_done(struct awst_job *j, const struct target_job_result *res,
                        const struct smf_error *err);
/// The detach op of both kinds: no event follows; released once its calls came back.
void awst_job_detach(struct target_job *tj);
/// The stop op of both kinds.
int awst_job_stop(struct target_job *tj, struct smf_error *err);
/// Account for a callback of a call the job started: false when the job has
/// ended meanwhile (it is then released once its last call came back).
bool awst_job_callback(struct awst_job *j);
/// Count a call the job started.
void awst_job_call_started(struct awst_job *j);
