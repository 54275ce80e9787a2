// prepack.c: the code archive of a fit or evaluate step packed when the run
// starts, so that the step, once its inputs are ready, only moves it into the
// store instead of packing and storing it while the pipeline waits.
//
// The prepare hook packs the step's code (source_dir + dependencies, or its
// entry point alone) when every path is literal, into
// STATE_DIR/tmp/prepack-RUN-STEP.tar.gz on the thread pool, unsynced: the
// step gives it up to the store, which renames it into place and syncs it as
// it syncs its own puts (file, rename, directory; on a local run, off the
// critical path before the run's end), or uploads it. Before packing it hashes the
// state of every input file and directory (lstat: type, mode, size, mtime,
// ctime, inode), skipping what the packer skips (`.smflow`, `__pycache__`).
// When the step's first attempt starts it takes the archive if it was made for
// the same inputs, and the same hash, computed again on the thread pool, shows
// that nothing was changed, added or removed since (an earlier step may have
// written into the code directory): the bytes are then those packing at that
// moment would give. Otherwise the archive is dropped and the step packs as it
// always did. An archive no attempt took is removed when the run's loop ends;
// the first one a run packs also removes those a smflow that died left behind.
// Entries live on the loop thread only; the one in flight is owned by its work
// request.
#include "steps/prepack.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/hash.h"
#include "smflow/util.h"
#include "steps/common.h"

enum pp_state { PP_PACKING, PP_READY, PP_FAILED };

struct prepack {
  char *run_id, *step_id;
  char *key;  // the inputs, as step_prepack_take compares them
  char *source_dir, **deps, **files, *out;
  size_t n_deps, n_files;
  char fp[SMF_HASH_HEX_SIZE];  // the inputs' state before packing
  bool same;                   // the verification found it unchanged
  int pack_rc;                 // written by the packing thread, read in pp_pack_after
  enum pp_state state;         // loop thread only
  bool released, taken;
  bool sweep;  // first of its run: remove what runs before left in STATE_DIR/tmp
  uv_work_t work;
  step_prepack_cb cb;
  void *data;
  struct prepack *next;
};

static struct prepack *pp_list;  // untaken entries (loop thread only)

static void pp_free(struct prepack *pp)
{
  free(pp->run_id);
  free(pp->step_id);
  free(pp->key);
  free(pp->source_dir);
  for (size_t i = 0; i < pp->n_deps; i++) {
    free(pp->deps[i]);
  }
  for (size_t i = 0; i < pp->n_files; i++) {
    free(pp->files[i]);
  }
  free(pp->deps);
  free(pp->files);
  free(pp->out);
  free(pp);
}

static void pp_unlink(struct prepack *pp)
{
  for (struct prepack **p = &pp_list; *p; p = &(*p)->next) {
    if (*p == pp) {
      *p = pp->next;
      return;
    }
  }
}

// One line per input, in order: what two specs must share to give one archive.
static char *pp_key(const struct smf_pack_spec *spec)
{
  struct smf_buf b = SMF_BUF_INIT;
  smf_buf_printf(&b, "S %s\n", spec->source_dir ? spec->source_dir : "");
  for (size_t i = 0; i < spec->n_dependencies; i++) {
    smf_buf_printf(&b, "D %s\n", spec->dependencies[i]);
  }
  for (size_t i = 0; i < spec->n_files; i++) {
    smf_buf_printf(&b, "F %s\n", spec->files[i]);
  }
  char *k = smf_xstrdup(smf_buf_cstr(&b));
  smf_buf_free(&b);
  return k;
}

// ---- the inputs' state (thread pool) ----

static void pp_hash_stat(struct smf_hash *h, const char *rel, const struct stat *st)
{
  uint64_t rec[10] = {(uint64_t)st->st_dev,          (uint64_t)st->st_ino,
                      (uint64_t)st->st_mode,         (uint64_t)st->st_size,
                      (uint64_t)st->st_mtim.tv_sec,  (uint64_t)st->st_mtim.tv_nsec,
                      (uint64_t)st->st_ctim.tv_sec,  (uint64_t)st->st_ctim.tv_nsec,
                      0,                             0};
  smf_hash_update(h, rel, strlen(rel) + 1);
  smf_hash_update(h, rec, sizeof(rec));
}

static int pp_name_cmp(const struct dirent **a, const struct dirent **b)
{
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int pp_not_dots(const struct dirent *d)
{
  return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

// path's state and, for a directory, its tree's (rel names it in the hash).
static void pp_walk(struct smf_hash *h, const char *path, const char *rel, bool follow)
{
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) {
    smf_hash_update(h, "?", 1);
    smf_hash_update(h, rel, strlen(rel) + 1);
    return;
  }
  pp_hash_stat(h, rel, &st);
  if (!S_ISDIR(st.st_mode)) {
    return;
  }
  struct dirent **names = NULL;
  int n = scandir(path, &names, pp_not_dots, pp_name_cmp);
  if (n < 0) {
    smf_hash_update(h, "!", 1);
    return;
  }
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    char *cpath = smf_xasprintf("%s/%s", path, name);
    char *crel = smf_xasprintf("%s/%s", rel, name);
    struct stat cst;
    bool skipped = (strcmp(name, ".smflow") == 0 || strcmp(name, "__pycache__") == 0) &&
                   lstat(cpath, &cst) == 0 && S_ISDIR(cst.st_mode);  // as the packer skips them
    if (!skipped) {
      pp_walk(h, cpath, crel, false);
    }
    free(cpath);
    free(crel);
    free(names[i]);
  }
  free(names);
}

static void pp_fingerprint(const struct prepack *pp, char *hex)
{
  struct smf_hash *h = smf_hash_new(SMF_HASH_SHA256);
  if (pp->source_dir) {
    pp_walk(h, pp->source_dir, "S", true);
  }
  for (size_t i = 0; i < pp->n_deps; i++) {
    pp_walk(h, pp->deps[i], "D", true);
  }
  for (size_t i = 0; i < pp->n_files; i++) {
    pp_walk(h, pp->files[i], "F", true);
  }
  smf_hash_final_hex(h, hex);
  smf_hash_free(h);
}

// ---- packing, then (once taken) the check ----

static void pp_verify_work(uv_work_t *w)
{
  struct prepack *pp = w->data;
  if (pp->state == PP_READY) {
    char now[SMF_HASH_HEX_SIZE];
    pp_fingerprint(pp, now);
    pp->same = strcmp(now, pp->fp) == 0;
  }
}

static void pp_verify_after(uv_work_t *w, int status)
{
  struct prepack *pp = w->data;
  char *out = NULL;
  if (status == 0 && pp->state == PP_READY && pp->same) {
    out = pp->out;
    pp->out = NULL;
  } else if (pp->state == PP_READY) {
    unlink(pp->out);
  }
  step_prepack_cb cb = pp->cb;
  void *data = pp->data;
  pp_free(pp);
  cb(data, out);
}

// Taken: check it on the thread pool; the taker hears from the check.
static int pp_verify(struct prepack *pp, uv_loop_t *loop)
{
  pp->work.data = pp;
  return uv_queue_work(loop, &pp->work, pp_verify_work, pp_verify_after);
}

// Archives a smflow that died left in its tmp directory (any prepack-* file not
// of this run: one smflow at a time uses a state directory).
static void pp_sweep(const struct prepack *pp)
{
  char *dir = smf_xstrdup(pp->out);
  *strrchr(dir, '/') = '\0';
  char *mine = smf_xasprintf("prepack-%s-", pp->run_id);
  struct dirent **names = NULL;
  int n = scandir(dir, &names, pp_not_dots, NULL);
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (strncmp(name, "prepack-", 8) == 0 && strncmp(name, mine, strlen(mine)) != 0) {
      char *path = smf_xasprintf("%s/%s", dir, name);
      unlink(path);
      free(path);
    }
    free(names[i]);
  }
  free(names);
  free(mine);
  free(dir);
}

static void pp_pack_work(uv_work_t *w)
{
  struct prepack *pp = w->data;
  if (pp->sweep) {
    pp_sweep(pp);
  }
  pp_fingerprint(pp, pp->fp);
  struct smf_pack_spec spec = {.source_dir = pp->source_dir,
                               .dependencies = (const char *const *)pp->deps,
                               .n_dependencies = pp->n_deps,
                               .files = (const char *const *)pp->files,
                               .n_files = pp->n_files,
                               .output = pp->out,
                               .sync = SMF_PACK_SYNC_NONE};
  struct smf_pack_result res;
  struct smf_error err = SMF_ERROR_INIT;
  pp->pack_rc = smf_archive_pack(&spec, &res, &err);
}

static void pp_pack_after(uv_work_t *w, int status)
{
  struct prepack *pp = w->data;
  pp->state = status == 0 && pp->pack_rc == 0 ? PP_READY : PP_FAILED;
  if (pp->taken) {
    if (pp_verify(pp, w->loop) != 0) {
      pp->state = PP_FAILED;  // cannot happen on a live loop; the taker still hears
      pp_verify_after(&pp->work, 0);
    }
    return;
  }
  if (pp->released) {
    if (pp->state == PP_READY) {
      unlink(pp->out);
    }
    pp_free(pp);
  }
}

// ---- the hook and the take ----

// A spec value usable before the run interpolates it: a plain string.
static const char *pp_literal(const struct dsl_node *v)
{
  return v && v->type == DSL_STR && strstr(v->u.str.s, "${") == NULL ? v->u.str.s : NULL;
}

static char *pp_path(const char *dir, const char *p)
{
  return p[0] == '/' || strstr(p, "://") ? smf_xstrdup(p) : smf_xasprintf("%s/%s", dir, p);
}

// The inputs as step_job_stage_code resolves them; false when any is not literal.
static bool pp_inputs(struct prepack *pp, const struct dsl_node *s, const char *dir)
{
  const struct dsl_node *src = dsl_map_get(s, "source_dir");
  const struct dsl_node *deps = dsl_map_get(s, "dependencies");
  const char *v = src ? pp_literal(src) : pp_literal(dsl_map_get(s, "entry_point"));
  if (v == NULL || strstr(v, "://") || (deps && deps->type != DSL_SEQ)) {
    return false;
  }
  if (src) {
    pp->source_dir = pp_path(dir, v);
  } else {
    pp->files = smf_xcalloc(1, sizeof(char *));
    pp->files[pp->n_files++] = pp_path(dir, v);
  }
  size_t n = deps ? deps->u.seq.n : 0;
  pp->deps = smf_xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    const char *d = pp_literal(deps->u.seq.items[i]);
    if (d == NULL) {
      return false;
    }
    pp->deps[pp->n_deps++] = pp_path(dir, d);
  }
  return true;
}

void step_prepack_prepare(const struct step_prepare *p)
{
  const struct dsl_node *s = p->def->spec;
  if (s == NULL || s->type != DSL_MAP || dsl_map_get(s, "source") ||
      (p->def->kind == DSL_KIND_FIT && dsl_map_get(s, "entry_point") == NULL)) {
    return;  // no code to pack (a fit without an entry point runs the image's command)
  }
  struct prepack *pp = smf_xcalloc(1, sizeof(*pp));
  if (!pp_inputs(pp, s, p->pipeline_dir)) {
    pp_free(pp);
    return;
  }
  struct smf_pack_spec spec = {.source_dir = pp->source_dir,
                               .dependencies = (const char *const *)pp->deps,
                               .n_dependencies = pp->n_deps,
                               .files = (const char *const *)pp->files,
                               .n_files = pp->n_files};
  pp->key = pp_key(&spec);
  pp->run_id = smf_xstrdup(p->run_id);
  pp->step_id = smf_xstrdup(p->step_id);
  char *tmpdir = smf_xasprintf("%s/tmp", p->state_dir);
  pp->out = smf_xasprintf("%s/prepack-%s-%s.tar.gz", tmpdir, p->run_id, p->step_id);
  int rc = smf_mkdir_p(tmpdir, NULL);
  free(tmpdir);
  pp->work.data = pp;
  pp->sweep = true;
  for (struct prepack *o = pp_list; o && pp->sweep; o = o->next) {
    pp->sweep = strcmp(o->run_id, p->run_id) != 0;
  }
  if (rc != 0 || uv_queue_work(p->loop, &pp->work, pp_pack_work, pp_pack_after) != 0) {
    pp_free(pp);
    return;
  }
  pp->next = pp_list;
  pp_list = pp;
}

int step_prepack_take(struct step_ctx *ctx, const struct smf_pack_spec *spec, step_prepack_cb cb,
                      void *data)
{
  struct prepack *pp = pp_list;
  while (pp && (strcmp(pp->run_id, ctx->run_id) != 0 || strcmp(pp->step_id, ctx->step_id) != 0)) {
    pp = pp->next;
  }
  if (pp == NULL) {
    return 0;
  }
  pp_unlink(pp);
  char *key = pp_key(spec);
  bool same = strcmp(key, pp->key) == 0;
  free(key);
  pp->taken = same;
  pp->cb = cb;
  pp->data = data;
  if (pp->state == PP_PACKING) {
    pp->released = !same;  // dropped when packed
    return same ? 1 : 0;
  }
  if (same && pp_verify(pp, ctx->loop) == 0) {
    return 1;
  }
  if (pp->state == PP_READY) {
    unlink(pp->out);
  }
  pp_free(pp);
  return 0;
}

void step_prepare_release(const char *run_id)
{
  struct prepack **p = &pp_list;
  while (*p) {
    struct prepack *pp = *p;
    if (strcmp(pp->run_id, run_id) != 0) {
      p = &pp->next;
      continue;
    }
    *p = pp->next;
    if (pp->state == PP_PACKING) {
      pp->released = true;  // removed once packed
    } else {
      if (pp->state == PP_READY) {
        unlink(pp->out);
      }
      pp_free(pp);
    }
  }
}
