// repack.c: where a deploy's or register's inference code goes, as the SDK's
// model classes decide it (awst_code_mode), and the two ways of putting it
// there:
// - repack (Model.deploy with an entry_point, for PyTorch, TensorFlow,
//   HuggingFace, ...): model.tar.gz is fetched, extracted, the inference code
//   (the source_dir's contents, or the entry point file alone) is placed under
//   code/, and the result is packed reproducibly and stored at
//   s3://DEFAULT_BUCKET/MODEL_NAME/model.tar.gz;
// - upload (SKLearnModel, XGBoostModel, ...: fw_utils.tar_and_upload_dir): the
//   code alone is packed as sourcedir.tar.gz and stored at
//   s3://DEFAULT_BUCKET/MODEL_NAME/sourcedir.tar.gz; the model is left as it is.
// Both uploads use SSE aws:kms (the SDK's encrypt_repacked_artifacts default).
// The extraction, the copy and the packing run on the thread pool; the
// transfers go through the store.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/archive.h"
#include "smflow/util.h"
#include "target/aws/awst.h"

struct repack {
  uv_work_t work;
  struct target *t;
  bool code_only;  ///< awst_code_upload: pack the code alone
  char *model_uri, *dest_uri, *entry_point, *source_dir;
  char *in_path, *dir, *out_path;
  target_done_cb cb;
  void *data;
  int rc;
  struct smf_error err;
};

static void rp_free(struct repack *r)
{
  free(r->model_uri);
  free(r->dest_uri);
  free(r->entry_point);
  free(r->source_dir);
  free(r->in_path);
  free(r->dir);
  free(r->out_path);
  free(r);
}

static int rp_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void rp_rm_rf(const char *path)
{
  nftw(path, rp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int rp_copy_file(const char *from, const char *to, struct smf_error *err)
{
  char *buf = NULL;
  size_t len = 0;
  int rc = smf_file_read(from, &buf, &len, err);
  if (rc == 0) {
    rc = smf_file_write_atomic(to, buf, len, err);
  }
  free(buf);
  return rc;
}

// Copy a directory tree (regular files and directories; other entries skipped).
static int rp_copy_tree(const char *from, const char *to, struct smf_error *err)
{
  int rc = smf_mkdir_p(to, err);
  DIR *d = rc == 0 ? opendir(from) : NULL;
  if (rc == 0 && d == NULL) {
    return SMF_ERR_SET(err, SMF_EIO, "cannot read directory %s", from);
  }
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    char *src = smf_xasprintf("%s/%s", from, e->d_name);
    char *dst = smf_xasprintf("%s/%s", to, e->d_name);
    struct stat st;
    if (lstat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
      rc = rp_copy_tree(src, dst, err);
    } else if (S_ISREG(st.st_mode)) {
      rc = rp_copy_file(src, dst, err);
    }
    free(src);
    free(dst);
  }
  if (d) {
    closedir(d);
  }
  return rc;
}

// The code into dir: a directory's contents, or the single file by its basename.
static int rp_place_code(const char *src, const char *dir, struct smf_error *err)
{
  struct stat st;
  if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
    return rp_copy_tree(src, dir, err);
  }
  const char *base = strrchr(src, '/');
  char *dst = smf_xasprintf("%s/%s", dir, base ? base + 1 : src);
  int rc = smf_mkdir_p(dir, err);
  if (rc == 0) {
    rc = rp_copy_file(src, dst, err);
  }
  free(dst);
  return rc;
}

static void rp_work(uv_work_t *w)
{
  struct repack *r = w->data;
  struct smf_extract_result xr;
  const char *src = r->source_dir ? r->source_dir : r->entry_point;
  rp_rm_rf(r->dir);  // what a crashed attempt left
  if (r->code_only) {
    r->rc = rp_place_code(src, r->dir, &r->err);
  } else {
    r->rc = smf_archive_extract(r->in_path, r->dir, &xr, &r->err);
    char *code = smf_xasprintf("%s/code", r->dir);
    if (r->rc == 0) {
      r->rc = rp_place_code(src, code, &r->err);
    }
    free(code);
  }
  if (r->rc == 0) {
    struct smf_pack_spec spec = {.source_dir = r->dir, .output = r->out_path};
    struct smf_pack_result pr;
    r->rc = smf_archive_pack(&spec, &pr, &r->err);
  }
  rp_rm_rf(r->dir);
  unlink(r->in_path);
}

static void rp_finish(struct repack *r, int status, const struct smf_error *err)
{
  unlink(r->out_path);
  r->cb(r->data, status, err);
  rp_free(r);
}

static void rp_stored(void *data, int status, const struct smf_error *err)
{
  rp_finish(data, status, err);
}

static void rp_after(uv_work_t *w, int status)
{
  (void)status;
  struct repack *r = w->data;
  struct smf_error e = SMF_ERROR_INIT;
  if (r->rc != 0) {
    smf_error_prefix(&r->err, r->code_only ? "packing the code of %s" : "repacking %s",
                     r->code_only ? r->dest_uri : r->model_uri);
    rp_finish(r, r->rc, &r->err);
  } else if (target_store_put_file(r->t, r->out_path, r->dest_uri,
                                   &(struct target_put_opts){.sse_kms = true}, rp_stored, r,
                                   &e) != 0) {
    rp_finish(r, e.code, &e);
  }
}

static void rp_fetched(void *data, int status, const struct smf_error *err)
{
  struct repack *r = data;
  if (status != 0) {
    struct smf_error e = *err;
    smf_error_prefix(&e, "model %s", r->model_uri);
    rp_finish(r, status, &e);
    return;
  }
  r->work.data = r;
  int rc = uv_queue_work(r->t->loop, &r->work, rp_work, rp_after);
  if (rc != 0) {
    struct smf_error e = SMF_ERROR_INIT;
    SMF_ERR_SET(&e, SMF_EINTERNAL, "cannot queue work: %s", uv_strerror(rc));
    rp_finish(r, e.code, &e);
  }
}

char *awst_repack_uri(const char *default_bucket, const char *model_name)
{
  return smf_xasprintf("s3://%s/%s/model.tar.gz", default_bucket, model_name);
}

char *awst_sourcedir_uri(const char *default_bucket, const char *model_name)
{
  return smf_xasprintf("s3://%s/%s/sourcedir.tar.gz", default_bucket, model_name);
}

// packaging.version comparison of dotted numbers: a >= b ("1.10" >= "1.2").
static bool rp_version_ge(const char *a, const char *b)
{
  while (*a || *b) {
    char *ea, *eb;
    long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
    if (x != y) {
      return x > y;
    }
    a = *ea == '.' ? ea + 1 : ea + strlen(ea);
    b = *eb == '.' ? eb + 1 : eb + strlen(eb);
  }
  return true;
}

enum awst_code awst_code_mode(const char *framework, const char *framework_version,
                              const char *entry_point, bool has_source_dir)
{
  const char *v = framework_version ? framework_version : "0";
  if (entry_point == NULL) {
    return AWST_CODE_NONE;
  }
  if (framework == NULL) {  // Model.is_repack
    return has_source_dir ? AWST_CODE_REPACK : AWST_CODE_UPLOAD;
  }
  if (strcmp(framework, "sklearn") == 0 || strcmp(framework, "xgboost") == 0) {
    return AWST_CODE_UPLOAD;
  }
  if (strcmp(framework, "pytorch") == 0) {  // PyTorchModel._is_mms_version
    return rp_version_ge(v, "1.2") ? AWST_CODE_REPACK : AWST_CODE_UPLOAD;
  }
  if (strcmp(framework, "mxnet") == 0) {  // MXNetModel._is_mms_version
    return rp_version_ge(v, "1.4") ? AWST_CODE_REPACK : AWST_CODE_UPLOAD;
  }
  return AWST_CODE_REPACK;  // tensorflow, huggingface
}

static struct repack *rp_new(struct target *t, const struct awst_code_src *code, const char *name,
                             const char *dest_uri, target_done_cb cb, void *data)
{
  struct repack *r = smf_xcalloc(1, sizeof(*r));
  r->t = t;
  r->cb = cb;
  r->data = data;
  r->dest_uri = smf_xstrdup(dest_uri);
  r->entry_point = code->entry_point[0] == '/' || code->source_dir
                       ? smf_xstrdup(code->entry_point)
                       : smf_xasprintf("%s/%s", t->base_dir, code->entry_point);
  r->source_dir = code->source_dir ? smf_xstrdup(code->source_dir) : NULL;
  char *tmp = smf_xasprintf("%s/tmp", t->state_dir);
  r->in_path = smf_xasprintf("%s/%s.model.tar.gz", tmp, name);
  r->dir = smf_xasprintf("%s/%s.repack", tmp, name);
  r->out_path = smf_xasprintf("%s/%s.repacked.tar.gz", tmp, name);
  free(tmp);
  return r;
}

int awst_repack(struct target *t, const char *model_uri, const struct awst_code_src *code,
                const char *name, const char *dest_uri, target_done_cb cb, void *data,
                struct smf_error *err)
{
  struct repack *r = rp_new(t, code, name, dest_uri, cb, data);
  r->model_uri = smf_xstrdup(model_uri);
  char *tmp = smf_xasprintf("%s/tmp", t->state_dir);
  int rc = smf_mkdir_p(tmp, err);
  free(tmp);
  if (rc == 0) {
    rc = t->vt->store->get_file(t, r->model_uri, r->in_path, rp_fetched, r, err);
  }
  if (rc != 0) {
    rp_free(r);
  }
  return rc;
}

int awst_code_upload(struct target *t, const struct awst_code_src *code, const char *name,
                     const char *dest_uri, target_done_cb cb, void *data, struct smf_error *err)
{
  struct repack *r = rp_new(t, code, name, dest_uri, cb, data);
  r->code_only = true;
  char *tmp = smf_xasprintf("%s/tmp", t->state_dir);
  int rc = smf_mkdir_p(tmp, err);
  free(tmp);
  r->work.data = r;
  int q = rc == 0 ? uv_queue_work(t->loop, &r->work, rp_work, rp_after) : 0;
  if (q != 0) {
    rc = SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue work: %s", uv_strerror(q));
  }
  if (rc != 0) {
    rp_free(r);
  }
  return rc;
}
