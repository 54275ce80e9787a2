// archive_extract.c: safe extraction of a .tar.gz into one directory.
//
// Every entry is checked before libarchive sees it: absolute paths, `..`
// components, symlinks leaving the tree, hard links to outside and anything
// but files, directories and links are refused, naming the entry. The entry is
// then re-rooted under the real (symlink-free) path of the destination and
// written by archive_write_disk with ARCHIVE_EXTRACT_SECURE_NODOTDOT and
// ARCHIVE_EXTRACT_SECURE_SYMLINKS, so libarchive refuses, in addition, any
// entry whose path would pass through a symlink already on disk (one from an
// earlier entry, say). ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS cannot be
// passed: libarchive resolves relative entry paths against the process's
// working directory, which a thread-pool worker must not change, so entries are
// given absolute paths under the destination; the absolute-path check is ours.
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/archive.h"
#include "smflow/error.h"
#include "smflow/util.h"
#include "util/archive_int.h"

#define EXTRACT_FLAGS \
  (ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS)

// "" when the path is fine, else why not.
static const char *ex__path_problem(const char *name)
{
  if (name[0] == '/') {
    return "absolute path";
  }
  const char *p = name;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      return "path contains a '..' component";
    }
    p += n;
    while (*p == '/') {
      p++;
    }
  }
  return "";
}

// True for "", ".", "./", ".//." …: the destination directory itself.
static bool ex__is_root(const char *name)
{
  for (const char *p = name; *p; p++) {
    if (*p != '.' && *p != '/') {
      return false;
    }
    if (p[0] == '.' && p[1] == '.') {
      return false;
    }
  }
  return true;
}

static const char *ex__type_problem(mode_t type)
{
  switch (type) {
  case AE_IFREG:
  case AE_IFDIR:
  case AE_IFLNK:
    return "";
  case AE_IFCHR:
    return "character device entries are not allowed";
  case AE_IFBLK:
    return "block device entries are not allowed";
  case AE_IFIFO:
    return "FIFO entries are not allowed";
  case AE_IFSOCK:
    return "socket entries are not allowed";
  default:
    return "entries of this type are not allowed";
  }
}

// Validate one entry; on success re-root its path (and hard link) under root.
static int ex__check(struct archive_entry *ae, const char *root, const char *archive_path,
                     bool *skip, struct smf_error *err)
{
  const char *name = archive_entry_pathname(ae);
  if (name == NULL) {
    return SMF_ERR_SET(err, SMF_EVALIDATE,
                       "refusing an entry of %s: its name cannot be represented here",
                       archive_path);
  }
  // A hard link's own type field may be empty; its target decides.
  const char *hl = archive_entry_hardlink(ae);
  const char *why = hl != NULL ? "" : ex__type_problem(archive_entry_filetype(ae));
  if (*why == '\0') {
    why = ex__path_problem(name);
  }
  if (*why == '\0' && hl != NULL) {
    why = ex__path_problem(hl);
    if (*why != '\0' || ex__is_root(hl)) {
      why = "hard link points outside the destination";
    }
  }
  if (*why == '\0' && archive_entry_filetype(ae) == AE_IFLNK) {
    const char *target = archive_entry_symlink(ae);
    if (target == NULL || !smf__archive_link_inside(name, target)) {
      why = "symlink points outside the destination";
    }
  }
  if (*why != '\0') {
    const char *target = hl ? hl : archive_entry_symlink(ae);
    return SMF_ERR_SET(err, SMF_EVALIDATE, "refusing to extract \"%s\"%s%s%s from %s: %s", name,
                       target ? " (-> " : "", target ? target : "", target ? ")" : "", archive_path,
                       why);
  }
  *skip = ex__is_root(name) && archive_entry_filetype(ae) == AE_IFDIR;
  if (*skip) {
    return 0;
  }
  char *full = smf_xasprintf("%s/%s", root, name);
  archive_entry_copy_pathname(ae, full);
  free(full);
  if (hl != NULL) {
    char *fhl = smf_xasprintf("%s/%s", root, hl);
    archive_entry_copy_hardlink(ae, fhl);
    free(fhl);
  }
  return 0;
}

static int ex__copy_data(struct archive *in, struct archive *out, const char *name, uint64_t *bytes,
                         struct smf_error *err)
{
  for (;;) {
    const void *buf;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(in, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) {
      return 0;
    }
    if (r < ARCHIVE_WARN) {
      return SMF_ERR_SET(err, SMF_EIO, "cannot read \"%s\": %s", name, archive_error_string(in));
    }
    if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN) {
      return SMF_ERR_SET(err, SMF_EIO, "cannot write \"%s\": %s", name, archive_error_string(out));
    }
    *bytes += size;
  }
}

static int ex__open(struct archive **in, struct archive **out, const char *archive_path,
                    struct smf_error *err)
{
  *in = archive_read_new();
  *out = archive_write_disk_new();
  archive_read_support_filter_gzip(*in);
  archive_read_support_format_tar(*in);
  archive_read_support_format_gnutar(*in);
  archive_write_disk_set_options(*out, EXTRACT_FLAGS);
  if (archive_read_open_filename(*in, archive_path, 1 << 16) != ARCHIVE_OK) {
    int code = errno == ENOENT ? SMF_ENOENT : SMF_EIO;
    return SMF_ERR_SET(err, code, "cannot open %s: %s", archive_path, archive_error_string(*in));
  }
  return 0;
}

int smf__archive_extract(const char *archive_path, const char *dest_dir,
                        struct smf_extract_result *res, struct smf_error *err)
{
  if (archive_path == NULL || dest_dir == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "smf_archive_extract: archive and destination required");
  }
  struct smf_extract_result local = {0};
  if (res == NULL) {
    res = &local;
  }
  memset(res, 0, sizeof(*res));
  int rc = smf_mkdir_p(dest_dir, err);
  if (rc != 0) {
    return rc;
  }
  char root[PATH_MAX];
  if (realpath(dest_dir, root) == NULL) {
    return SMF_ERR_SET(err, SMF_EIO, "cannot resolve %s: %s", dest_dir, strerror(errno));
  }
  struct archive *in = NULL, *out = NULL;
  if ((rc = ex__open(&in, &out, archive_path, err)) != 0) {
    goto fail;
  }
  struct archive_entry *ae;
  int r;
  while ((r = archive_read_next_header(in, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    char *name = smf_xstrdup(archive_entry_pathname(ae) ? archive_entry_pathname(ae) : "?");
    bool skip = false;
    rc = ex__check(ae, root, archive_path, &skip, err);
    if (rc == 0 && !skip) {
      if (archive_write_header(out, ae) < ARCHIVE_WARN) {
        rc = SMF_ERR_SET(err, SMF_EVALIDATE, "refusing to extract \"%s\" from %s: %s", name,
                         archive_path, archive_error_string(out));
      } else if (archive_entry_size(ae) > 0) {
        rc = ex__copy_data(in, out, name, &res->bytes, err);
      }
      if (rc == 0 && archive_write_finish_entry(out) < ARCHIVE_WARN) {
        rc = SMF_ERR_SET(err, SMF_EIO, "cannot finish \"%s\": %s", name, archive_error_string(out));
      }
    }
    free(name);
    if (rc != 0) {
      goto fail;
    }
    res->entries++;
  }
  if (r != ARCHIVE_EOF) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot read %s: %s", archive_path, archive_error_string(in));
  }
fail:
  if (out != NULL) {
    archive_write_free(out);
  }
  if (in != NULL) {
    archive_read_free(in);
  }
  return rc;
}
