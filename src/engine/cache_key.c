// cache_key.c: the step cache key (SPEC §6), shared by the engine and `plan`.
//
// key = SHA-256 (hex) of the text
//   "smflow-step-cache 1\n"            the cache format version (ENG_CACHE_VERSION)
//   "kind KIND\n"                      upload, fit, run, ...
//   "spec JSON\n"                      the interpolated spec, dsl_node_to_json
//   "hooks SHA256\n"                   the hooks file's bytes, when the pipeline has one
//   "input REF SHA256\n"...            one line per input, sorted by REF
// Inputs are the local data a spec names, found in its string values: file://
// URIs, s3:// URIs on the local target (its store: STATE_DIR/store/BUCKET/KEY,
// an exact object or every object under the prefix), and plain strings (or
// whitespace-separated words of a string, such as a script in a `run` command)
// that name an existing file or directory relative to the pipeline file. A
// file's digest is the SHA-256 of its bytes; a directory's is the SHA-256 of
// its sorted "PATH\tSHA256\n" lines (.git, __pycache__ and the state dir left
// out). An s3:// URI on the aws target has a digest only when it is the `uri`
// output of an upload step of the run (its `sha256`, in known_json); any other
// makes the key unknown and the step is never served from the cache.
//
// Pure and thread-safe: it runs on the uv thread pool (files can be large).
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/eng_int.h"
#include "smflow/hash.h"

struct ck_inputs {
  char **lines;  ///< "REF SHA256"
  size_t n, cap;
  const struct eng_cache_input *in;
  json_t *known;  ///< parsed in->known_json, or NULL
  char *unknown;  ///< why the key cannot be known, or NULL
};

static void ck__add(struct ck_inputs *c, const char *ref, const char *hex)
{
  for (size_t i = 0; i < c->n; i++) {
    if (strncmp(c->lines[i], ref, strlen(ref)) == 0 && c->lines[i][strlen(ref)] == ' ') {
      return;
    }
  }
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 8;
    c->lines = smf_xrealloc(c->lines, c->cap * sizeof(*c->lines));
  }
  c->lines[c->n++] = smf_xasprintf("%s %s", ref, hex);
}

static bool ck__skip_name(const char *name)
{
  return strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, ".git") == 0 ||
         strcmp(name, "__pycache__") == 0;
}

static bool ck__under(const char *path, const char *dir)
{
  size_t n = strlen(dir);
  return dir[0] != '\0' && strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

// Lines "REL\tSHA256\n" of every file under dir (entries whose name starts with
// `prefix` at the top level only), sorted, into b. depth bounds symlink loops.
static int ck__walk(const struct ck_inputs *c, const char *dir, const char *rel, const char *prefix,
                    struct smf_buf *b, int depth)
{
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  if (n < 0) {
    return SMF_EIO;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    const char *nm = names[i]->d_name;
    char *path = smf_xasprintf("%s/%s", dir, nm);
    char *r = rel[0] ? smf_xasprintf("%s/%s", rel, nm) : smf_xstrdup(nm);
    struct stat sb;
    bool take = !ck__skip_name(nm) &&
                (prefix == NULL || strncmp(nm, prefix, strlen(prefix)) == 0) &&
                strcmp(path, c->in->state_dir) != 0 && stat(path, &sb) == 0;
    if (take && S_ISDIR(sb.st_mode) && depth < 32) {
      rc = rc ? rc : ck__walk(c, path, r, NULL, b, depth + 1);
    } else if (take && S_ISREG(sb.st_mode)) {
      char hex[SMF_HASH_HEX_SIZE];
      struct smf_error err = SMF_ERROR_INIT;
      if (smf_hash_file(SMF_HASH_SHA256, path, hex, NULL, &err) == 0) {
        smf_buf_printf(b, "%s\t%s\n", r, hex);
      } else {
        rc = SMF_EIO;
      }
    }
    free(path);
    free(r);
    free(names[i]);
  }
  free(names);
  return rc;
}

// Digest of a file, a directory, or (path missing) every entry of its parent
// whose name starts with its last component: an S3-style prefix.
static int ck__digest(const struct ck_inputs *c, const char *path, bool prefix_ok, char *hex)
{
  struct stat sb;
  struct smf_error err = SMF_ERROR_INIT;
  if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
    return smf_hash_file(SMF_HASH_SHA256, path, hex, NULL, &err);
  }
  struct smf_buf b = SMF_BUF_INIT;
  int rc;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    rc = ck__walk(c, path, "", NULL, &b, 0);
  } else if (!prefix_ok) {
    return SMF_ENOENT;
  } else {
    char *dir = smf_xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (slash) {
      *slash = '\0';
    }
    rc = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? ck__walk(c, dir, "", base, &b, 0) : 0;
    free(dir);
  }
  smf_hash_hex(SMF_HASH_SHA256, b.data ? b.data : "", b.len, hex);
  smf_buf_free(&b);
  return rc;
}

// A word that may name a local file: resolve it against the pipeline dir.
static void ck__local_word(struct ck_inputs *c, const char *w, size_t len)
{
  if (len == 0 || len >= PATH_MAX / 2 || memchr(w, '\n', len) != NULL) {
    return;
  }
  char *word = smf_xasprintf("%.*s", (int)len, w);
  char *path =
      word[0] == '/' ? smf_xstrdup(word) : smf_xasprintf("%s/%s", c->in->pipeline_dir, word);
  char *real = realpath(path, NULL);
  // The pipeline's own directory or one above it would mean hashing the whole
  // project for a word such as "." — those are not taken as inputs.
  if (real && !ck__under(c->in->pipeline_dir, real) && !ck__under(real, c->in->state_dir)) {
    char hex[SMF_HASH_HEX_SIZE];
    if (ck__digest(c, real, false, hex) == 0) {
      ck__add(c, word, hex);
    }
  }
  free(real);
  free(path);
  free(word);
}

static void ck__string(struct ck_inputs *c, const char *s)
{
  if (c->unknown) {
    return;
  }
  char hex[SMF_HASH_HEX_SIZE];
  if (smf_str_startswith(s, "s3://")) {
    if (c->in->target && strcmp(c->in->target, "aws") == 0) {
      const char *known = json_string_value(json_object_get(c->known, s));
      if (known) {
        ck__add(c, s, known);
      } else {
        c->unknown = smf_xasprintf("no digest for %s on the aws target", s);
      }
      return;
    }
    char *path = smf_xasprintf("%s/store/%s", c->in->state_dir, s + 5);
    ck__digest(c, path, true, hex);
    ck__add(c, s, hex);
    free(path);
  } else if (smf_str_startswith(s, "file://")) {
    const char *p = s + 7;
    char *path = p[0] == '/' ? smf_xstrdup(p) : smf_xasprintf("%s/%s", c->in->pipeline_dir, p);
    ck__digest(c, path, true, hex);
    ck__add(c, s, hex);
    free(path);
  } else if (strstr(s, "://") == NULL) {
    ck__local_word(c, s, strlen(s));
    for (const char *p = s; *p;) {
      size_t sp = strcspn(p, " \t"), n = strlen(p);
      if (sp < n || p != s) {
        ck__local_word(c, p, sp);
      }
      p += sp;
      p += strspn(p, " \t");
    }
  }
}

static void ck__walk_json(struct ck_inputs *c, const json_t *j)
{
  if (json_is_string(j)) {
    ck__string(c, json_string_value(j));
  } else if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v)
    {
      ck__walk_json(c, v);
    }
  } else if (json_is_object(j)) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
      ck__walk_json(c, v);
    }
  }
}

static int ck__cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int eng_cache_key(const struct eng_cache_input *in, char key[65], char **unknown)
{
  *unknown = NULL;
  struct ck_inputs c = {.in = in};
  c.known = in->known_json ? json_loads(in->known_json, 0, NULL) : NULL;
  json_t *spec = json_loads(in->spec_json, JSON_DECODE_ANY, NULL);
  ck__walk_json(&c, spec);
  json_decref(spec);
  json_decref(c.known);
  struct smf_buf b = SMF_BUF_INIT;
  smf_buf_printf(&b, "smflow-step-cache %d\nkind %s\nspec %s\n", ENG_CACHE_VERSION, in->kind,
                 in->spec_json);
  if (in->hooks_path) {
    char hex[SMF_HASH_HEX_SIZE];
    struct smf_error err = SMF_ERROR_INIT;
    if (smf_hash_file(SMF_HASH_SHA256, in->hooks_path, hex, NULL, &err) != 0) {
      snprintf(hex, sizeof(hex), "unreadable");
    }
    smf_buf_printf(&b, "hooks %s\n", hex);
  }
  if (c.n > 1) {
    qsort(c.lines, c.n, sizeof(*c.lines), ck__cmp);
  }
  for (size_t i = 0; i < c.n; i++) {
    smf_buf_printf(&b, "input %s\n", c.lines[i]);
    free(c.lines[i]);
  }
  free(c.lines);
  smf_hash_hex(SMF_HASH_SHA256, b.data, b.len, key);
  smf_buf_free(&b);
  if (c.unknown) {
    *unknown = c.unknown;
    return SMF_EUNSUPPORTED;
  }
  return 0;
}
