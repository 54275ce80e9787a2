// stage.c: a local model file uploaded before a remote target is asked to use
// it (step_stage_local). Hashing runs on the thread pool; the transfers go
// through the target's store.
#include <stdlib.h>
#include <string.h>

#include "smflow/hash.h"
#include "smflow/util.h"
#include "steps/common.h"

#define STAGE_MARKER ".smflow-complete"

struct stage {
  struct target *t;
  char *path;
  char *dir;  ///< s3://BUCKET/smflow/inputs/SHA/
  char *uri;  ///< dir + the file's name
  step_stage_cb cb;
  void *data;
  char *bucket_uri;
};

static void stage_end(struct stage *s, int status, const struct smf_error *err)
{
  s->cb(s->data, status, status == 0 ? s->uri : NULL, err);
  free(s->path);
  free(s->dir);
  free(s->uri);
  free(s->bucket_uri);
  free(s);
}

static void stage_marked(void *data, int status, const struct smf_error *err)
{
  stage_end(data, status, err);
}

static void stage_stored(void *data, int status, const struct smf_error *err)
{
  struct stage *s = data;
  if (status != 0) {
    stage_end(s, status, err);
    return;
  }
  char *marker = smf_xasprintf("%s" STAGE_MARKER, s->dir);
  struct smf_error e = SMF_ERROR_INIT;
  int rc = s->t->vt->store->put_bytes(s->t, "", 0, marker, stage_marked, s, &e);
  free(marker);
  if (rc != 0) {
    stage_end(s, rc, &e);
  }
}

static void stage_headed(void *data, int status, const struct target_object *obj,
                         const struct smf_error *err)
{
  (void)obj;
  struct stage *s = data;
  if (status == 0) {  // stored before
    stage_end(s, 0, NULL);
    return;
  }
  if (status != SMF_ENOENT) {
    stage_end(s, status, err);
    return;
  }
  struct smf_error e = SMF_ERROR_INIT;
  int rc = s->t->vt->store->put_file(s->t, s->path, s->uri, stage_stored, s, &e);
  if (rc != 0) {
    stage_end(s, rc, &e);
  }
}

static void stage_hashed(int status, const char *hex, uint64_t size, const struct smf_error *err,
                         void *data)
{
  (void)size;
  struct stage *s = data;
  if (status != 0) {
    struct smf_error e = *err;
    e.klass = SMF_CLASS_CLIENT;
    stage_end(s, status, &e);
    return;
  }
  const char *slash = strrchr(s->path, '/');
  const char *name = slash ? slash + 1 : s->path;
  struct smf_hash *h = smf_hash_new(SMF_HASH_SHA256);
  smf_hash_update(h, name, strlen(name) + 1);
  smf_hash_update(h, hex, strlen(hex));
  char sum[SMF_HASH_HEX_SIZE];
  smf_hash_final_hex(h, sum);
  smf_hash_free(h);
  s->dir = smf_xasprintf("%ssmflow/inputs/%.16s/", s->bucket_uri, sum);
  s->uri = smf_xasprintf("%s%s", s->dir, name);
  char *marker = smf_xasprintf("%s" STAGE_MARKER, s->dir);
  struct smf_error e = SMF_ERROR_INIT;
  int rc = s->t->vt->store->head(s->t, marker, stage_headed, s, &e);
  free(marker);
  if (rc != 0) {
    stage_end(s, rc, &e);
  }
}

int step_stage_local(struct step_ctx *ctx, const char *path, step_stage_cb cb, void *data,
                     struct smf_error *err)
{
  struct target *t = ctx->target;
  if (path != NULL && strncmp(path, "file://", 7) == 0) {
    path += 7;
  }
  if (path == NULL || t == NULL || strcmp(t->vt->name, "local") == 0 ||
      strstr(path, "://") != NULL || t->vt->store == NULL) {
    return 0;
  }
  struct stage *s = smf_xcalloc(1, sizeof(*s));
  s->t = t;
  s->path = smf_xstrdup(path);
  s->cb = cb;
  s->data = data;
  s->bucket_uri = smf_xstrdup(step_default_bucket_uri(ctx));
  int rc = smf_hash_file_async(ctx->loop, SMF_HASH_SHA256, path, stage_hashed, s, err);
  if (rc != 0) {
    err->klass = SMF_CLASS_CLIENT;
    free(s->path);
    free(s->bucket_uri);
    free(s);
    return rc;
  }
  return 1;
}
