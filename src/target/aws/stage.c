// stage.c: local paths where a job needs S3 (SPEC §5): every "S3Uri" of a
// Create* body that is a local file or directory is uploaded first, content
// addressed, under s3://DEFAULT_BUCKET/smflow/inputs/SHA/ (SHA: 16 hex digits
// of the SHA-256 over the sorted relative paths and the files' SHA-256), and
// the body then names that prefix. A marker object SHA/.smflow-complete is
// written last, so a later run (or a re-attach) that finds it uploads nothing.
// Hashing and walking run on the thread pool; uploads go through the store.
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "smflow/hash.h"
#include "smflow/util.h"
#include "target/aws/awst_job.h"

#define STAGE_MARKER ".smflow-complete"

struct stage_item {
  json_t *holder;  ///< the object whose "S3Uri" is replaced (borrowed from the body)
  char *path;      ///< local file or directory
  bool is_dir;
  char **files;  ///< relative paths (directory) or the basename (file)
  size_t n_files;
  char *dest;  ///< s3://BUCKET/smflow/inputs/SHA/
  int rc;
  struct smf_error err;
};

struct stage {
  uv_work_t work;
  struct awst_job *j;
  struct stage_item *items;
  size_t n, cur, file;
  char *bucket;
  awst_stage_cb cb;
};

static void stage_collect(json_t *v, struct stage *s)
{
  if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
      stage_collect(x, s);
    }
    return;
  }
  if (!json_is_object(v)) {
    return;
  }
  const char *uri = json_string_value(json_object_get(v, "S3Uri"));
  if (uri && !smf_str_startswith(uri, "s3://")) {
    s->items = smf_xrealloc(s->items, (s->n + 1) * sizeof(*s->items));
    const char *p = smf_str_startswith(uri, "file://") ? uri + 7 : uri;
    s->items[s->n++] = (struct stage_item){.holder = v, .path = smf_xstrdup(p)};
  }
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x)
  {
    stage_collect(x, s);
  }
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void stage_walk(const char *root, const char *rel, struct stage_item *it)
{
  char *dir = *rel ? smf_xasprintf("%s/%s", root, rel) : smf_xstrdup(root);
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    char *r = *rel ? smf_xasprintf("%s/%s", rel, e->d_name) : smf_xstrdup(e->d_name);
    char *full = smf_xasprintf("%s/%s", root, r);
    struct stat st;
    if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
      stage_walk(root, r, it);
      free(r);
    } else if (S_ISREG(st.st_mode)) {
      it->files = smf_xrealloc(it->files, (it->n_files + 1) * sizeof(*it->files));
      it->files[it->n_files++] = r;
    } else {
      free(r);
    }
    free(full);
  }
  if (d) {
    closedir(d);
  }
  free(dir);
}

// Thread pool: list and hash one item.
static void stage_hash(struct stage_item *it, const char *bucket)
{
  struct stat st;
  if (stat(it->path, &st) != 0) {
    it->rc = SMF_ERR_SET(&it->err, SMF_ENOENT, "input %s does not exist", it->path);
    return;
  }
  it->is_dir = S_ISDIR(st.st_mode);
  if (it->is_dir) {
    stage_walk(it->path, "", it);
    qsort(it->files, it->n_files, sizeof(*it->files), cmp_str);
  } else {
    const char *base = strrchr(it->path, '/');
    it->files = smf_xcalloc(1, sizeof(*it->files));
    it->files[it->n_files++] = smf_xstrdup(base ? base + 1 : it->path);
  }
  struct smf_hash *h = smf_hash_new(SMF_HASH_SHA256);
  for (size_t i = 0; i < it->n_files && it->rc == 0; i++) {
    char *full =
        it->is_dir ? smf_xasprintf("%s/%s", it->path, it->files[i]) : smf_xstrdup(it->path);
    char hex[SMF_HASH_HEX_SIZE];
    uint64_t size;
    it->rc = smf_hash_file(SMF_HASH_SHA256, full, hex, &size, &it->err);
    smf_hash_update(h, it->files[i], strlen(it->files[i]) + 1);
    smf_hash_update(h, hex, strlen(hex));
    free(full);
  }
  char sum[SMF_HASH_HEX_SIZE];
  smf_hash_final_hex(h, sum);
  smf_hash_free(h);
  it->dest = smf_xasprintf("s3://%s/smflow/inputs/%.16s/", bucket, sum);
}

static void stage_work(uv_work_t *w)
{
  struct stage *s = w->data;
  for (size_t i = 0; i < s->n; i++) {
    stage_hash(&s->items[i], s->bucket);
  }
}

static void stage_free(struct stage *s)
{
  for (size_t i = 0; i < s->n; i++) {
    for (size_t k = 0; k < s->items[i].n_files; k++) {
      free(s->items[i].files[k]);
    }
    free(s->items[i].files);
    free(s->items[i].path);
    free(s->items[i].dest);
  }
  free(s->items);
  free(s->bucket);
  free(s);
}

static void stage_finish(struct stage *s, int status, const struct smf_error *err)
{
  struct awst_job *j = s->j;
  if (status == 0) {
    for (size_t i = 0; i < s->n; i++) {
      struct stage_item *it = &s->items[i];
      char *uri =
          it->is_dir ? smf_xstrdup(it->dest) : smf_xasprintf("%s%s", it->dest, it->files[0]);
      json_object_set_new(it->holder, "S3Uri", json_string(uri));
      free(uri);
    }
  }
  awst_stage_cb cb = s->cb;
  stage_free(s);
  cb(j, status, err);
}

static void stage_next(struct stage *s);
static void stage_next_or_head(struct stage *s);

static void stage_stored(void *data, int status, const struct smf_error *err)
{
  struct stage *s = data;
  if (!awst_job_callback(s->j)) {
    stage_free(s);
    return;
  }
  if (status != 0) {
    stage_finish(s, status, err);
    return;
  }
  s->file++;
  stage_next(s);
}

// Upload the current item's files one after the other, then its marker.
static void stage_next(struct stage *s)
{
  struct target *t = s->j->t;
  if (s->file > s->items[s->cur].n_files) {  // files and marker stored: the next item
    s->cur++;
    s->file = 0;
    stage_next_or_head(s);
    return;
  }
  struct stage_item *it = &s->items[s->cur];
  struct smf_error e = SMF_ERROR_INIT;
  int rc;
  if (s->file < it->n_files) {
    char *full =
        it->is_dir ? smf_xasprintf("%s/%s", it->path, it->files[s->file]) : smf_xstrdup(it->path);
    char *uri = smf_xasprintf("%s%s", it->dest, it->files[s->file]);
    rc = t->vt->store->put_file(t, full, uri, stage_stored, s, &e);
    free(full);
    free(uri);
  } else {
    char *uri = smf_xasprintf("%s" STAGE_MARKER, it->dest);
    rc = t->vt->store->put_bytes(t, "", 0, uri, stage_stored, s, &e);
    free(uri);
  }
  if (rc != 0) {
    stage_finish(s, rc, &e);
    return;
  }
  awst_job_call_started(s->j);
}

static void stage_headed(void *data, int status, const struct target_object *obj,
                         const struct smf_error *err)
{
  (void)obj;
  struct stage *s = data;
  if (!awst_job_callback(s->j)) {
    stage_free(s);
    return;
  }
  if (status == 0) {  // uploaded before: nothing to do for this item
    s->cur++;
    s->file = 0;
    stage_next_or_head(s);
    return;
  }
  if (status != SMF_ENOENT) {
    stage_finish(s, status, err);
    return;
  }
  s->file = 0;
  stage_next(s);
}

void stage_next_or_head(struct stage *s)
{
  if (s->cur == s->n) {
    stage_finish(s, 0, NULL);
    return;
  }
  struct target *t = s->j->t;
  char *uri = smf_xasprintf("%s" STAGE_MARKER, s->items[s->cur].dest);
  struct smf_error e = SMF_ERROR_INIT;
  int rc = t->vt->store->head(t, uri, stage_headed, s, &e);
  free(uri);
  if (rc != 0) {
    stage_finish(s, rc, &e);
    return;
  }
  awst_job_call_started(s->j);
}

static void stage_after(uv_work_t *w, int status)
{
  (void)status;
  struct stage *s = w->data;
  if (!awst_job_callback(s->j)) {
    stage_free(s);
    return;
  }
  for (size_t i = 0; i < s->n; i++) {
    if (s->items[i].rc != 0) {
      struct smf_error e = s->items[i].err;
      e.klass = SMF_CLASS_CLIENT;
      stage_finish(s, e.code, &e);
      return;
    }
  }
  stage_next_or_head(s);
}

int awst_stage(struct awst_job *j, awst_stage_cb cb)
{
  struct stage *s = smf_xcalloc(1, sizeof(*s));
  stage_collect(j->body, s);
  if (s->n == 0) {
    stage_free(s);
    return 0;
  }
  s->j = j;
  s->cb = cb;
  s->bucket = smf_xstrdup(awst_of(j->t)->default_bucket);
  s->work.data = s;
  if (uv_queue_work(j->t->loop, &s->work, stage_work, stage_after) != 0) {
    stage_free(s);
    return 0;  // the Create* request then fails on the local path, with its name
  }
  awst_job_call_started(j);
  return 1;
}
