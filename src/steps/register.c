// register.c: the `register` step kind (SPEC §4): a new version of a model
// package in its group (the group is created when missing), through the
// target's registry operations (local: the state database).
//
// Metadata: the user's `metadata` plus run_id, pipeline, step, attempt and
// git_sha (when the pipeline is in a git repository). The attempt's identity in
// the metadata makes the step idempotent: before creating a version it lists
// the group, and a version registered by this very attempt (a resume after a
// crash) is taken instead of a second one.
//
// copy_to: the artifact is also copied to COPY_TO/GROUP/VERSION/model.tar.gz
// (deterministic and versioned); `uri` is that copy, else model_data.
// wait_for_approval: the registry is polled (every SMFLOW_REGISTRY_POLL_MS,
// default 2000 ms) until the version is Approved; Rejected fails the step
// (ClientError) and the deadline fails it with class Timeout.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "steps/common.h"
#include "steps/kinds.h"

struct reg {
  struct step_ctx *ctx;
  struct target *t;
  const char *group;
  struct target_model_package pkg;  ///< what to create (in ctx->arena)
  int version;
  const char *arn, *approval, *uri;
  int64_t deadline_ms, poll_ms;
  int cancel_reason;
  bool finished, waiting;
  uv_timer_t timer;
};

static void reg_fail(struct reg *r, int code, enum smf_errclass k, const char *msg)
{
  r->finished = true;
  uv_timer_stop(&r->timer);
  if (r->cancel_reason) {
    code = r->cancel_reason;
    k = code == SMF_ETIMEOUT ? SMF_CLASS_TIMEOUT : SMF_CLASS_NONE;
  }
  step_fail(r->ctx, code, k, "%s", msg);
}

static void reg_fail_err(struct reg *r, const struct smf_error *err)
{
  reg_fail(r, err && err->code ? err->code : SMF_EINTERNAL,
           err && err->klass ? err->klass : SMF_CLASS_INTERNAL_SERVER,
           err ? err->message : "registry error");
}

static void reg_succeed(struct reg *r)
{
  struct step_ctx *ctx = r->ctx;
  struct smf_arena *a = ctx->arena;
  r->finished = true;
  uv_timer_stop(&r->timer);
  struct dsl_node *out = dsl_node_new(a, DSL_MAP);
  dsl_map_set(a, out, "arn", dsl_node_str(a, r->arn, strlen(r->arn)));
  dsl_map_set(a, out, "group", dsl_node_str(a, r->group, strlen(r->group)));
  dsl_map_set(a, out, "version", dsl_node_int(a, r->version));
  dsl_map_set(a, out, "approval", dsl_node_str(a, r->approval, strlen(r->approval)));
  dsl_map_set(a, out, "uri", dsl_node_str(a, r->uri, strlen(r->uri)));
  step_ctx_log(ctx, "%s version %d: %s", r->group, r->version, r->approval);
  step_ctx_done(ctx, 0, NULL, out);
}

static void reg_on_poll(void *data, int status, const struct target_model_package *pkgs, size_t n,
                        const struct smf_error *err);

static void reg_poll_cb(uv_timer_t *t)
{
  struct reg *r = t->data;
  struct smf_error err = SMF_ERROR_INIT;
  if (r->t->vt->registry->list(r->t, r->group, reg_on_poll, r, &err) != 0) {
    reg_fail_err(r, &err);
  }
}

// Approved: done; Rejected: failed; else poll again until the deadline.
static void reg_check_approval(struct reg *r)
{
  if (strcmp(r->approval, "Approved") == 0 || r->deadline_ms == 0) {
    reg_succeed(r);
    return;
  }
  char msg[400];
  if (strcmp(r->approval, "Rejected") == 0) {
    snprintf(msg, sizeof(msg), "%s version %d was rejected", r->group, r->version);
    reg_fail(r, SMF_ECANCELLED, SMF_CLASS_CLIENT, msg);
    return;
  }
  if (smf_time_now_ms() >= r->deadline_ms) {
    snprintf(msg, sizeof(msg), "%s version %d was not approved in time (still %s)", r->group,
             r->version, r->approval);
    reg_fail(r, SMF_ETIMEOUT, SMF_CLASS_TIMEOUT, msg);
    return;
  }
  if (!r->waiting) {
    r->waiting = true;
    step_ctx_log(r->ctx, "waiting for approval of %s version %d (smflow models approve %s %d)",
                 r->group, r->version, r->group, r->version);
  }
  uv_timer_start(&r->timer, reg_poll_cb, (uint64_t)r->poll_ms, 0);
}

static void reg_on_poll(void *data, int status, const struct target_model_package *pkgs, size_t n,
                        const struct smf_error *err)
{
  struct reg *r = data;
  if (r->cancel_reason || status != 0) {
    reg_fail_err(r, err);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (pkgs[i].version == r->version) {
      r->approval = smf_arena_strdup(r->ctx->arena, pkgs[i].approval);
    }
  }
  reg_check_approval(r);
}

static void reg_on_copied(void *data, int status, const struct smf_error *err)
{
  struct reg *r = data;
  if (status != 0 || r->cancel_reason) {
    reg_fail_err(r, err);
    return;
  }
  reg_check_approval(r);
}

// The version exists: copy the artifact if asked, then approval.
static void reg_have_version(struct reg *r, const struct target_model_package *p)
{
  struct step_ctx *ctx = r->ctx;
  r->version = p->version;
  r->arn = smf_arena_strdup(ctx->arena, p->arn);
  r->approval = smf_arena_strdup(ctx->arena, p->approval);
  r->uri = r->pkg.model_data;
  char remote[300];
  snprintf(remote, sizeof(remote), "%s/%d", r->group, r->version);
  step_ctx_set_remote_name(ctx, remote);
  const char *copy_to = dsl_map_str(ctx->spec, "copy_to", NULL);
  if (copy_to == NULL) {
    reg_check_approval(r);
    return;
  }
  copy_to = step_path(ctx, copy_to);
  size_t n = strlen(copy_to);
  r->uri = smf_arena_printf(ctx->arena, "%.*s/%s/%d/model.tar.gz",
                            (int)(n && copy_to[n - 1] == '/' ? n - 1 : n), copy_to, r->group,
                            r->version);
  struct smf_error err = SMF_ERROR_INIT;
  if (r->t->vt->store == NULL ||
      r->t->vt->store->copy(r->t, r->pkg.model_data, r->uri, reg_on_copied, r, &err) != 0) {
    reg_fail_err(r, &err);
  }
}

static void reg_on_created(void *data, int status, const struct target_model_package *pkgs,
                           size_t n, const struct smf_error *err)
{
  struct reg *r = data;
  if (status != 0 || n == 0) {
    reg_fail_err(r, err);
    return;
  }
  reg_have_version(r, &pkgs[0]);
}

static bool reg_is_mine(const struct reg *r, const struct target_model_package *p)
{
  char attempt[16];
  snprintf(attempt, sizeof(attempt), "%d", r->ctx->attempt);
  int hits = 0;
  for (size_t i = 0; i < p->n_metadata; i++) {
    const struct target_kv *kv = &p->metadata[i];
    hits += (strcmp(kv->key, "run_id") == 0 && strcmp(kv->value, r->ctx->run_id) == 0) ||
            (strcmp(kv->key, "step") == 0 && strcmp(kv->value, r->ctx->step_id) == 0) ||
            (strcmp(kv->key, "attempt") == 0 && strcmp(kv->value, attempt) == 0);
  }
  return hits == 3;
}

static void reg_on_listed(void *data, int status, const struct target_model_package *pkgs, size_t n,
                          const struct smf_error *err)
{
  struct reg *r = data;
  if (status != 0 || r->cancel_reason) {
    reg_fail_err(r, err);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (reg_is_mine(r, &pkgs[i])) {
      step_ctx_log(r->ctx, "version %d was already registered by this attempt", pkgs[i].version);
      reg_have_version(r, &pkgs[i]);
      return;
    }
  }
  struct smf_error e = SMF_ERROR_INIT;
  if (r->t->vt->registry->create_version(r->t, &r->pkg, reg_on_created, r, &e) != 0) {
    reg_fail_err(r, &e);
  }
}

static void reg_on_group(void *data, int status, const struct smf_error *err)
{
  struct reg *r = data;
  if (status != 0 || r->cancel_reason) {
    reg_fail_err(r, err);
    return;
  }
  struct smf_error e = SMF_ERROR_INIT;
  if (r->t->vt->registry->list(r->t, r->group, reg_on_listed, r, &e) != 0) {
    reg_fail_err(r, &e);
  }
}

static void reg_metadata(struct step_ctx *ctx, struct target_model_package *pkg)
{
  size_t n = 0;
  struct target_kv *user = step_kvs(ctx, dsl_map_get(ctx->spec, "metadata"), &n);
  struct target_kv *kv = smf_arena_alloc(ctx->arena, (n + 6) * sizeof(*kv));
  memcpy(kv, user, n * sizeof(*kv));
  kv[n++] = (struct target_kv){"run_id", ctx->run_id};
  kv[n++] = (struct target_kv){"pipeline", ctx->pipeline_name ? ctx->pipeline_name : ""};
  kv[n++] = (struct target_kv){"step", ctx->step_id};
  kv[n++] = (struct target_kv){"attempt", smf_arena_printf(ctx->arena, "%d", ctx->attempt)};
  if (ctx->git_sha) {
    kv[n++] = (struct target_kv){"git_sha", ctx->git_sha};
  }
  pkg->metadata = kv;
  pkg->n_metadata = n;
}

// The version to create (everything in ctx->arena).
static void reg_describe(struct step_ctx *ctx, struct target_model_package *pkg)
{
  const struct dsl_node *s = ctx->spec;
  *pkg = (struct target_model_package){
      .group = dsl_map_str(s, "model_package_group", ""),
      .approval = dsl_map_str(s, "approval", "PendingManualApproval"),
      .model_data = step_path(ctx, dsl_map_str(s, "model_data", NULL)),
      .image_uri = dsl_map_str(s, "image_uri", dsl_map_str(s, "framework", NULL)),
      .description = dsl_map_str(s, "description", NULL),
      .metrics_uri = step_path(ctx, dsl_map_str(s, "metrics", NULL)),
      .model_name = step_job_name(ctx, step_job_base(ctx)),
      .spec = s};
  reg_metadata(ctx, pkg);
}

void step_register_plan(struct step_ctx *ctx, struct target_model_package *pkg)
{
  reg_describe(ctx, pkg);
}

static void reg_on_close(uv_handle_t *h)
{
  free(h->data);
}

// A local model_data is in the object store: go on with its URI.
static void reg_on_staged(void *data, int status, const char *uri, const struct smf_error *err)
{
  struct reg *r = data;
  if (status != 0) {
    reg_fail_err(r, err);
    return;
  }
  r->pkg.model_data = smf_arena_strdup(r->ctx->arena, uri);
  struct smf_error e = SMF_ERROR_INIT;
  if (r->t->vt->registry->create_group(r->t, r->group, NULL, reg_on_group, r, &e) != 0) {
    reg_fail_err(r, &e);
  }
}

static char *reg_intent(struct step_ctx *ctx)
{
  json_t *j = json_pack("{s:i, s:s}", "attempt", ctx->attempt, "group",
                        dsl_map_str(ctx->spec, "model_package_group", ""));
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return t;
}

static int reg_start(struct step_ctx *ctx, struct smf_error *err)
{
  struct target *t = step_target(ctx, err);
  if (t == NULL) {
    return err->code;
  }
  if (t->vt->registry == NULL) {
    err->klass = SMF_CLASS_CLIENT;
    return SMF_ERR_SET(err, SMF_EUNSUPPORTED, "target '%s' has no registry", t->vt->name);
  }
  struct reg *r = smf_xcalloc(1, sizeof(*r));
  r->ctx = ctx;
  r->t = t;
  const struct dsl_node *s = ctx->spec;
  reg_describe(ctx, &r->pkg);
  r->group = r->pkg.group;
  const char *wait = dsl_map_str(s, "wait_for_approval", NULL);
  int64_t wait_ms = dsl_map_get(s, "wait_for_approval") && !wait
                        ? dsl_map_int(s, "wait_for_approval", 0) * 1000
                        : 0;
  if (wait && smf_duration_parse(wait, &wait_ms) != 0) {
    wait_ms = 0;
  }
  r->deadline_ms = wait_ms > 0 ? smf_time_now_ms() + wait_ms : 0;
  const char *poll = getenv("SMFLOW_REGISTRY_POLL_MS");
  r->poll_ms = poll && atoll(poll) > 0 ? atoll(poll) : 2000;
  uv_timer_init(ctx->loop, &r->timer);
  r->timer.data = r;
  ctx->kind_data = r;
  int rc = step_stage_local(ctx, r->pkg.model_data, reg_on_staged, r, err);
  if (rc == 0) {
    rc = t->vt->registry->create_group(t, r->group, NULL, reg_on_group, r, err);
  }
  if (rc == 1) {
    rc = 0;
  } else if (rc != 0) {
    ctx->kind_data = NULL;
    uv_close((uv_handle_t *)&r->timer, reg_on_close);
  }
  return rc;
}

static int reg_resume(struct step_ctx *ctx, const char *intent_json, struct smf_error *err)
{
  (void)intent_json;
  return reg_start(ctx, err);  // finds a version this attempt registered before the crash
}

static void reg_cancel(struct step_ctx *ctx, int reason, bool kill_now)
{
  (void)kill_now;
  struct reg *r = ctx->kind_data;
  if (r == NULL || r->finished) {
    return;
  }
  r->cancel_reason = reason;
  if (uv_is_active((uv_handle_t *)&r->timer)) {
    reg_fail(r, reason, SMF_CLASS_NONE, "stopped while waiting for approval");
  }
}

static void reg_free(struct step_ctx *ctx)
{
  struct reg *r = ctx->kind_data;
  if (r) {
    ctx->kind_data = NULL;
    uv_close((uv_handle_t *)&r->timer, reg_on_close);
  }
}

const struct step_kind step_kind_register = {
    .name = "register",
    .kind = DSL_KIND_REGISTER,
    .intent = reg_intent,
    .start = reg_start,
    .resume = reg_resume,
    .cancel = reg_cancel,
    .free = reg_free,
};
