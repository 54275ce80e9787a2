// archive.h: reproducible .tar.gz packing and safe extraction (SPEC §4: upload,
// fit's source packing, evaluate's model extraction), synchronous and on the uv
// thread pool.
//
// The archive format, fixed so that the same tree always gives the same bytes:
//  - tar in "pax restricted" form (libarchive): plain ustar headers, with a pax
//    extended header only for what ustar cannot hold (paths over 100/155 bytes,
//    non-ASCII names, files over 8 GiB). GNU tar and Python's tarfile, which the
//    SageMaker containers use, both read it. Names are the bytes found on disk;
//    when any is non-ASCII the archive marks them hdrcharset=BINARY, so the
//    output never depends on the process locale.
//  - entries sorted bytewise by path; directories included (empty ones too);
//    mtime SMF_ARCHIVE_MTIME; uid/gid 0; uname/gname empty; mode 0755 for
//    directories and files with any execute bit, 0644 for other files; no
//    xattrs, ACLs or file flags; hard-linked files stored as separate copies.
//  - symlinks are stored as symlinks when their target is relative and stays
//    inside the tree being packed (what Python's tarfile.add does, as the SDK
//    uses it); an absolute or escaping symlink is refused, since it would
//    dangle (or point at the host) inside the container.
//  - FIFOs, sockets and device nodes are refused.
//  - excluded by name at any depth: directories `.smflow` (run state) and
//    `__pycache__` (compiled bytecode embeds source mtimes, so it would break
//    reproducibility and is rebuilt in the container anyway). Nothing else is
//    excluded: the SDK packs everything.
//  - gzip by ISA-L's igzip with a header that carries no name and mtime 0
//    (OS byte 255, "unknown"). The bytes are reproducible for one ISA-L build on
//    one CPU family; ISA-L picks SIMD code paths at run time, which may encode
//    the same input differently elsewhere (still valid gzip, different hash).
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smflow/hash.h"

struct smf_error;
struct uv_loop_s;

/// Every entry's mtime: 2000-01-01T00:00:00Z. Not 0, which GNU tar reports as
/// an "implausibly old time stamp" on extraction.
#define SMF_ARCHIVE_MTIME 946684800LL

/// ISA-L level used when smf_pack_spec.level is 0 (see bench/bench_archive.sh).
#define SMF_ARCHIVE_DEFAULT_LEVEL 1
/// smf_pack_spec.level value for ISA-L's level 0 (fastest, lowest ratio).
#define SMF_ARCHIVE_LEVEL_FASTEST (-1)

/// How durable smf_pack_spec.output is when smf_archive_pack returns.
enum smf_pack_sync {
  SMF_PACK_SYNC_ALL = 0,  ///< the file and its directory entry are synced (the default)
  /// The file's bytes are synced, its directory is not: for an archive the
  /// caller moves into place at once and syncs the directory it lands in.
  SMF_PACK_SYNC_FILE,
  /// Nothing is synced: a scratch file that is copied or uploaded, then removed
  /// (whatever keeps the copy makes it durable).
  SMF_PACK_SYNC_NONE,
};

/// What to pack. All strings borrowed for the duration of the call (the async
/// variant copies them).
struct smf_pack_spec {
  const char *source_dir;           ///< its contents go at the archive root; may be NULL
  const char *const *dependencies;  ///< directories (or files) placed at the root by basename
  size_t n_dependencies;
  const char *const *files;  ///< single files placed at the root by basename
  size_t n_files;
  const char *output;  ///< the .tar.gz to write (atomically replaced)
  int level;           ///< 0 = default; 1..3 ISA-L level; SMF_ARCHIVE_LEVEL_FASTEST
  enum smf_pack_sync sync;
};

struct smf_pack_result {
  char sha256[SMF_HASH_HEX_SIZE];  ///< of the .tar.gz bytes, lowercase hex
  uint64_t bytes;                  ///< size of the .tar.gz
  uint64_t entries;                ///< tar entries (files, directories, symlinks)
  uint64_t content_bytes;          ///< sum of the packed files' sizes
};

/// Pack the spec into spec->output. Two entries with the same archive path
/// (e.g. a dependency named like a file of source_dir) are an error. On failure
/// no output file is left behind. Blocks: call from a worker thread or use
/// smf_archive_pack_async on the loop thread.
int smf_archive_pack(const struct smf_pack_spec *spec, struct smf_pack_result *res,
                     struct smf_error *err);

struct smf_extract_result {
  uint64_t entries;
  uint64_t bytes;  ///< regular-file bytes written
};

/// Extract a .tar.gz (or plain .tar) into dest_dir (created if missing).
/// Refused with SMF_EVALIDATE and a message naming the entry: absolute paths,
/// `..` components, symlinks whose target is absolute or leaves dest_dir, hard
/// links to a path outside, device nodes, FIFOs, sockets, and any entry whose
/// path goes through a symlink (libarchive's ARCHIVE_EXTRACT_SECURE_SYMLINKS).
/// Nothing is ever written outside dest_dir; entries before the offending one
/// stay in dest_dir, which the caller should discard on failure. Blocks.
int smf_archive_extract(const char *archive_path, const char *dest_dir,
                        struct smf_extract_result *res, struct smf_error *err);

/// Completion callbacks, on the loop thread; res and err are borrowed for the call.
typedef void (*smf_archive_pack_cb)(int status, const struct smf_pack_result *res,
                                    const struct smf_error *err, void *data);
typedef void (*smf_archive_extract_cb)(int status, const struct smf_extract_result *res,
                                       const struct smf_error *err, void *data);

/// smf_archive_pack on the uv thread pool. The spec is deep-copied. Returns 0
/// when queued (cb then runs exactly once), or a negative SMF_E* and cb never runs.
int smf_archive_pack_async(struct uv_loop_s *loop, const struct smf_pack_spec *spec,
                           smf_archive_pack_cb cb, void *data, struct smf_error *err);

/// smf_archive_extract on the uv thread pool; same contract as smf_archive_pack_async.
int smf_archive_extract_async(struct uv_loop_s *loop, const char *archive_path,
                              const char *dest_dir, smf_archive_extract_cb cb, void *data,
                              struct smf_error *err);
