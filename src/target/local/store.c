// store.c: the local target's object store: URI mapping, atomic puts, S3-style
// prefix listing and channel materialisation (see store.h).
#include "target/local/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/error.h"
#include "smflow/state.h"
#include "smflow/util.h"

#define STORE_TMP_PREFIX ".smflow-tmp-"
#define STORE_MAX_KEY 1024
#define STORE_COPY_BUF (1u << 20)
#define STORE_MAX_DEPTH 128

// ---- validation ----

static bool store__bucket_ok(const char *b, size_t n)
{
  if (n < 3 || n > 63) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    char c = b[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '.' && c != '-') {
      return false;
    }
    if ((i == 0 || i == n - 1) && !alnum) {
      return false;
    }
    if (c == '.' && b[i + 1] == '.') {
      return false;
    }
  }
  return true;
}

// "" if the key is acceptable, else why not.
static const char *store__key_problem(const char *key, bool prefix)
{
  size_t n = strlen(key);
  if (n > STORE_MAX_KEY) {
    return "keys are limited to 1024 bytes";
  }
  if (n == 0) {
    return prefix ? "" : "the key is empty";
  }
  if (key[n - 1] == '/' && !prefix) {
    return "a key ending in '/' names a folder, not an object";
  }
  const char *p = key;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (len == 0 && (slash != NULL || p == key)) {
      return "empty path segments ('//' or a leading '/') cannot be stored";
    }
    if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
      return "'.' and '..' segments are not allowed";
    }
    if (slash == NULL) {
      if (!prefix && strncmp(p, STORE_TMP_PREFIX, strlen(STORE_TMP_PREFIX)) == 0) {
        return "names starting with " STORE_TMP_PREFIX " are reserved";
      }
      return "";
    }
    p = slash + 1;
    if (*p == '\0') {
      return "";  // trailing '/' of a prefix
    }
  }
}

// ---- URIs ----

int local_store_init(struct local_store *st, const char *state_dir, const char *base_dir,
                     struct smf_error *err)
{
  memset(st, 0, sizeof(*st));
  if (state_dir == NULL || base_dir == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "local store: state and base directories are required");
  }
  st->root = smf_xasprintf("%s/store", state_dir);
  st->base_dir = smf_xstrdup(base_dir);
  int rc = smf_mkdir_p(st->root, err);
  if (rc != 0) {
    local_store_close(st);
  }
  return rc;
}

void local_store_close(struct local_store *st)
{
  free(st->root);
  free(st->base_dir);
  st->root = st->base_dir = NULL;
}

void local_uri_free(struct local_uri *u)
{
  free(u->bucket);
  free(u->key);
  free(u->path);
  memset(u, 0, sizeof(*u));
}

static int store__parse_s3(const struct local_store *st, const char *uri, bool prefix,
                           struct local_uri *out, struct smf_error *err)
{
  const char *b = uri + 5;
  const char *slash = strchr(b, '/');
  size_t bn = slash ? (size_t)(slash - b) : strlen(b);
  if (!store__bucket_ok(b, bn)) {
    return SMF_ERR_SET(err, SMF_EINVAL, "%s: invalid bucket name \"%.*s\"", uri, (int)bn, b);
  }
  const char *key = slash ? slash + 1 : "";
  const char *why = store__key_problem(key, prefix);
  if (*why != '\0') {
    return SMF_ERR_SET(err, SMF_EINVAL, "%s: invalid key: %s", uri, why);
  }
  out->kind = LOCAL_URI_S3;
  out->bucket = smf_xstrndup(b, bn);
  out->key = smf_xstrdup(key);
  out->path = smf_xasprintf("%s/%s/%s", st->root, out->bucket, key);
  return 0;
}

int local_uri_parse(const struct local_store *st, const char *uri, bool prefix,
                    struct local_uri *out, struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  if (uri == NULL || uri[0] == '\0') {
    return SMF_ERR_SET(err, SMF_EINVAL, "empty URI");
  }
  if (strncmp(uri, "s3://", 5) == 0) {
    return store__parse_s3(st, uri, prefix, out, err);
  }
  const char *path = uri;
  if (strncmp(uri, "file://", 7) == 0) {
    path = uri + 7;
  } else if (strstr(uri, "://") != NULL) {
    return SMF_ERR_SET(err, SMF_EUNSUPPORTED,
                       "%s: only s3://, file:// and plain paths are supported by the local target",
                       uri);
  }
  if (path[0] == '\0') {
    return SMF_ERR_SET(err, SMF_EINVAL, "%s: empty path", uri);
  }
  out->kind = LOCAL_URI_PATH;
  out->path = path[0] == '/' ? smf_xstrdup(path) : smf_xasprintf("%s/%s", st->base_dir, path);
  return 0;
}

int local_store_resolve(const struct local_store *st, const char *uri, char **path,
                        struct smf_error *err)
{
  struct local_uri u;
  int rc = local_uri_parse(st, uri, false, &u, err);
  if (rc == 0) {
    *path = u.path;
    u.path = NULL;
    local_uri_free(&u);
  }
  return rc;
}

// ---- file copies ----

// Copy all of in_fd to out_fd: copy_file_range (which may share extents) with a
// read/write fallback where the kernel or filesystem cannot.
static int store__copy_fd(int in_fd, int out_fd, uint64_t *copied)
{
  uint64_t total = 0;
  bool fallback = false;
  char *buf = NULL;
  for (;;) {
    ssize_t n;
    if (!fallback) {
      n = copy_file_range(in_fd, NULL, out_fd, NULL, 1u << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        fallback = true;
        continue;
      }
    } else {
      if (buf == NULL) {
        buf = smf_xmalloc(STORE_COPY_BUF);
      }
      n = read(in_fd, buf, STORE_COPY_BUF);
      for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w = write(out_fd, buf + off, (size_t)(n - off));
        if (w < 0 && errno != EINTR) {
          free(buf);
          return -1;
        }
        off += w > 0 ? w : 0;
      }
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      free(buf);
      *copied = total;
      return n < 0 ? -1 : 0;
    }
    total += (uint64_t)n;
  }
}

static void store__fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

// Whether this put leaves its syncs to the state database (store.h).
static bool store__deferred(const struct local_store *st)
{
  return st->state != NULL && state_objects_deferred(st->state);
}

// The object PATH (SIZE bytes), renamed into DIR unsynced: note it for the
// state's deferred sync, or (the mode changed since) sync it here.
static void store__note(const struct local_store *st, const char *path, const char *dir,
                        uint64_t size)
{
  if (!state_object_written(st->state, path, dir, size)) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)fsync(fd);
      close(fd);
    }
    store__fsync_dir(dir);
  }
}

static int store__mkparent(const char *path, const char *uri, struct smf_error *err)
{
  char *copy = smf_xstrdup(path);
  char *dir = dirname(copy);
  struct smf_error e = SMF_ERROR_INIT;
  int rc = smf_mkdir_p(dir, &e);
  if (rc == 0) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      rc = SMF_EIO;
      SMF_ERR_SET(&e, rc, "%s is not a directory", dir);
    }
  }
  if (rc != 0) {
    SMF_ERR_SET(err, rc,
                "cannot store %s: %s (a key cannot be both an object and a prefix of other "
                "keys in the local store)",
                uri, e.message);
  }
  free(copy);
  return rc;
}

// Write the object at `path` atomically from src_fd (or from data/len when
// src_fd < 0): temporary file, fsync, rename, fsync of the directory; or, when
// the state defers syncs, temporary file, rename, noted.
static int store__put(const struct local_store *st, const char *path, const char *uri, int src_fd,
                      const void *data, size_t len, struct smf_error *err)
{
  int rc = store__mkparent(path, uri, err);
  if (rc != 0) {
    return rc;
  }
  char *copy = smf_xstrdup(path);
  char *dir = smf_xstrdup(dirname(copy));
  free(copy);
  char *tmp = smf_xasprintf("%s/" STORE_TMP_PREFIX "XXXXXX", dir);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot store %s: %s: %s", uri, tmp, strerror(errno));
    goto fail;
  }
  uint64_t copied = 0;
  int w = 0;
  if (src_fd >= 0) {
    w = store__copy_fd(src_fd, fd, &copied);
  } else {
    for (size_t off = 0; off < len && w == 0;) {
      ssize_t n = write(fd, (const char *)data + off, len - off);
      if (n < 0 && errno != EINTR) {
        w = -1;
      }
      off += n > 0 ? (size_t)n : 0;
    }
  }
  bool defer = store__deferred(st);
  if (w != 0 || fchmod(fd, 0644) != 0 || (!defer && fsync(fd) != 0)) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot store %s: %s", uri, strerror(errno));
    goto fail;
  }
  close(fd);
  fd = -1;
  if (rename(tmp, path) != 0) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot store %s: rename: %s", uri, strerror(errno));
    goto fail;
  }
  if (defer) {
    store__note(st, path, dir, src_fd >= 0 ? copied : len);
  } else {
    store__fsync_dir(dir);
  }
fail:
  if (fd >= 0) {
    close(fd);
  }
  if (rc != 0) {
    unlink(tmp);
  }
  free(tmp);
  free(dir);
  return rc;
}

static int store__open_object(const char *path, const char *uri, int *fd_out, struct smf_error *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = fd < 0 ? errno : EISDIR;
    if (fd >= 0) {
      close(fd);
    }
    return SMF_ERR_SET(err, e == ENOENT || e == EISDIR || e == ENOTDIR ? SMF_ENOENT : SMF_EIO,
                       "%s: no such object (%s)", uri, strerror(e));
  }
  *fd_out = fd;
  return 0;
}

int local_store_put_file(const struct local_store *st, const char *src_path, const char *uri,
                         struct smf_error *err)
{
  struct local_uri u;
  int rc = local_uri_parse(st, uri, false, &u, err);
  if (rc != 0) {
    return rc;
  }
  int fd = -1;
  if ((rc = store__open_object(src_path, src_path, &fd, err)) == 0) {
    rc = store__put(st, u.path, uri, fd, NULL, 0, err);
    close(fd);
  }
  local_uri_free(&u);
  return rc;
}

// The bytes of a file about to be renamed into place (not deferred): synced.
static int store__sync_file(const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  int r = fsync(fd);
  close(fd);
  return r;
}

// Rename src_path into place as uri; *dir (caller frees) is the directory to
// sync, or NULL when it was copied instead (another filesystem: the copy is
// stored as any put, src_path removed). defer: note it for the state's sync
// instead of syncing the file.
static int store__move(const struct local_store *st, const char *src_path, const char *uri,
                       bool defer, char **dir, struct smf_error *err)
{
  *dir = NULL;
  struct local_uri u;
  int rc = local_uri_parse(st, uri, false, &u, err);
  if (rc != 0) {
    return rc;
  }
  struct stat sb;
  if ((rc = store__mkparent(u.path, uri, err)) == 0) {
    if (stat(src_path, &sb) == 0 && chmod(src_path, 0644) == 0 &&
        (defer || store__sync_file(src_path) == 0) && rename(src_path, u.path) == 0) {
      char *copy = smf_xstrdup(u.path);
      *dir = smf_xstrdup(dirname(copy));
      free(copy);
      if (defer) {
        store__note(st, u.path, *dir, (uint64_t)sb.st_size);
        free(*dir);
        *dir = NULL;
      }
    } else if ((rc = local_store_put_file(st, src_path, uri, err)) == 0) {
      unlink(src_path);  // another filesystem (EXDEV): copied instead
    }
  }
  local_uri_free(&u);
  return rc;
}

int local_store_put_moves(const struct local_store *st, const char *const *src_paths,
                          const char *const *uris, size_t n, struct smf_error *err)
{
  char **dirs = smf_xcalloc(n + 1, sizeof(char *));
  bool defer = store__deferred(st);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    rc = store__move(st, src_paths[i], uris[i], defer, &dirs[i], err);
  }
  for (size_t i = 0; i < n; i++) {
    bool seen = false;
    for (size_t k = 0; k < i && dirs[i] && !seen; k++) {
      seen = dirs[k] && strcmp(dirs[k], dirs[i]) == 0;
    }
    if (dirs[i] && !seen) {
      store__fsync_dir(dirs[i]);  // once per directory, even when a later move failed
    }
  }
  for (size_t i = 0; i < n; i++) {
    free(dirs[i]);
  }
  free(dirs);
  return rc;
}

bool local_store_defers_sync(const struct local_store *st)
{
  return store__deferred(st);
}

int local_store_put_move(const struct local_store *st, const char *src_path, const char *uri,
                         struct smf_error *err)
{
  return local_store_put_moves(st, &src_path, &uri, 1, err);
}

int local_store_put_bytes(const struct local_store *st, const char *uri, const void *data,
                          size_t len, struct smf_error *err)
{
  struct local_uri u;
  int rc = local_uri_parse(st, uri, false, &u, err);
  if (rc == 0) {
    rc = store__put(st, u.path, uri, -1, data, len, err);
    local_uri_free(&u);
  }
  return rc;
}

int local_store_stat(const struct local_store *st, const char *uri, struct local_store_stat *out,
                     struct smf_error *err)
{
  struct local_uri u;
  int rc = local_uri_parse(st, uri, false, &u, err);
  if (rc != 0) {
    return rc;
  }
  struct stat sb;
  if (stat(u.path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    rc = SMF_ERR_SET(err, SMF_ENOENT, "%s: no such object", uri);
  } else if (out != NULL) {
    out->size = (uint64_t)sb.st_size;
    out->mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
  }
  local_uri_free(&u);
  return rc;
}

bool local_store_exists(const struct local_store *st, const char *uri)
{
  return local_store_stat(st, uri, NULL, NULL) == 0;
}

int local_store_copy(const struct local_store *st, const char *src_uri, const char *dst_uri,
                     struct smf_error *err)
{
  struct local_uri src;
  int rc = local_uri_parse(st, src_uri, false, &src, err);
  if (rc != 0) {
    return rc;
  }
  rc = local_store_put_file(st, src.path, dst_uri, err);
  if (rc == SMF_ENOENT) {
    SMF_ERR_SET(err, rc, "cannot copy %s: no such object", src_uri);
  }
  local_uri_free(&src);
  return rc;
}

// ---- listing ----

struct store_walk {
  struct local_store_listing *out;
  size_t cap;
  const char *prefix;  // S3 key prefix, or NULL for a path tree (take everything)
  bool follow;         // path trees follow symlinks; the store holds none of its own
  // Directories on the current path, to stop at symlink loops in path trees.
  dev_t dev[STORE_MAX_DEPTH];
  ino_t ino[STORE_MAX_DEPTH];
  int depth;
};

static void store__add(struct store_walk *w, const char *key, const char *path, uint64_t size)
{
  struct local_store_listing *l = w->out;
  if (l->n == w->cap) {
    w->cap = w->cap ? 2 * w->cap : 32;
    l->v = smf_xrealloc(l->v, w->cap * sizeof(*l->v));
  }
  l->v[l->n].key = smf_xstrdup(key);
  l->v[l->n].path = smf_xstrdup(path);
  l->v[l->n].size = size;
  l->n++;
}

// Could any key under directory key `dkey` ("a/b/") match the prefix?
static bool store__may_match(const char *dkey, const char *prefix)
{
  size_t dl = strlen(dkey), pl = strlen(prefix);
  return strncmp(dkey, prefix, dl < pl ? dl : pl) == 0;
}

// Enter a directory: refuse loops (a symlink to an ancestor) and absurd depth.
static int store__enter(struct store_walk *w, const char *dir, struct smf_error *err)
{
  struct stat sb;
  if (stat(dir, &sb) != 0) {
    return SMF_ERR_SET(err, SMF_EIO, "cannot list %s: %s", dir, strerror(errno));
  }
  for (int i = 0; i < w->depth; i++) {
    if (w->dev[i] == sb.st_dev && w->ino[i] == sb.st_ino) {
      return SMF_ERR_SET(err, SMF_EINVAL, "cannot list %s: a symlink loops back to a parent", dir);
    }
  }
  if (w->depth == STORE_MAX_DEPTH) {
    return SMF_ERR_SET(err, SMF_EINVAL, "cannot list %s: nested too deeply", dir);
  }
  w->dev[w->depth] = sb.st_dev;
  w->ino[w->depth++] = sb.st_ino;
  return 0;
}

// Walk dir (whose key, with trailing '/', is `dkey`; "" at the top).
static int store__walk(struct store_walk *w, const char *dir, const char *dkey,
                       struct smf_error *err)
{
  int rc = store__enter(w, dir, err);
  if (rc != 0) {
    return rc;
  }
  DIR *d = opendir(dir);
  if (d == NULL) {
    w->depth--;
    return SMF_ERR_SET(err, SMF_EIO, "cannot list %s: %s", dir, strerror(errno));
  }
  struct dirent *de;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strncmp(name, STORE_TMP_PREFIX, strlen(STORE_TMP_PREFIX)) == 0) {
      continue;
    }
    char *path = smf_xasprintf("%s/%s", dir, name);
    char *key = smf_xasprintf("%s%s", dkey, name);
    struct stat sb;
    int r = w->follow ? stat(path, &sb) : lstat(path, &sb);
    if (r != 0) {
      rc = SMF_ERR_SET(err, SMF_EIO, "cannot stat %s: %s", path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
      char *sub = smf_xasprintf("%s/", key);
      if (w->prefix == NULL || store__may_match(sub, w->prefix)) {
        rc = store__walk(w, path, sub, err);
      }
      free(sub);
    } else if (S_ISREG(sb.st_mode) && (w->prefix == NULL || smf_str_startswith(key, w->prefix))) {
      store__add(w, key, path, (uint64_t)sb.st_size);
    }
    free(key);
    free(path);
  }
  closedir(d);
  w->depth--;
  return rc;
}

static int store__obj_cmp(const void *a, const void *b)
{
  return strcmp(((const struct local_store_object *)a)->key,
                ((const struct local_store_object *)b)->key);
}

void local_store_listing_free(struct local_store_listing *l)
{
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].key);
    free(l->v[i].path);
  }
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static int store__list_uri(const struct local_store *st, const struct local_uri *u,
                           struct local_store_listing *out, struct smf_error *err)
{
  struct store_walk w = {.out = out};
  int rc = 0;
  struct stat sb;
  if (u->kind == LOCAL_URI_S3) {
    char *bucket_dir = smf_xasprintf("%s/%s", st->root, u->bucket);
    w.prefix = u->key;
    if (stat(bucket_dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      rc = store__walk(&w, bucket_dir, "", err);
    }
    free(bucket_dir);
  } else if (stat(u->path, &sb) == 0) {
    w.follow = true;
    if (S_ISDIR(sb.st_mode)) {
      rc = store__walk(&w, u->path, "", err);
    } else if (S_ISREG(sb.st_mode)) {
      char *copy = smf_xstrdup(u->path);
      store__add(&w, basename(copy), u->path, (uint64_t)sb.st_size);
      free(copy);
    }
  }
  if (rc != 0) {
    local_store_listing_free(out);
    return rc;
  }
  if (out->n > 1) {
    qsort(out->v, out->n, sizeof(*out->v), store__obj_cmp);
  }
  return 0;
}

int local_store_list(const struct local_store *st, const char *prefix_uri,
                     struct local_store_listing *out, struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  struct local_uri u;
  int rc = local_uri_parse(st, prefix_uri, true, &u, err);
  if (rc == 0) {
    rc = store__list_uri(st, &u, out, err);
    local_uri_free(&u);
  }
  return rc;
}

// ---- materialise ----

static int store__place(const char *src, const char *dst, enum local_materialise_mode mode,
                        struct smf_error *err)
{
  char *copy = smf_xstrdup(dst);
  int rc = smf_mkdir_p(dirname(copy), err);
  free(copy);
  if (rc != 0) {
    return rc;
  }
  if (mode == LOCAL_MATERIALISE_HARDLINK && link(src, dst) == 0) {
    return 0;
  }
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    return SMF_ERR_SET(err, SMF_EIO, "cannot read %s: %s", src, strerror(errno));
  }
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot create %s: %s", dst, strerror(errno));
  } else {
    uint64_t n = 0;
    if (store__copy_fd(in, out, &n) != 0) {
      rc = SMF_ERR_SET(err, SMF_EIO, "cannot copy %s to %s: %s", src, dst, strerror(errno));
    }
    if (close(out) != 0 && rc == 0) {
      rc = SMF_ERR_SET(err, SMF_EIO, "cannot write %s: %s", dst, strerror(errno));
    }
  }
  close(in);
  return rc;
}

// Where an object lands: the key's remainder after the prefix, without leading
// '/'; an object named exactly by the prefix lands under its base name.
static const char *store__remainder(const struct local_uri *u, const char *key)
{
  if (u->kind == LOCAL_URI_PATH) {
    return key;
  }
  const char *rem = key + strlen(u->key);
  while (*rem == '/') {
    rem++;
  }
  if (*rem == '\0') {
    const char *slash = strrchr(key, '/');
    rem = slash ? slash + 1 : key;
  }
  return rem;
}

int local_store_materialise(const struct local_store *st, const char *uri, const char *dest_dir,
                            enum local_materialise_mode mode, struct local_materialise_result *res,
                            struct smf_error *err)
{
  return local_store_materialise_shard(st, uri, dest_dir, mode, 0, 1, res, err);
}

int local_store_materialise_shard(const struct local_store *st, const char *uri,
                                  const char *dest_dir, enum local_materialise_mode mode,
                                  size_t shard, size_t n_shards,
                                  struct local_materialise_result *res, struct smf_error *err)
{
  if (n_shards == 0 || shard >= n_shards) {
    return SMF_ERR_SET(err, SMF_EINVAL, "shard %zu of %zu", shard, n_shards);
  }
  struct local_materialise_result local = {0};
  res = res ? res : &local;
  memset(res, 0, sizeof(*res));
  struct local_uri u;
  struct local_store_listing l = {0};
  int rc = local_uri_parse(st, uri, true, &u, err);
  if (rc != 0) {
    return rc;
  }
  if ((rc = store__list_uri(st, &u, &l, err)) != 0) {
    goto fail;
  }
  if (l.n == 0) {
    rc = SMF_ERR_SET(err, SMF_ENOENT, "no data found at %s", uri);
    goto fail;
  }
  if ((rc = smf_mkdir_p(dest_dir, err)) != 0) {
    goto fail;
  }
  // Objects in key order; shard i of N takes objects i, i+N, i+2N, ...
  for (size_t i = shard; i < l.n; i += n_shards) {
    char *dst = smf_xasprintf("%s/%s", dest_dir, store__remainder(&u, l.v[i].key));
    rc = store__place(l.v[i].path, dst, mode, err);
    free(dst);
    if (rc != 0) {
      goto fail;
    }
    res->files++;
    res->bytes += l.v[i].size;
  }
fail:
  local_store_listing_free(&l);
  local_uri_free(&u);
  return rc;
}
