// model.c: loading — read the file, hash it, parse, validate, apply --param
// overrides, and hand out the immutable struct dsl_pipeline.
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsl/internal.h"
#include "smflow/hash.h"

static const char *abs_dir(struct smf_arena *a, const char *path)
{
  const char *slash = strrchr(path, '/');
  char *dir = slash ? smf_xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
                    : smf_xstrdup(".");
  char *real = realpath(dir, NULL);
  const char *out;
  if (real) {
    out = smf_arena_strdup(a, real);
  } else if (dir[0] == '/') {
    out = smf_arena_strdup(a, dir);
  } else {
    char cwd[PATH_MAX];
    out = getcwd(cwd, sizeof(cwd)) ? smf_arena_printf(a, "%s/%s", cwd, dir)
                                   : smf_arena_strdup(a, dir);
  }
  free(real);
  free(dir);
  return out;
}

// Convert "--param NAME=VALUE" text to the type of the default.
static void apply_override(struct dsl_pipeline *p, const struct dsl_param_override *o,
                           struct dsl_diags *d)
{
  static const struct dsl_mark none = {0, 0};
  struct dsl_param *q = NULL;
  for (size_t i = 0; i < p->n_params; i++) {
    if (strcmp(p->params[i].name, o->name) == 0) {
      q = &p->params[i];
    }
  }
  if (q == NULL) {
    const char **names = smf_xmalloc((p->n_params + 1) * sizeof(*names));
    for (size_t i = 0; i < p->n_params; i++) {
      names[i] = p->params[i].name;
    }
    const char *sug = smf_str_suggest(o->name, names, p->n_params);
    if (sug) {
      dsl_diags_add(d, p->path, none, "--param %s: unknown param (did you mean '%s'?)", o->name, sug);
    } else {
      dsl_diags_add(d, p->path, none, "--param %s: unknown param", o->name);
    }
    free(names);
    return;
  }
  struct dsl_node *n = dsl_node_new(&p->arena, DSL_STR);
  const char *text = smf_arena_strdup(&p->arena, o->value ? o->value : "");
  n->text = text;
  n->mark = q->value->mark;
  enum dsl_type want = q->value->type;
  if (want == DSL_STR) {
    n = dsl_node_str(&p->arena, text, strlen(text));
    n->text = text;
  } else {
    dsl__type_plain(n, text);
    if (want == DSL_FLOAT && n->type == DSL_INT) {
      n->type = DSL_FLOAT;
      n->u.f = (double)n->u.i;
    }
    if (n->type != want) {
      // The file's default, also when an earlier --param of the same name replaced it.
      const struct dsl_node *def = dsl_map_get(dsl_map_get(p->root, "params"), o->name);
      const char *shown = def && def->text ? def->text : q->value->text;
      dsl_diags_add(d, p->path, none, "--param %s=%s: expected %s like the default '%s'", o->name,
                    text, dsl__a_type(want), shown ? shown : "");
      return;
    }
  }
  q->value = n;
  q->overridden = true;
}

void dsl_pipeline_sha256(const struct dsl_pipeline *p, char out[65])
{
  smf_hash_hex(SMF_HASH_SHA256, p->source, p->source_len, out);
}

int dsl_load_buffer(const char *path, const char *text, size_t len,
                    const struct dsl_param_override *ov, size_t n_ov, struct dsl_pipeline **out,
                    struct dsl_diags *diags)
{
  *out = NULL;
  struct dsl_pipeline *p = smf_xcalloc(1, sizeof(*p));
  p->path = smf_arena_strdup(&p->arena, path);
  p->dir = abs_dir(&p->arena, path);
  char *copy = smf_arena_alloc(&p->arena, len + 1);
  memcpy(copy, text, len);
  copy[len] = '\0';
  p->source = copy;
  p->source_len = len;
  // A UTF-8 byte order mark is allowed before the stream (YAML 1.2 §5.2); editors do
  // not show it, so columns count from after it.
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    text += 3;
    len -= 3;
  }
  size_t before = diags->n;
  struct dsl_node *root = NULL;
  dsl__yaml_parse(&p->arena, p->path, text, len, &root, diags);
  if (root != NULL) {
    p->root = root;
    dsl__pipeline_build(p, root, text, len, ov, n_ov, diags);
    for (size_t i = 0; i < n_ov; i++) {
      apply_override(p, &ov[i], diags);
    }
  }
  dsl_diags_sort(diags);
  if (diags->n > before || root == NULL) {
    dsl_pipeline_free(p);
    return SMF_EVALIDATE;
  }
  *out = p;
  return 0;
}

int dsl_load(const char *path, const struct dsl_param_override *ov, size_t n_ov,
             struct dsl_pipeline **out, struct dsl_diags *diags)
{
  static const struct dsl_mark none = {0, 0};
  *out = NULL;
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    dsl_diags_add(diags, path, none, "cannot read the pipeline file: %s", strerror(e));
    return e == ENOENT ? SMF_ENOENT : SMF_EIO;
  }
  if (S_ISDIR(st.st_mode)) {
    dsl_diags_add(diags, path, none, "is a directory, not a pipeline file");
    return SMF_EIO;
  }
  char *text = NULL;
  size_t len = 0;
  struct smf_error err = SMF_ERROR_INIT;
  int rc = smf_file_read(path, &text, &len, &err);
  if (rc != 0) {
    dsl_diags_add(diags, path, none, "cannot read the pipeline file: %s", err.message);
    return rc == SMF_ENOENT ? SMF_ENOENT : SMF_EIO;
  }
  rc = dsl_load_buffer(path, text, len, ov, n_ov, out, diags);
  free(text);
  return rc;
}

void dsl_pipeline_free(struct dsl_pipeline *p)
{
  if (p == NULL) {
    return;
  }
  smf_arena_free(&p->arena);
  free(p);
}

const struct dsl_step *dsl_pipeline_step(const struct dsl_pipeline *p, const char *id)
{
  for (size_t i = 0; i < p->n_steps; i++) {
    if (strcmp(p->steps[i].id, id) == 0) {
      return &p->steps[i];
    }
  }
  return NULL;
}
