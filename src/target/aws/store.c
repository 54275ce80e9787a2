// store.c: the aws target's object store over S3: HeadObject, PutObject (a
// multipart upload above 16 MiB, parts in parallel), GetObject into a file,
// CopyObject, ListObjectsV2. Writes to the default bucket
// sagemaker-REGION-ACCOUNT create it first when this process has not yet seen
// it (as the SDK's Session.default_bucket does).
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"
#include "target/aws/awst.h"

enum st_op { ST_PUT_FILE, ST_PUT_BYTES, ST_GET, ST_HEAD, ST_COPY, ST_LIST };

struct st_req {
  struct target *t;
  enum st_op op;
  char *bucket, *key;  // destination (or the object of head/get/list)
  char *src_bucket, *src_key;
  char *path;  // local file
  char *uri;   // for head/list answers
  void *bytes;
  size_t len;
  bool sse_kms;
  char *kms_key;
  target_done_cb done_cb;
  target_head_cb head_cb;
  target_list_cb list_cb;
  void *data;
  // list accumulation
  struct target_object *objs;
  char **uris;
  size_t n, cap;
};

static void st_free(struct st_req *r)
{
  for (size_t i = 0; i < r->n; i++) {
    free(r->uris[i]);
    free((char *)r->objs[i].key);
  }
  free(r->uris);
  free(r->objs);
  free(r->bucket);
  free(r->key);
  free(r->src_bucket);
  free(r->src_key);
  free(r->path);
  free(r->uri);
  free(r->bytes);
  free(r->kms_key);
  free(r);
}

static void st_obj_cb(const struct aws_s3_object *obj, const struct smf_error *err, void *data)
{
  struct st_req *r = data;
  if (awst_of(r->t)->closing) {  // target_close: nothing is delivered any more
    st_free(r);
    return;
  }
  if (r->op == ST_HEAD) {
    struct target_object o = {.uri = r->uri, .key = r->key, .size = obj ? obj->size : 0};
    int code = err ? err->code : 0;
    r->head_cb(r->data, code, code ? NULL : &o, err);
  } else {
    r->done_cb(r->data, err ? err->code : 0, err);
  }
  st_free(r);
}

static bool st_list_cb(const struct aws_s3_list *list, const struct smf_error *err, void *data)
{
  struct st_req *r = data;
  if (awst_of(r->t)->closing) {
    if (list == NULL) {
      st_free(r);
    }
    return false;
  }
  if (list != NULL) {
    for (size_t i = 0; i < list->n_objects; i++) {
      if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->objs = smf_xrealloc(r->objs, r->cap * sizeof(*r->objs));
        r->uris = smf_xrealloc(r->uris, r->cap * sizeof(*r->uris));
      }
      const struct aws_s3_object *o = &list->objects[i];
      r->uris[r->n] = smf_xasprintf("s3://%s/%s", r->bucket, o->key);
      r->objs[r->n] =
          (struct target_object){.uri = r->uris[r->n], .key = smf_xstrdup(o->key), .size = o->size};
      r->n++;
    }
    return true;
  }
  r->list_cb(r->data, err ? err->code : 0, err ? NULL : r->objs, err ? 0 : r->n, err);
  st_free(r);
  return false;
}

static int st_send(struct st_req *r, struct smf_error *err)
{
  struct aws_client *c = awst_of(r->t)->client;
  switch (r->op) {
  case ST_PUT_FILE: {
    struct aws_s3_put_opts o = {.sse = r->sse_kms ? "aws:kms" : NULL, .sse_kms_key_id = r->kms_key};
    return aws_s3_upload_file(c, r->bucket, r->key, r->path, &o, st_obj_cb, r, err);
  }
  case ST_PUT_BYTES:
    return aws_s3_put_object(c, r->bucket, r->key, r->bytes, r->len, NULL, st_obj_cb, r, err);
  case ST_GET:
    return aws_s3_get_object(c, r->bucket, r->key, r->path, st_obj_cb, r, err);
  case ST_HEAD:
    return aws_s3_head_object(c, r->bucket, r->key, st_obj_cb, r, err);
  case ST_COPY:
    return aws_s3_copy_object(c, r->src_bucket, r->src_key, r->bucket, r->key, st_obj_cb, r, err);
  case ST_LIST:
    return aws_s3_list_objects(c, r->bucket, *r->key ? r->key : NULL, NULL, 0, st_list_cb, r, err);
  }
  return SMF_ERR_SET(err, SMF_EINTERNAL, "store: unknown operation");
}

static void st_bucket_ready(void *data, int status, const struct smf_error *err)
{
  struct st_req *r = data;
  if (awst_of(r->t)->closing) {
    st_free(r);
    return;
  }
  struct smf_error e = SMF_ERROR_INIT;
  if (status == 0 && st_send(r, &e) == 0) {
    return;
  }
  const struct smf_error *why = status ? err : &e;
  r->done_cb(r->data, why->code ? why->code : SMF_EIO, why);
  st_free(r);
}

static int st_start(struct st_req *r, struct smf_error *err)
{
  struct awst *a = awst_of(r->t);
  bool write = r->op == ST_PUT_FILE || r->op == ST_PUT_BYTES || r->op == ST_COPY;
  int rc;
  if (write && !a->default_bucket_ready && strcmp(r->bucket, a->default_bucket) == 0) {
    rc = awst_bucket_ensure(r->t, r->bucket, st_bucket_ready, r, err);
  } else {
    rc = st_send(r, err);
  }
  if (rc != 0) {
    st_free(r);
  }
  return rc;
}

static struct st_req *st_new(struct target *t, enum st_op op, const char *uri, void *data,
                             struct smf_error *err)
{
  struct st_req *r = smf_xcalloc(1, sizeof(*r));
  r->t = t;
  r->op = op;
  r->data = data;
  if (awst_s3_split(uri, &r->bucket, &r->key, err) != 0) {
    err->klass = SMF_CLASS_CLIENT;
    st_free(r);
    return NULL;
  }
  r->uri = smf_xstrdup(uri);
  return r;
}

static int st_put_file(struct target *t, const char *path, const char *uri, target_done_cb cb,
                       void *data, struct smf_error *err)
{
  struct st_req *r = st_new(t, ST_PUT_FILE, uri, data, err);
  if (r == NULL) {
    return err->code;
  }
  r->path = smf_xstrdup(path);
  r->done_cb = cb;
  return st_start(r, err);
}

static int st_put_file_opts(struct target *t, const char *path, const char *uri,
                            const struct target_put_opts *opts, target_done_cb cb, void *data,
                            struct smf_error *err)
{
  struct st_req *r = st_new(t, ST_PUT_FILE, uri, data, err);
  if (r == NULL) {
    return err->code;
  }
  r->path = smf_xstrdup(path);
  r->done_cb = cb;
  r->sse_kms = opts && opts->sse_kms;
  r->kms_key = r->sse_kms && opts->kms_key ? smf_xstrdup(opts->kms_key) : NULL;
  return st_start(r, err);
}

static int st_put_bytes(struct target *t, const void *bytes, size_t len, const char *uri,
                        target_done_cb cb, void *data, struct smf_error *err)
{
  struct st_req *r = st_new(t, ST_PUT_BYTES, uri, data, err);
  if (r == NULL) {
    return err->code;
  }
  r->bytes = smf_xmalloc(len ? len : 1);
  memcpy(r->bytes, bytes, len);
  r->len = len;
  r->done_cb = cb;
  return st_start(r, err);
}

static int st_get_file(struct target *t, const char *uri, const char *path, target_done_cb cb,
                       void *data, struct smf_error *err)
{
  struct st_req *r = st_new(t, ST_GET, uri, data, err);
  if (r == NULL) {
    return err->code;
  }
  r->path = smf_xstrdup(path);
  r->done_cb = cb;
  return st_start(r, err);
}

static int st_head(struct target *t, const char *uri, target_head_cb cb, void *data,
                   struct smf_error *err)
{
  struct st_req *r = st_new(t, ST_HEAD, uri, data, err);
  if (r == NULL) {
    return err->code;
  }
  r->head_cb = cb;
  return st_start(r, err);
}

static int st_copy(struct target *t, const char *src, const char *dst, target_done_cb cb,
                   void *data, struct smf_error *err)
{
  struct st_req *r = st_new(t, ST_COPY, dst, data, err);
  if (r == NULL) {
    return err->code;
  }
  if (awst_s3_split(src, &r->src_bucket, &r->src_key, err) != 0) {
    st_free(r);
    return err->code;
  }
  r->done_cb = cb;
  return st_start(r, err);
}

static int st_list(struct target *t, const char *prefix, target_list_cb cb, void *data,
                   struct smf_error *err)
{
  struct st_req *r = st_new(t, ST_LIST, prefix, data, err);
  if (r == NULL) {
    return err->code;
  }
  r->list_cb = cb;
  return st_start(r, err);
}

const struct target_store_ops awst_store_ops = {
    .put_file = st_put_file,
    .put_file_opts = st_put_file_opts,
    .put_bytes = st_put_bytes,
    .get_file = st_get_file,
    .head = st_head,
    .copy = st_copy,
    .list = st_list,
};

// ---- the default bucket -----------------------------------------------------------
// One CreateBucket per process: callers that come while it is in flight wait
// for its answer (500 jobs starting at once make one call, not 500).

struct bucket_req {
  struct bucket_req *next;
  struct target *t;
  target_done_cb cb;
  void *data;
};

static void bucket_cb(const struct aws_s3_object *obj, const struct smf_error *err, void *data)
{
  (void)obj;
  struct target *t = data;
  struct awst *a = awst_of(t);
  bool ok = err == NULL || strcmp(err->aws_code, "BucketAlreadyOwnedByYou") == 0;
  if (ok) {
    a->default_bucket_ready = true;
  }
  struct bucket_req *list = a->bucket_waiters;
  a->bucket_waiters = NULL;
  a->bucket_pending = false;
  while (list) {
    struct bucket_req *b = list;
    list = b->next;
    if (a->closing) {  // target_close: nothing is delivered any more
      if (b->cb == st_bucket_ready) {
        st_free(b->data);
      }
    } else {
      b->cb(b->data, ok ? 0 : err->code, ok ? NULL : err);
    }
    free(b);
  }
}

int awst_bucket_ensure(struct target *t, const char *bucket, target_done_cb cb, void *data,
                       struct smf_error *err)
{
  struct awst *a = awst_of(t);
  if (!a->bucket_pending) {
    int rc = aws_s3_create_bucket(a->client, bucket, bucket_cb, t, err);
    if (rc != 0) {
      return rc;
    }
    a->bucket_pending = true;
  }
  struct bucket_req *b = smf_xcalloc(1, sizeof(*b));
  *b = (struct bucket_req){a->bucket_waiters, t, cb, data};
  a->bucket_waiters = b;
  return 0;
}
