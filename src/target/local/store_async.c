// store_async.c: the store's copying operations on the uv thread pool, so that
// large objects never block the event loop.
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "smflow/error.h"
#include "smflow/util.h"
#include "target/local/store.h"

enum store_op { STORE_OP_PUT_FILE, STORE_OP_COPY, STORE_OP_MATERIALISE };

struct store_job {
  uv_work_t work;
  enum store_op op;
  const struct local_store *st;
  char *a, *b;  // put: src path, uri; copy: src, dst; materialise: uri, dest
  enum local_materialise_mode mode;
  local_store_cb cb;
  void *data;
  int status;
  struct local_materialise_result res;
  struct smf_error err;
};

static void store_job__work(uv_work_t *w)
{
  struct store_job *job = w->data;
  switch (job->op) {
  case STORE_OP_PUT_FILE:
    job->status = local_store_put_file(job->st, job->a, job->b, &job->err);
    break;
  case STORE_OP_COPY:
    job->status = local_store_copy(job->st, job->a, job->b, &job->err);
    break;
  case STORE_OP_MATERIALISE:
    job->status = local_store_materialise(job->st, job->a, job->b, job->mode, &job->res, &job->err);
    break;
  }
}

static void store_job__after(uv_work_t *w, int status)
{
  struct store_job *job = w->data;
  if (status == UV_ECANCELED) {
    job->status = SMF_ERR_SET(&job->err, SMF_ECANCELLED, "store operation cancelled");
  }
  bool has_res = job->op == STORE_OP_MATERIALISE && job->status == 0;
  job->cb(job->status, has_res ? &job->res : NULL, &job->err, job->data);
  free(job->a);
  free(job->b);
  free(job);
}

static int store_job__queue(uv_loop_t *loop, const struct local_store *st, enum store_op op,
                            const char *a, const char *b, local_store_cb cb, void *data,
                            enum local_materialise_mode mode, struct smf_error *err)
{
  if (loop == NULL || st == NULL || a == NULL || b == NULL || cb == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "local store: loop, store, both paths and cb are required");
  }
  struct store_job *job = smf_xcalloc(1, sizeof(*job));
  job->work.data = job;
  job->op = op;
  job->st = st;
  job->a = smf_xstrdup(a);
  job->b = smf_xstrdup(b);
  job->mode = mode;
  job->cb = cb;
  job->data = data;
  int r = uv_queue_work(loop, &job->work, store_job__work, store_job__after);
  if (r != 0) {
    free(job->a);
    free(job->b);
    free(job);
    return SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue store work: %s", uv_strerror(r));
  }
  return 0;
}

int local_store_put_file_async(struct uv_loop_s *loop, const struct local_store *st,
                               const char *src_path, const char *uri, local_store_cb cb, void *data,
                               struct smf_error *err)
{
  return store_job__queue(loop, st, STORE_OP_PUT_FILE, src_path, uri, cb, data,
                          LOCAL_MATERIALISE_COPY, err);
}

int local_store_copy_async(struct uv_loop_s *loop, const struct local_store *st,
                           const char *src_uri, const char *dst_uri, local_store_cb cb, void *data,
                           struct smf_error *err)
{
  return store_job__queue(loop, st, STORE_OP_COPY, src_uri, dst_uri, cb, data,
                          LOCAL_MATERIALISE_COPY, err);
}

int local_store_materialise_async(struct uv_loop_s *loop, const struct local_store *st,
                                  const char *uri, const char *dest_dir,
                                  enum local_materialise_mode mode, local_store_cb cb, void *data,
                                  struct smf_error *err)
{
  return store_job__queue(loop, st, STORE_OP_MATERIALISE, uri, dest_dir, cb, data, mode, err);
}
