// archive_pack.c: the reproducible .tar.gz writer.
//
// The tree is listed first (lstat, no content read), the list is sorted
// bytewise, then libarchive formats each entry as "pax restricted" tar and
// hands the blocks to a write callback that deflates them with ISA-L and
// streams the gzip output to a temporary file while hashing it. The temporary
// file is fsynced (as spec->sync asks) and renamed over the output; a failure
// removes it.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/archive.h"
#include "smflow/error.h"
#include "smflow/hash.h"
#include "smflow/util.h"
#include "util/archive_int.h"

#define PACK_READ_BUF (1u << 20)
#define PACK_GZ_OUT (1u << 18)

struct pack_entry {
  char *arc;      // path inside the archive (no leading or trailing '/')
  char *fs;       // path on disk
  mode_t type;    // S_IFREG, S_IFDIR or S_IFLNK
  mode_t perm;    // normalised: 0755 or 0644 (unused for symlinks)
  uint64_t size;  // regular files: size seen by lstat
  char *link;     // symlink target
};

struct pack_list {
  struct pack_entry *v;
  size_t n, cap;
  dev_t skip_dev[2];
  ino_t skip_ino[2];
  int n_skip;
};

// Streaming gzip output: ISA-L deflate → file descriptor, hashed and counted.
struct gz_out {
  struct isal_zstream zs;
  uint8_t *level_buf;
  uint8_t *out;
  size_t out_len;  // bytes waiting in out
  int fd;
  struct smf_hash *hash;
  uint64_t bytes;
  int sys_errno;  // first write(2) failure
};

static int pack__collect(struct pack_list *l, const struct smf_pack_spec *spec,
                         struct smf_error *err);
static int pack__write_all(struct pack_list *l, struct gz_out *gz, struct smf_pack_result *res,
                           struct smf_error *err);

bool smf__archive_excluded(const char *name)
{
  return strcmp(name, ".smflow") == 0 || strcmp(name, "__pycache__") == 0;
}

bool smf__archive_link_inside(const char *link_path, const char *target)
{
  if (target[0] == '/' || target[0] == '\0') {
    return false;
  }
  // Depth of the directory holding the link, then walk the target from there.
  long depth = 0;
  for (const char *p = link_path; *p; p++) {
    if (*p == '/' && p[1] != '/' && p[1] != '\0') {
      depth++;
    }
  }
  const char *p = target;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (--depth < 0) {
        return false;
      }
    } else if (n > 0 && !(n == 1 && p[0] == '.')) {
      depth++;
    }
    p += n;
    while (*p == '/') {
      p++;
    }
  }
  return true;
}

static void pack__push(struct pack_list *l, char *arc, char *fs, const struct stat *st, char *link)
{
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->v = smf_xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  struct pack_entry *e = &l->v[l->n++];
  e->arc = arc;
  e->fs = fs;
  e->type = st->st_mode & S_IFMT;
  e->perm = (e->type == S_IFDIR || (st->st_mode & 0111)) ? 0755 : 0644;
  e->size = e->type == S_IFREG ? (uint64_t)st->st_size : 0;
  e->link = link;
}

static void pack__list_free(struct pack_list *l)
{
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].arc);
    free(l->v[i].fs);
    free(l->v[i].link);
  }
  free(l->v);
}

static bool pack__skipped(const struct pack_list *l, const struct stat *st)
{
  for (int i = 0; i < l->n_skip; i++) {
    if (l->skip_dev[i] == st->st_dev && l->skip_ino[i] == st->st_ino) {
      return true;
    }
  }
  return false;
}

static const char *pack__kind(mode_t m)
{
  switch (m & S_IFMT) {
  case S_IFIFO:
    return "a FIFO";
  case S_IFSOCK:
    return "a socket";
  case S_IFCHR:
    return "a character device";
  case S_IFBLK:
    return "a block device";
  default:
    return "not a regular file, directory or symlink";
  }
}

// Add one lstat'ed path (and, for a directory, everything under it).
// `arc_rel` is the path relative to the tree root (for symlink checks).
static int pack__add(struct pack_list *l, const char *fs, const char *arc, const char *arc_rel,
                     const struct stat *st, struct smf_error *err);

static int pack__walk(struct pack_list *l, const char *fs, const char *arc, const char *arc_rel,
                      struct smf_error *err)
{
  DIR *d = opendir(fs);
  if (d == NULL) {
    return SMF_ERR_SET(err, SMF_EIO, "cannot read directory %s: %s", fs, strerror(errno));
  }
  int rc = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || smf__archive_excluded(name)) {
      continue;
    }
    char *child = smf_xasprintf("%s/%s", fs, name);
    char *carc = arc[0] ? smf_xasprintf("%s/%s", arc, name) : smf_xstrdup(name);
    char *crel = arc_rel[0] ? smf_xasprintf("%s/%s", arc_rel, name) : smf_xstrdup(name);
    struct stat cst;
    if (lstat(child, &cst) != 0) {
      rc = SMF_ERR_SET(err, SMF_EIO, "cannot stat %s: %s", child, strerror(errno));
    } else if (!pack__skipped(l, &cst)) {
      rc = pack__add(l, child, carc, crel, &cst, err);
    }
    free(child);
    free(carc);
    free(crel);
    if (rc != 0) {
      break;
    }
  }
  closedir(d);
  return rc;
}

static int pack__add(struct pack_list *l, const char *fs, const char *arc, const char *arc_rel,
                     const struct stat *st, struct smf_error *err)
{
  char *link = NULL;
  if (S_ISLNK(st->st_mode)) {
    size_t cap = (size_t)st->st_size + 1 > 256 ? (size_t)st->st_size + 1 : 256;
    link = smf_xmalloc(cap + 1);
    ssize_t n = readlink(fs, link, cap);
    if (n < 0 || (size_t)n >= cap) {
      free(link);
      return SMF_ERR_SET(err, SMF_EIO, "cannot read symlink %s", fs);
    }
    link[n] = '\0';
    if (!smf__archive_link_inside(arc_rel, link)) {
      int rc = SMF_ERR_SET(err, SMF_EVALIDATE,
                           "symlink %s -> %s points outside the packed tree; refusing to pack it",
                           fs, link);
      free(link);
      return rc;
    }
  } else if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
    return SMF_ERR_SET(err, SMF_EVALIDATE, "cannot pack %s: %s", fs, pack__kind(st->st_mode));
  }
  pack__push(l, smf_xstrdup(arc), smf_xstrdup(fs), st, link);
  if (S_ISDIR(st->st_mode)) {
    return pack__walk(l, fs, arc, arc_rel, err);
  }
  return 0;
}

// A named root (dependency or single file): followed if it is a symlink, and
// placed at the archive root under its basename.
static int pack__add_root(struct pack_list *l, const char *path, bool dir_ok, struct smf_error *err)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    return SMF_ERR_SET(err, errno == ENOENT ? SMF_ENOENT : SMF_EIO, "cannot pack %s: %s", path,
                       strerror(errno));
  }
  if (S_ISDIR(st.st_mode) && !dir_ok) {
    return SMF_ERR_SET(err, SMF_EINVAL, "cannot pack %s: is a directory, expected a file", path);
  }
  char *copy = smf_xstrdup(path);
  size_t len = strlen(copy);
  while (len > 1 && copy[len - 1] == '/') {
    copy[--len] = '\0';
  }
  char *base = smf_xstrdup(basename(copy));
  free(copy);
  int rc = 0;
  if (strcmp(base, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
    rc = SMF_ERR_SET(err, SMF_EINVAL, "cannot pack %s: it has no usable base name", path);
  } else {
    // The root's own path is "" relative to its tree; children are relative to it.
    pack__push(l, smf_xstrdup(base), smf_xstrdup(path), &st, NULL);
    if (S_ISDIR(st.st_mode)) {
      rc = pack__walk(l, path, base, "", err);
    } else if (!S_ISREG(st.st_mode)) {
      rc = SMF_ERR_SET(err, SMF_EVALIDATE, "cannot pack %s: %s", path, pack__kind(st.st_mode));
    }
  }
  free(base);
  return rc;
}

static int pack__cmp(const void *a, const void *b)
{
  const struct pack_entry *x = a, *y = b;
  return strcmp(x->arc, y->arc);
}

static int pack__collect(struct pack_list *l, const struct smf_pack_spec *spec,
                         struct smf_error *err)
{
  int rc = 0;
  if (spec->source_dir != NULL) {
    struct stat st;
    if (stat(spec->source_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      return SMF_ERR_SET(err, SMF_ENOENT,
                         "source directory %s does not exist or is not a directory",
                         spec->source_dir);
    }
    rc = pack__walk(l, spec->source_dir, "", "", err);
  }
  for (size_t i = 0; rc == 0 && i < spec->n_dependencies; i++) {
    rc = pack__add_root(l, spec->dependencies[i], true, err);
  }
  for (size_t i = 0; rc == 0 && i < spec->n_files; i++) {
    rc = pack__add_root(l, spec->files[i], false, err);
  }
  if (rc != 0) {
    return rc;
  }
  if (l->n > 1) {
    qsort(l->v, l->n, sizeof(*l->v), pack__cmp);
  }
  for (size_t i = 1; i < l->n; i++) {
    if (strcmp(l->v[i - 1].arc, l->v[i].arc) == 0) {
      return SMF_ERR_SET(err, SMF_EINVAL, "two inputs map to the same archive path %s: %s and %s",
                         l->v[i].arc, l->v[i - 1].fs, l->v[i].fs);
    }
  }
  return 0;
}

// ---- gzip output ----

static int gz__level(int level)
{
  if (level == SMF_ARCHIVE_LEVEL_FASTEST) {
    return 0;
  }
  return level == 0 ? SMF_ARCHIVE_DEFAULT_LEVEL : level;
}

static void gz__init(struct gz_out *gz, int fd, int level)
{
  static const uint32_t level_buf_size[] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                            ISAL_DEF_LVL3_DEFAULT};
  memset(gz, 0, sizeof(*gz));
  isal_deflate_init(&gz->zs);
  gz->zs.level = (uint32_t)level;
  gz->zs.level_buf_size = level_buf_size[level];
  gz->level_buf = level > 0 ? smf_xmalloc(level_buf_size[level]) : NULL;
  gz->zs.level_buf = gz->level_buf;
  // The header is written by hand (no name, mtime 0); ISA-L adds the trailer.
  gz->zs.gzip_flag = IGZIP_GZIP_NO_HDR;
  gz->out = smf_xmalloc(PACK_GZ_OUT);
  gz->fd = fd;
  gz->hash = smf_hash_new(SMF_HASH_SHA256);
}

static void gz__free(struct gz_out *gz)
{
  free(gz->level_buf);
  free(gz->out);
  smf_hash_free(gz->hash);
}

static int gz__emit(struct gz_out *gz, const uint8_t *p, size_t n)
{
  smf_hash_update(gz->hash, p, n);
  gz->bytes += n;
  while (n > 0) {
    ssize_t w = write(gz->fd, p, n);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      gz->sys_errno = errno;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int gz__header(struct gz_out *gz)
{
  struct isal_gzip_header h;
  isal_gzip_header_init(&h);
  h.time = 0;
  h.os = 255;
  h.xflags = 0;
  h.name = NULL;
  h.comment = NULL;
  h.extra = NULL;
  h.hcrc = 0;
  gz->zs.next_out = gz->out;
  gz->zs.avail_out = PACK_GZ_OUT;
  if (isal_write_gzip_header(&gz->zs, &h) != 0) {
    return -1;
  }
  gz->out_len = PACK_GZ_OUT - gz->zs.avail_out;
  return 0;
}

// Compress n bytes (end: this is the last call) and write what comes out.
static int gz__write(struct gz_out *gz, const void *data, size_t n, bool end)
{
  gz->zs.next_in = (uint8_t *)(uintptr_t)data;
  gz->zs.avail_in = (uint32_t)n;
  gz->zs.end_of_stream = end ? 1 : 0;
  // Output accumulates in gz->out across calls (libarchive hands over 10 KiB
  // records) and is written only when the buffer is full or the stream ends.
  for (;;) {
    gz->zs.next_out = gz->out + gz->out_len;
    gz->zs.avail_out = (uint32_t)(PACK_GZ_OUT - gz->out_len);
    if (isal_deflate(&gz->zs) != COMP_OK) {
      return -1;
    }
    gz->out_len = PACK_GZ_OUT - gz->zs.avail_out;
    bool done = gz->zs.avail_in == 0 && (!end || gz->zs.internal_state.state == ZSTATE_END);
    if (gz->out_len == PACK_GZ_OUT || (done && end)) {
      if (gz__emit(gz, gz->out, gz->out_len) != 0) {
        return -1;
      }
      gz->out_len = 0;
    }
    if (done) {
      return 0;
    }
  }
}

static la_ssize_t pack__write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
  struct gz_out *gz = ctx;
  const uint8_t *p = buf;
  size_t left = n;
  while (left > 0) {
    size_t chunk = left > (1u << 30) ? (1u << 30) : left;
    if (gz__write(gz, p, chunk, false) != 0) {
      archive_set_error(a, gz->sys_errno ? gz->sys_errno : EIO, "cannot write compressed output");
      return -1;
    }
    p += chunk;
    left -= chunk;
  }
  return (la_ssize_t)n;
}

// ---- tar entries ----

static int pack__entry_data(struct archive *a, const struct pack_entry *e, uint8_t *buf,
                            struct smf_error *err)
{
  int fd = open(e->fs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return SMF_ERR_SET(err, SMF_EIO, "cannot read %s: %s", e->fs, strerror(errno));
  }
  uint64_t total = 0;
  int rc = 0;
  for (;;) {
    size_t want = PACK_READ_BUF;
    if (e->size - total < want) {
      want = (size_t)(e->size - total) + 1;  // one extra byte detects growth
    }
    ssize_t n = read(fd, buf, want);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      rc = SMF_ERR_SET(err, SMF_EIO, "cannot read %s: %s", e->fs, strerror(errno));
      break;
    }
    if (n == 0 || total + (uint64_t)n > e->size) {
      if (n != 0 || total != e->size) {
        rc = SMF_ERR_SET(err, SMF_EIO, "%s changed size while it was being packed", e->fs);
      }
      break;
    }
    if (archive_write_data(a, buf, (size_t)n) != n) {
      rc = SMF_ERR_SET(err, SMF_EIO, "cannot write %s into the archive: %s", e->fs,
                       archive_error_string(a));
      break;
    }
    total += (uint64_t)n;
  }
  close(fd);
  return rc;
}

static int pack__entry(struct archive *a, struct archive_entry *ae, const struct pack_entry *e,
                       uint8_t *buf, struct smf_error *err)
{
  archive_entry_clear(ae);
  archive_entry_copy_pathname(ae, e->arc);
  archive_entry_set_filetype(ae, e->type == S_IFDIR   ? AE_IFDIR
                                 : e->type == S_IFLNK ? AE_IFLNK
                                                      : AE_IFREG);
  archive_entry_set_perm(ae, e->type == S_IFLNK ? 0777 : e->perm);
  archive_entry_set_size(ae, e->type == S_IFREG ? (la_int64_t)e->size : 0);
  archive_entry_set_mtime(ae, (time_t)SMF_ARCHIVE_MTIME, 0);
  archive_entry_set_uid(ae, 0);
  archive_entry_set_gid(ae, 0);
  if (e->type == S_IFLNK) {
    archive_entry_copy_symlink(ae, e->link);
  }
  if (archive_write_header(a, ae) != ARCHIVE_OK) {
    return SMF_ERR_SET(err, SMF_EIO, "cannot add %s to the archive: %s", e->arc,
                       archive_error_string(a));
  }
  if (e->type == S_IFREG && e->size > 0) {
    return pack__entry_data(a, e, buf, err);
  }
  return 0;
}

static bool pack__non_ascii(const char *s)
{
  for (; s != NULL && *s; s++) {
    if ((unsigned char)*s >= 0x80) {
      return true;
    }
  }
  return false;
}

static bool pack__has_non_ascii(const struct pack_list *l)
{
  for (size_t i = 0; i < l->n; i++) {
    if (pack__non_ascii(l->v[i].arc) || pack__non_ascii(l->v[i].link)) {
      return true;
    }
  }
  return false;
}

static int pack__write_all(struct pack_list *l, struct gz_out *gz, struct smf_pack_result *res,
                           struct smf_error *err)
{
  struct archive *a = archive_write_new();
  struct archive_entry *ae = archive_entry_new();
  uint8_t *buf = smf_xmalloc(PACK_READ_BUF + 1);
  int rc = 0;
  // Non-ASCII names are stored as the bytes found on disk (hdrcharset=BINARY)
  // rather than converted from the locale's charset: the output must not depend
  // on the locale, and in the C locale libarchive cannot convert at all. The
  // option is set only when needed, since it adds a pax header to more entries
  // (GNU tar notes "hdrcharset" as unknown; Python's tarfile reads it).
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      (pack__has_non_ascii(l) &&
       archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK) ||
      archive_write_add_filter_none(a) != ARCHIVE_OK ||
      archive_write_open2(a, gz, NULL, pack__write_cb, NULL, NULL) != ARCHIVE_OK) {
    rc =
        SMF_ERR_SET(err, SMF_EINTERNAL, "cannot start the tar writer: %s", archive_error_string(a));
    goto fail;
  }
  for (size_t i = 0; i < l->n; i++) {
    if ((rc = pack__entry(a, ae, &l->v[i], buf, err)) != 0) {
      goto fail;
    }
    res->content_bytes += l->v[i].size;
  }
  res->entries = l->n;
  if (archive_write_close(a) != ARCHIVE_OK) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot finish the archive: %s", archive_error_string(a));
    goto fail;
  }
  if (gz__write(gz, NULL, 0, true) != 0) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot finish the gzip stream: %s",
                     strerror(gz->sys_errno ? gz->sys_errno : EIO));
  }
fail:
  free(buf);
  archive_entry_free(ae);
  archive_write_free(a);
  return rc;
}

static int pack__fsync_parent(const char *path)
{
  char *copy = smf_xstrdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(copy);
  if (fd < 0) {
    return -1;
  }
  int r = fsync(fd);
  close(fd);
  return r;
}

int smf__archive_pack(const struct smf_pack_spec *spec, struct smf_pack_result *res,
                     struct smf_error *err)
{
  if (spec == NULL || spec->output == NULL || res == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "smf_archive_pack: spec, output and res are required");
  }
  int level = gz__level(spec->level);
  if (level < 0 || level > ISAL_DEF_MAX_LEVEL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "compression level %d is not 0..3", spec->level);
  }
  memset(res, 0, sizeof(*res));
  struct pack_list l = {0};
  struct gz_out *gz = NULL;
  char *tmp = smf_xasprintf("%s.XXXXXX", spec->output);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int rc = SMF_ERR_SET(err, SMF_EIO, "cannot create %s: %s", tmp, strerror(errno));
    free(tmp);
    return rc;
  }
  // Never pack our own output, should it lie inside the tree.
  struct stat st;
  if (fstat(fd, &st) == 0) {
    l.skip_dev[l.n_skip] = st.st_dev;
    l.skip_ino[l.n_skip++] = st.st_ino;
  }
  if (stat(spec->output, &st) == 0) {
    l.skip_dev[l.n_skip] = st.st_dev;
    l.skip_ino[l.n_skip++] = st.st_ino;
  }
  int rc = pack__collect(&l, spec, err);
  if (rc != 0) {
    goto fail;
  }
  gz = smf_xmalloc(sizeof(*gz));
  gz__init(gz, fd, level);
  if (gz__header(gz) != 0) {
    rc = SMF_ERR_SET(err, SMF_EINTERNAL, "cannot write the gzip header of %s", tmp);
    goto fail;
  }
  if ((rc = pack__write_all(&l, gz, res, err)) != 0) {
    goto fail;
  }
  if (fchmod(fd, 0644) != 0 || (spec->sync != SMF_PACK_SYNC_NONE && fsync(fd) != 0)) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot sync %s: %s", tmp, strerror(errno));
    goto fail;
  }
  close(fd);
  fd = -1;
  if (rename(tmp, spec->output) != 0) {
    rc =
        SMF_ERR_SET(err, SMF_EIO, "cannot rename %s to %s: %s", tmp, spec->output, strerror(errno));
    goto fail;
  }
  if (spec->sync == SMF_PACK_SYNC_ALL) {
    (void)pack__fsync_parent(spec->output);
  }
  smf_hash_final_hex(gz->hash, res->sha256);
  res->bytes = gz->bytes;

fail:
  if (fd >= 0) {
    close(fd);
  }
  if (rc != 0) {
    unlink(tmp);
  }
  if (gz != NULL) {
    gz__free(gz);
    free(gz);
  }
  free(tmp);
  pack__list_free(&l);
  return rc;
}
