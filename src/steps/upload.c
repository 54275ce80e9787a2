// upload.c: the `upload` step kind (SPEC §4): source_dir (+ dependencies beside
// it) packed the way SageMaker expects sourcedir.tar.gz, reproducibly, on the
// thread pool; stored at TO/sourcedir-<first 12 hex of its SHA-256>.tar.gz
// unless an object of that name and size exists already (HEAD first: one of
// another size, such as a file a power loss left short, is stored again).
// Content addressing makes the step idempotent: resume simply starts it again.
//
// `to` defaults to s3://sagemaker-REGION-000000000000/PIPELINE/code/ (the
// SDK's default bucket, with the local target's account).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/archive.h"
#include "steps/common.h"
#include "steps/kinds.h"

struct upload {
  struct step_ctx *ctx;
  struct target *t;
  char *tmp;  ///< the packed archive before it is stored
  char *uri;
  char sha256[SMF_HASH_HEX_SIZE];
  uint64_t bytes;
  int cancel_reason;
};

static char *upload_intent(struct step_ctx *ctx)
{
  json_t *j =
      json_pack("{s:i, s:s?}", "attempt", ctx->attempt, "to", dsl_map_str(ctx->spec, "to", NULL));
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return t;
}

static void upload_finish(struct upload *u, bool reused)
{
  struct step_ctx *ctx = u->ctx;
  unlink(u->tmp);
  struct dsl_node *out = dsl_node_new(ctx->arena, DSL_MAP);
  dsl_map_set(ctx->arena, out, "uri", dsl_node_str(ctx->arena, u->uri, strlen(u->uri)));
  dsl_map_set(ctx->arena, out, "sha256", dsl_node_str(ctx->arena, u->sha256, strlen(u->sha256)));
  dsl_map_set(ctx->arena, out, "bytes", dsl_node_int(ctx->arena, (int64_t)u->bytes));
  dsl_map_set(ctx->arena, out, "reused", dsl_node_bool(ctx->arena, reused));
  step_ctx_log(ctx, "%s %s (%llu bytes)", reused ? "reusing" : "uploaded", u->uri,
               (unsigned long long)u->bytes);
  step_ctx_done(ctx, 0, NULL, out);
}

// A failure or a cancel that arrived while a callback was pending.
static bool upload_check_stop(struct upload *u, int status, const struct smf_error *err)
{
  if (u->cancel_reason) {
    unlink(u->tmp);
    step_fail(u->ctx, u->cancel_reason,
              u->cancel_reason == SMF_ETIMEOUT ? SMF_CLASS_TIMEOUT : SMF_CLASS_NONE,
              "upload stopped");
    return true;
  }
  if (status != 0) {
    unlink(u->tmp);
    struct smf_error e = err ? *err : (struct smf_error)SMF_ERROR_INIT;
    if (e.code == 0) {
      SMF_ERR_SET(&e, status, "upload failed");
    }
    if (e.klass == SMF_CLASS_NONE) {
      e.klass = status == SMF_EVALIDATE || status == SMF_ENOENT ? SMF_CLASS_CLIENT
                                                                : SMF_CLASS_INTERNAL_SERVER;
    }
    step_ctx_done(u->ctx, status, &e, NULL);
    return true;
  }
  return false;
}

static void upload_on_put(void *data, int status, const struct smf_error *err)
{
  struct upload *u = data;
  if (!upload_check_stop(u, status, err)) {
    upload_finish(u, false);
  }
}

static void upload_on_head(void *data, int status, const struct target_object *obj,
                           const struct smf_error *err)
{
  struct upload *u = data;
  if (status == 0 && obj != NULL && obj->size == u->bytes && !u->cancel_reason) {
    upload_finish(u, true);
    return;
  }
  if (status == 0 && obj != NULL) {
    step_ctx_log(u->ctx, "%s has %llu bytes, not %llu: storing it again", u->uri,
                 (unsigned long long)obj->size, (unsigned long long)u->bytes);
  }
  if (upload_check_stop(u, status == SMF_ENOENT ? 0 : status, err)) {
    return;
  }
  // The archive is scratch, given up to the store (the local store renames it
  // into place and syncs it as its own puts).
  struct target_put_opts opts = {.move = true};
  struct smf_error e = SMF_ERROR_INIT;
  if (target_store_put_file(u->t, u->tmp, u->uri, &opts, upload_on_put, u, &e) != 0) {
    upload_check_stop(u, e.code, &e);
  }
}

// Where the run stores an archive of this SHA-256:
// TO/sourcedir-<first 12 hex>.tar.gz (in ctx->arena).
static const char *upload_uri(struct step_ctx *ctx, const char *sha256)
{
  const char *to = dsl_map_str(ctx->spec, "to", NULL);
  if (to == NULL) {
    to = smf_arena_printf(ctx->arena, "%s%s/code/", step_default_bucket_uri(ctx),
                          ctx->pipeline_name ? ctx->pipeline_name : "smflow");
  }
  to = step_path(ctx, to);
  size_t tl = strlen(to);
  return smf_arena_printf(ctx->arena, "%s%ssourcedir-%.12s.tar.gz", to,
                          tl && to[tl - 1] == '/' ? "" : "/", sha256);
}

// What is packed: source_dir and the dependencies beside it (in ctx->arena).
static void upload_pack_spec(struct step_ctx *ctx, const char *output, struct smf_pack_spec *spec)
{
  const struct dsl_node *deps = dsl_map_get(ctx->spec, "dependencies");
  size_t n_deps = deps && deps->type == DSL_SEQ ? deps->u.seq.n : 0;
  const char **dv = smf_arena_alloc(ctx->arena, (n_deps + 1) * sizeof(*dv));
  for (size_t i = 0; i < n_deps; i++) {
    dv[i] = step_path(ctx, step_scalar(ctx, deps->u.seq.items[i]));
  }
  *spec = (struct smf_pack_spec){
      .source_dir = step_path(ctx, dsl_map_str(ctx->spec, "source_dir", NULL)),
      .dependencies = dv,
      .n_dependencies = n_deps,
      .output = output,
      .sync = SMF_PACK_SYNC_NONE};  // scratch: what the store keeps is synced there
}

static void upload_on_packed(int status, const struct smf_pack_result *res,
                             const struct smf_error *err, void *data)
{
  struct upload *u = data;
  if (upload_check_stop(u, status, err)) {
    return;
  }
  memcpy(u->sha256, res->sha256, sizeof(u->sha256));
  u->bytes = res->bytes;
  u->uri = smf_xstrdup(upload_uri(u->ctx, u->sha256));
  struct smf_error e = SMF_ERROR_INIT;
  if (u->t->vt->store->head(u->t, u->uri, upload_on_head, u, &e) != 0) {
    upload_check_stop(u, e.code, &e);
  }
}

int step_upload_plan(struct step_ctx *ctx, const char *archive_path, struct smf_pack_result *res,
                     const char **uri, struct smf_error *err)
{
  struct smf_pack_spec spec;
  upload_pack_spec(ctx, archive_path, &spec);
  int rc = smf_archive_pack(&spec, res, err);
  *uri = rc == 0 ? upload_uri(ctx, res->sha256) : NULL;
  return rc;
}

static int upload_start(struct step_ctx *ctx, struct smf_error *err)
{
  struct target *t = step_target(ctx, err);
  if (t == NULL) {
    return err->code;
  }
  if (t->vt->store == NULL) {
    err->klass = SMF_CLASS_CLIENT;
    return SMF_ERR_SET(err, SMF_EUNSUPPORTED, "target '%s' has no store", t->vt->name);
  }
  char *tmpdir = smf_xasprintf("%s/tmp", ctx->state_dir);
  int rc = smf_mkdir_p(tmpdir, err);
  if (rc != 0) {
    free(tmpdir);
    return rc;
  }
  struct upload *u = smf_xcalloc(1, sizeof(*u));
  u->ctx = ctx;
  u->t = t;
  u->tmp = smf_xasprintf("%s/%s-%s-%d.tar.gz", tmpdir, ctx->run_id, ctx->step_id, ctx->attempt);
  free(tmpdir);
  struct smf_pack_spec spec;
  upload_pack_spec(ctx, u->tmp, &spec);
  ctx->kind_data = u;
  rc = smf_archive_pack_async(ctx->loop, &spec, upload_on_packed, u, err);
  if (rc != 0) {
    err->klass = SMF_CLASS_CLIENT;
    ctx->kind_data = NULL;
    free(u->tmp);
    free(u);
  }
  return rc;
}

static int upload_resume(struct step_ctx *ctx, const char *intent_json, struct smf_error *err)
{
  (void)intent_json;
  return upload_start(ctx, err);  // content-addressed: doing it again is harmless
}

static void upload_cancel(struct step_ctx *ctx, int reason, bool kill_now)
{
  (void)kill_now;
  struct upload *u = ctx->kind_data;
  if (u && u->cancel_reason == 0) {
    u->cancel_reason = reason;
  }
}

static void upload_free(struct step_ctx *ctx)
{
  struct upload *u = ctx->kind_data;
  if (u) {
    free(u->tmp);
    free(u->uri);
    free(u);
    ctx->kind_data = NULL;
  }
}

const struct step_kind step_kind_upload = {
    .name = "upload",
    .kind = DSL_KIND_UPLOAD,
    .intent = upload_intent,
    .start = upload_start,
    .resume = upload_resume,
    .cancel = upload_cancel,
    .free = upload_free,
};
