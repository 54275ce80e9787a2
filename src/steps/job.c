// job.c: one training or processing job driven for a step attempt (see job.h).
//
// Intent life: {attempt, job_name} is committed by the engine before anything
// happens; when the target reports STARTED, {attempt, job_name, code_uri,
// target: TARGET_INTENT} is committed synchronously, before anything else of
// the job is acted on. Resume re-attaches with TARGET_INTENT (the local target
// watches the recorded pids and start times; the aws target describes the job
// by name) and reports the attempt lost when there is none. An interrupt
// (SIGINT/SIGTERM) detaches a started job instead of stopping it: the intent
// stays without a result and resume re-attaches; a timeout still stops it.
#include "steps/job.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/archive.h"
#include "steps/prepack.h"

void step_job_init(struct step_job *sj, struct step_ctx *ctx, struct target *t, bool processing)
{
  sj->ctx = ctx;
  sj->t = t;
  sj->processing = processing;
  uv_timer_init(ctx->loop, &sj->timer);
  sj->timer.data = sj;
  ctx->kind_data = sj;
}

char *step_job_intent(struct step_ctx *ctx, const char *job_name)
{
  json_t *j = json_pack("{s:i, s:s}", "attempt", ctx->attempt, "job_name", job_name);
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return t;
}

void step_out_str(struct step_ctx *ctx, struct dsl_node *out, const char *key, const char *v)
{
  if (v) {
    dsl_map_set(ctx->arena, out, key, dsl_node_str(ctx->arena, v, strlen(v)));
  }
}

struct dsl_node *step_job_metrics(struct step_ctx *ctx, const struct target_job_result *r)
{
  struct dsl_node *m = dsl_node_new(ctx->arena, DSL_MAP);
  for (size_t i = 0; i < r->n_metrics; i++) {
    dsl_map_set(ctx->arena, m, smf_arena_strdup(ctx->arena, r->metrics[i].name),
                dsl_node_float(ctx->arena, r->metrics[i].value));
  }
  return m;
}

static void step_job_on_started(struct step_job *sj, const struct target_event *ev)
{
  struct step_ctx *ctx = sj->ctx;
  json_t *target = ev->intent ? json_loads(ev->intent, 0, NULL) : NULL;
  json_t *j = json_pack("{s:i, s:s, s:s?, s:o?}", "attempt", ctx->attempt, "job_name", sj->job_name,
                        "code_uri", sj->code_uri, "target", target);
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  struct smf_error err = SMF_ERROR_INIT;
  if (step_ctx_update_intent(ctx, text, true, &err) != 0) {
    step_ctx_log(ctx, "cannot record the job's intent: %s", err.message);
  }
  free(text);
  step_ctx_set_remote_name(ctx, sj->job_name);
  step_ctx_log(ctx, "%s job %s started", sj->processing ? "processing" : "training", sj->job_name);
}

static void step_job_on_done(struct step_job *sj, const struct target_event *ev)
{
  struct step_ctx *ctx = sj->ctx;
  const struct target_job_result *r = ev->result;
  sj->handle = NULL;
  sj->finished = true;
  if (r && r->status == TARGET_JOB_COMPLETED && sj->cancel_reason == 0) {
    step_ctx_done(ctx, 0, NULL, sj->outputs(sj, r));
    return;
  }
  struct smf_error err = SMF_ERROR_INIT;
  int code = sj->cancel_reason          ? sj->cancel_reason
             : ev->err && ev->err->code ? ev->err->code
                                        : SMF_ECHILD;
  if (ev->err && ev->err->code) {
    err = *ev->err;
    err.code = code;
  } else {
    SMF_ERR_SET(
        &err, code, "job %s %s%s%s", sj->job_name, r ? target_job_status_name(r->status) : "failed",
        r && r->failure_reason ? ": " : "", r && r->failure_reason ? r->failure_reason : "");
  }
  if (sj->cancel_reason == SMF_ETIMEOUT) {
    err.klass = SMF_CLASS_TIMEOUT;
  } else if (sj->cancel_reason) {
    err.klass = SMF_CLASS_NONE;
  } else if (err.klass == SMF_CLASS_NONE) {
    err.klass = r && r->klass != SMF_CLASS_NONE ? r->klass : SMF_CLASS_ALGORITHM;
  }
  // The engine names the class itself: drop a leading "CLASS: " of the target's message.
  const char *cname = smf_errclass_name(err.klass);
  size_t cl = strlen(cname);
  if (cl > 0 && strncmp(err.message, cname, cl) == 0 && strncmp(err.message + cl, ": ", 2) == 0) {
    memmove(err.message, err.message + cl + 2, strlen(err.message + cl + 2) + 1);
  }
  step_ctx_done(ctx, code, &err, NULL);
}

static void step_job_on_event(void *data, const struct target_event *ev)
{
  struct step_job *sj = data;
  switch (ev->type) {
  case TARGET_EVENT_STARTED:
    step_job_on_started(sj, ev);
    break;
  case TARGET_EVENT_LOG:
    step_ctx_log(sj->ctx, "%s | %s", ev->host ? ev->host : "", ev->line ? ev->line : "");
    break;
  case TARGET_EVENT_DONE:
    step_job_on_done(sj, ev);
    break;
  }
}

int step_job_launch(struct step_job *sj, struct smf_error *err)
{
  int rc = sj->processing
               ? target_processing_start(sj->t, sj->desc, step_job_on_event, sj, &sj->handle, err)
               : target_training_start(sj->t, sj->desc, step_job_on_event, sj, &sj->handle, err);
  if (rc != 0 && err->klass == SMF_CLASS_NONE) {
    err->klass =
        rc == SMF_EINVAL || rc == SMF_EUNSUPPORTED ? SMF_CLASS_CLIENT : SMF_CLASS_INTERNAL_SERVER;
  }
  return rc;
}

static void step_job_launch_staged(struct step_job *sj)
{
  struct smf_error err = SMF_ERROR_INIT;
  if (sj->cancel_reason) {
    SMF_ERR_SET(&err, sj->cancel_reason, "stopped before the job started");
    step_job_fail(sj, &err);
  } else if (step_job_launch(sj, &err) != 0) {
    step_job_fail(sj, &err);
  }
}

static void step_job_on_code_stored(void *data, int status, const struct smf_error *err)
{
  struct step_job *sj = data;
  unlink(sj->tmp);
  if (status != 0) {
    struct smf_error e = *err;
    e.klass = e.klass ? e.klass : SMF_CLASS_INTERNAL_SERVER;
    step_job_fail(sj, &e);
    return;
  }
  step_job_launch_staged(sj);
}

// As the SDK uploads a training job's code (tar_and_upload_dir): SSE aws:kms,
// with the job's output_kms_key when it has one. Processing code: only with a key.
// move: the archive is given up (a prepacked one): a store may rename it into
// place, and then syncs it as its own puts.
static const struct target_put_opts *step_job_put_opts(const struct step_job *sj, bool move,
                                                       struct target_put_opts *opts)
{
  const char *key =
      sj->processing ? NULL : ((const struct target_training_job *)sj->desc)->output_kms_key;
  *opts = (struct target_put_opts){.sse_kms = !sj->processing || key, .kms_key = key, .move = move};
  return opts->sse_kms || move ? opts : NULL;
}

// Store sj->tmp at the job's code URI, then launch the job.
static void step_job_store_code(struct step_job *sj, bool move)
{
  struct target_put_opts opts;
  struct smf_error e = SMF_ERROR_INIT;
  if (sj->t->vt->store == NULL) {
    SMF_ERR_SET(&e, SMF_EUNSUPPORTED, "target '%s' has no store", sj->t->vt->name);
    e.klass = SMF_CLASS_CLIENT;
    unlink(sj->tmp);
    step_job_fail(sj, &e);
  } else if (target_store_put_file(sj->t, sj->tmp, sj->code_uri,
                                   step_job_put_opts(sj, move, &opts), step_job_on_code_stored,
                                   sj, &e) != 0) {
    unlink(sj->tmp);
    step_job_fail(sj, &e);
  }
}

static void step_job_on_packed(int status, const struct smf_pack_result *res,
                               const struct smf_error *err, void *data)
{
  (void)res;
  struct step_job *sj = data;
  if (status != 0) {
    struct smf_error e = *err;
    e.klass = SMF_CLASS_CLIENT;
    step_job_fail(sj, &e);
    return;
  }
  step_job_store_code(sj, false);
}

// The code to pack: source_dir (+ dependencies), or the entry point file alone
// (strings in ctx->arena; output unset).
static void step_job_pack_spec(struct step_job *sj, struct smf_pack_spec *spec)
{
  struct step_ctx *ctx = sj->ctx;
  const struct dsl_node *s = ctx->spec;
  const struct dsl_node *deps = dsl_map_get(s, "dependencies");
  size_t n_deps = deps && deps->type == DSL_SEQ ? deps->u.seq.n : 0;
  const char **dv = smf_arena_alloc(ctx->arena, (n_deps + 1) * sizeof(*dv));
  for (size_t i = 0; i < n_deps; i++) {
    dv[i] = step_path(ctx, step_scalar(ctx, deps->u.seq.items[i]));
  }
  const char *src = dsl_map_str(s, "source_dir", NULL);
  const char **ep = smf_arena_alloc(ctx->arena, sizeof(*ep));
  *ep = step_path(ctx, dsl_map_str(s, "entry_point", NULL));
  *spec = (struct smf_pack_spec){.source_dir = src ? step_path(ctx, src) : NULL,
                                 .dependencies = dv,
                                 .n_dependencies = n_deps,
                                 .files = src ? NULL : ep,
                                 .n_files = src ? 0 : 1};
}

// Pack now (no archive prepared, or it no longer matches the code).
static int step_job_pack(struct step_job *sj, struct smf_error *err)
{
  struct step_ctx *ctx = sj->ctx;
  char *tmpdir = smf_xasprintf("%s/tmp", ctx->state_dir);
  int rc = smf_mkdir_p(tmpdir, err);
  free(sj->tmp);
  sj->tmp = smf_xasprintf("%s/%s.sourcedir.tar.gz", tmpdir, sj->job_name);
  free(tmpdir);
  if (rc != 0) {
    return rc;
  }
  struct smf_pack_spec spec;
  step_job_pack_spec(sj, &spec);
  spec.output = sj->tmp;
  spec.sync = SMF_PACK_SYNC_NONE;  // the store's copy is synced
  rc = smf_archive_pack_async(ctx->loop, &spec, step_job_on_packed, sj, err);
  if (rc != 0) {
    err->klass = SMF_CLASS_CLIENT;
  }
  return rc;
}

static void step_job_on_prepacked(void *data, char *archive)
{
  struct step_job *sj = data;
  if (archive != NULL) {
    free(sj->tmp);
    sj->tmp = archive;
    step_job_store_code(sj, true);
    return;
  }
  struct smf_error e = SMF_ERROR_INIT;
  if (step_job_pack(sj, &e) != 0) {
    step_job_fail(sj, &e);
  }
}

int step_job_stage_code(struct step_job *sj, struct smf_error *err)
{
  struct smf_pack_spec spec;
  step_job_pack_spec(sj, &spec);
  if (step_prepack_take(sj->ctx, &spec, step_job_on_prepacked, sj) == 1) {
    return 0;  // packed when the run started: checked, then moved into the store
  }
  return step_job_pack(sj, err);
}

static void step_job_lost_cb(uv_timer_t *t)
{
  struct step_job *sj = t->data;
  sj->finished = true;
  struct smf_error err = SMF_ERROR_INIT;
  SMF_ERR_SET(&err, SMF_ENOENT, "job %s of attempt %d cannot be re-attached", sj->job_name,
              sj->ctx->attempt);
  step_ctx_done(sj->ctx, SMF_ENOENT, &err, NULL);
}

int step_job_resume(struct step_job *sj, const json_t *intent, struct smf_error *err)
{
  // Without the target's intent (smflow died between the start and its commit)
  // the target is asked to find the job by its name.
  json_t *target = json_object_get(intent, "target");
  char *text = json_is_object(target) ? json_dumps(target, JSON_COMPACT) : NULL;
  int rc =
      sj->processing
          ? target_processing_attach(sj->t, sj->desc, text, step_job_on_event, sj, &sj->handle, err)
          : target_training_attach(sj->t, sj->desc, text, step_job_on_event, sj, &sj->handle, err);
  free(text);
  if (rc == 0) {
    step_ctx_set_remote_name(sj->ctx, sj->job_name);
    step_ctx_log(sj->ctx, "re-attached to job %s", sj->job_name);
  } else {
    // No such job (it never started), or it cannot be watched again: a new attempt.
    step_ctx_log(sj->ctx, "cannot re-attach to job %s: %s", sj->job_name, err->message);
    smf_error_clear(err);
    uv_timer_start(&sj->timer, step_job_lost_cb, 0, 0);
  }
  return 0;
}

void step_job_fail(struct step_job *sj, const struct smf_error *err)
{
  sj->finished = true;
  struct smf_error e = *err;
  if (sj->cancel_reason) {
    e.code = sj->cancel_reason;
    e.klass = sj->cancel_reason == SMF_ETIMEOUT ? SMF_CLASS_TIMEOUT : SMF_CLASS_NONE;
  }
  step_ctx_done(sj->ctx, e.code ? e.code : SMF_EINTERNAL, &e, NULL);
}

static void step_job_detached_cb(uv_timer_t *t)
{
  struct step_job *sj = t->data;
  step_ctx_log(sj->ctx, "%s job %s left running; resume re-attaches to it, cancel stops it",
               sj->processing ? "processing" : "training", sj->job_name);
  step_ctx_detached(sj->ctx);
}

void step_job_cancel(struct step_job *sj, int reason)
{
  if (sj->finished) {
    return;
  }
  if (sj->cancel_reason == 0) {
    sj->cancel_reason = reason;
  }
  if (sj->handle && reason == SMF_ECANCELLED) {
    // An interrupt leaves the job running: the intent stays without a result.
    target_job_detach(sj->handle);
    sj->handle = NULL;
    sj->finished = true;
    uv_timer_stop(&sj->timer);
    uv_timer_start(&sj->timer, step_job_detached_cb, 0, 0);
    return;
  }
  if (sj->handle) {
    struct smf_error err = SMF_ERROR_INIT;
    target_job_stop(sj->t, sj->handle, &err);
  }
}

static void step_job_on_close(uv_handle_t *h)
{
  free(h->data);
}

void step_job_free(struct step_job *sj, void (*extra)(struct step_job *sj))
{
  if (sj == NULL) {
    return;
  }
  sj->ctx->kind_data = NULL;
  if (extra) {
    extra(sj);
  }
  free(sj->tmp);
  uv_close((uv_handle_t *)&sj->timer, step_job_on_close);
}

void step_job_kind_cancel(struct step_ctx *ctx, int reason, bool kill_now)
{
  (void)kill_now;
  if (ctx->kind_data) {
    step_job_cancel(ctx->kind_data, reason);
  }
}

void step_job_kind_free(struct step_ctx *ctx)
{
  step_job_free(ctx->kind_data, NULL);
}
