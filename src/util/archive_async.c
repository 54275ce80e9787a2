// archive_async.c: the core's side of the archive module — the synchronous
// calls, forwarded to smflow-archive.so (loaded on first use), and the same on
// the uv thread pool. An asynchronous request owns copies of its inputs; the
// completion runs on the loop thread and frees it.
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "smflow/archive.h"
#include "smflow/error.h"
#include "smflow/util.h"
#include "util/archive_int.h"

int smf_archive_pack(const struct smf_pack_spec *spec, struct smf_pack_result *res,
                     struct smf_error *err)
{
  const struct smf_archive_module *m = smf_module_get("archive", err);
  return m == NULL ? SMF_EIO : m->pack(spec, res, err);
}

int smf_archive_extract(const char *archive_path, const char *dest_dir,
                        struct smf_extract_result *res, struct smf_error *err)
{
  const struct smf_archive_module *m = smf_module_get("archive", err);
  return m == NULL ? SMF_EIO : m->extract(archive_path, dest_dir, res, err);
}

struct archive_job {
  uv_work_t work;
  bool extract;
  // pack
  struct smf_pack_spec spec;
  char **strings;  // every copied string, freed together
  size_t n_strings;
  struct smf_pack_result pack_res;
  smf_archive_pack_cb pack_cb;
  // extract
  char *archive_path;
  char *dest_dir;
  struct smf_extract_result extract_res;
  smf_archive_extract_cb extract_cb;
  void *data;
  int status;
  struct smf_error err;
};

static const char *job__keep(struct archive_job *job, const char *s)
{
  if (s == NULL) {
    return NULL;
  }
  char *copy = smf_xstrdup(s);
  job->strings = smf_xrealloc(job->strings, (job->n_strings + 1) * sizeof(*job->strings));
  job->strings[job->n_strings++] = copy;
  return copy;
}

static const char *const *job__keep_all(struct archive_job *job, const char *const *v, size_t n)
{
  if (n == 0) {
    return NULL;
  }
  const char **out = smf_xcalloc(n, sizeof(*out));
  for (size_t i = 0; i < n; i++) {
    out[i] = job__keep(job, v[i]);
  }
  return out;
}

static void job__free(struct archive_job *job)
{
  for (size_t i = 0; i < job->n_strings; i++) {
    free(job->strings[i]);
  }
  free(job->strings);
  free((void *)job->spec.dependencies);
  free((void *)job->spec.files);
  free(job->archive_path);
  free(job->dest_dir);
  free(job);
}

static void job__work(uv_work_t *w)
{
  struct archive_job *job = w->data;
  if (job->extract) {
    job->status =
        smf_archive_extract(job->archive_path, job->dest_dir, &job->extract_res, &job->err);
  } else {
    job->status = smf_archive_pack(&job->spec, &job->pack_res, &job->err);
  }
}

static void job__after(uv_work_t *w, int status)
{
  struct archive_job *job = w->data;
  if (status == UV_ECANCELED) {
    job->status = SMF_ERR_SET(&job->err, SMF_ECANCELLED, "archive job cancelled");
  }
  if (job->extract) {
    job->extract_cb(job->status, job->status == 0 ? &job->extract_res : NULL, &job->err, job->data);
  } else {
    job->pack_cb(job->status, job->status == 0 ? &job->pack_res : NULL, &job->err, job->data);
  }
  job__free(job);
}

static int job__queue(uv_loop_t *loop, struct archive_job *job, struct smf_error *err)
{
  job->work.data = job;
  int r = uv_queue_work(loop, &job->work, job__work, job__after);
  if (r != 0) {
    job__free(job);
    return SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue archive work: %s", uv_strerror(r));
  }
  return 0;
}

int smf_archive_pack_async(struct uv_loop_s *loop, const struct smf_pack_spec *spec,
                           smf_archive_pack_cb cb, void *data, struct smf_error *err)
{
  if (loop == NULL || spec == NULL || spec->output == NULL || cb == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "smf_archive_pack_async: loop, spec, output and cb "
                       "are required");
  }
  struct archive_job *job = smf_xcalloc(1, sizeof(*job));
  job->spec.source_dir = job__keep(job, spec->source_dir);
  job->spec.dependencies = job__keep_all(job, spec->dependencies, spec->n_dependencies);
  job->spec.n_dependencies = spec->n_dependencies;
  job->spec.files = job__keep_all(job, spec->files, spec->n_files);
  job->spec.n_files = spec->n_files;
  job->spec.output = job__keep(job, spec->output);
  job->spec.level = spec->level;
  job->spec.sync = spec->sync;
  job->pack_cb = cb;
  job->data = data;
  return job__queue(loop, job, err);
}

int smf_archive_extract_async(struct uv_loop_s *loop, const char *archive_path,
                              const char *dest_dir, smf_archive_extract_cb cb, void *data,
                              struct smf_error *err)
{
  if (loop == NULL || archive_path == NULL || dest_dir == NULL || cb == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "smf_archive_extract_async: loop, archive, destination "
                       "and cb are required");
  }
  struct archive_job *job = smf_xcalloc(1, sizeof(*job));
  job->extract = true;
  job->archive_path = smf_xstrdup(archive_path);
  job->dest_dir = smf_xstrdup(dest_dir);
  job->extract_cb = cb;
  job->data = data;
  return job__queue(loop, job, err);
}
