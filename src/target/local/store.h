// store.h: the local target's object store (SPEC §5).
//
// `s3://BUCKET/KEY` maps to STATE_DIR/store/BUCKET/KEY; `file://PATH` and plain
// paths are used as they are, relative ones resolved from the pipeline file's
// directory. Objects are regular files; a put is atomic (temporary file in the
// same directory, fsync, rename, fsync of the directory), so a reader sees the
// old object or the new one, never a torn one. When the store has a state
// database that defers syncs (a local run: STATE_SYNC_CLOSE, see state.h), a
// put is temporary file, rename, and the object is noted with
// state_object_written: the state syncs the file and its directory off the
// caller's path, before the run's end is synced.
//
// Keys follow S3 with the limits a filesystem imposes, checked before any path
// is built so that no key can reach outside the store: no empty, "." or ".."
// segments, no trailing '/' for objects, at most 1024 bytes, no NUL, and the
// last segment may not start with ".smflow-tmp-" (temporary files). Because a
// key is a path, "a" and "a/b" cannot both be objects. Bucket names follow S3's
// rules (3-63 characters of a-z 0-9 . -, starting and ending with a letter or
// digit).
//
// Every call is synchronous filesystem work: from the event loop, run it on the
// uv thread pool (uv_queue_work) for anything larger than a small file.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smf_error;
struct state;

struct local_store {
  char *root;      ///< STATE_DIR/store; owned
  char *base_dir;  ///< where relative paths resolve from; owned
  /// The run's state database (borrowed; NULL: every put syncs itself): puts
  /// leave their syncs to it while state_objects_deferred says so.
  struct state *state;
};

/// Set up a store under state_dir (STATE_DIR/store is created). base_dir is the
/// pipeline file's directory. Both strings are copied. Free with local_store_close.
int local_store_init(struct local_store *st, const char *state_dir, const char *base_dir,
                     struct smf_error *err);
void local_store_close(struct local_store *st);

enum local_uri_kind {
  LOCAL_URI_S3,    ///< s3://BUCKET/KEY, kept under the store root
  LOCAL_URI_PATH,  ///< file://PATH or a plain path
};

/// A parsed URI. All strings owned; free with local_uri_free.
struct local_uri {
  enum local_uri_kind kind;
  char *bucket;  ///< S3 only
  char *key;     ///< S3 only; "" for a whole bucket (prefixes only)
  char *path;    ///< the filesystem path (for S3: root/bucket/key)
};

/// Parse and validate. `prefix` allows what only a prefix may be: an empty key,
/// a trailing '/', a partial last segment.
int local_uri_parse(const struct local_store *st, const char *uri, bool prefix,
                    struct local_uri *out, struct smf_error *err);
void local_uri_free(struct local_uri *u);

/// The filesystem path of an object URI. Caller frees *path.
int local_store_resolve(const struct local_store *st, const char *uri, char **path,
                        struct smf_error *err);

/// Store the file src_path as the object uri (atomically).
int local_store_put_file(const struct local_store *st, const char *src_path, const char *uri,
                         struct smf_error *err);
/// Store the file src_path as the object uri by renaming it into place (no
/// copy); the caller gives it up. Its bytes are synced before the rename (a
/// file the caller synced costs nothing more), or noted for the state's
/// deferred sync. Copies (then removes src_path) when the object lives on
/// another filesystem. src_path is gone on success.
int local_store_put_move(const struct local_store *st, const char *src_path, const char *uri,
                         struct smf_error *err);
/// local_store_put_move of n files: all renamed into place, then each directory
/// they landed in synced once. Stops at the first failure (the files moved
/// before it stay in place and are synced).
int local_store_put_moves(const struct local_store *st, const char *const *src_paths,
                          const char *const *uris, size_t n, struct smf_error *err);
/// Whether puts leave their syncs to the state now (a packer can then skip
/// syncing an archive it moves into the store).
bool local_store_defers_sync(const struct local_store *st);
/// Store bytes as the object uri (atomically).
int local_store_put_bytes(const struct local_store *st, const char *uri, const void *data,
                          size_t len, struct smf_error *err);

struct local_store_stat {
  uint64_t size;
  int64_t mtime_ms;
};

/// Size and modification time of an object; SMF_ENOENT when there is none.
int local_store_stat(const struct local_store *st, const char *uri, struct local_store_stat *out,
                     struct smf_error *err);
/// True if uri names an existing object (a regular file).
bool local_store_exists(const struct local_store *st, const char *uri);

/// Copy one object to another URI (either may be s3:// or a path), atomically.
int local_store_copy(const struct local_store *st, const char *src_uri, const char *dst_uri,
                     struct smf_error *err);

struct local_store_object {
  char *key;   ///< S3: the full key; path URIs: the path relative to the URI
  char *path;  ///< the file on disk
  uint64_t size;
};

/// Objects sorted bytewise by key. Free with local_store_listing_free.
struct local_store_listing {
  struct local_store_object *v;
  size_t n;
};

/// List by prefix with S3 semantics: every object whose key starts with the
/// prefix (`s3://b/data/tr` lists data/train/x.csv and data/trial.csv). A
/// missing bucket lists nothing. For a path URI: the files of that directory's
/// tree, or the single file it names.
int local_store_list(const struct local_store *st, const char *prefix_uri,
                     struct local_store_listing *out, struct smf_error *err);
void local_store_listing_free(struct local_store_listing *l);

enum local_materialise_mode {
  LOCAL_MATERIALISE_COPY,      ///< private copies (the job may modify them)
  LOCAL_MATERIALISE_HARDLINK,  ///< hard links where possible (read-only use); else copies
};

struct local_materialise_result {
  uint64_t files;
  uint64_t bytes;
};

/// Place a channel's data in dest_dir as SageMaker's File mode does: every object
/// under the prefix at the key's remainder after the prefix (nested keys become
/// subdirectories; an object named exactly by the URI lands under its base
/// name); for a path URI, the directory's tree or the single file. No object at
/// all is SMF_ENOENT, as SageMaker fails such a job. res may be NULL.
int local_store_materialise(const struct local_store *st, const char *uri, const char *dest_dir,
                            enum local_materialise_mode mode, struct local_materialise_result *res,
                            struct smf_error *err);
/// As local_store_materialise, placing only shard `shard` (0-based) of `n_shards`
/// as SageMaker's ShardedByS3Key does: the objects in key order, shard i gets
/// objects i, i+N, i+2N, ... The destination directory is made even when the
/// shard gets no object; no object under the URI at all is still SMF_ENOENT.
int local_store_materialise_shard(const struct local_store *st, const char *uri,
                                  const char *dest_dir, enum local_materialise_mode mode,
                                  size_t shard, size_t n_shards,
                                  struct local_materialise_result *res, struct smf_error *err);

// ---- on the uv thread pool ----
// Each copies its string arguments; `st` is borrowed and must outlive the
// request. Returns 0 when queued (cb then runs exactly once, on the loop
// thread), or a negative SMF_E* and cb never runs.

struct uv_loop_s;

/// Completion of an async store operation; res is NULL except for materialise
/// (and on failure); err is borrowed for the call.
typedef void (*local_store_cb)(int status, const struct local_materialise_result *res,
                               const struct smf_error *err, void *data);

int local_store_put_file_async(struct uv_loop_s *loop, const struct local_store *st,
                               const char *src_path, const char *uri, local_store_cb cb, void *data,
                               struct smf_error *err);
int local_store_copy_async(struct uv_loop_s *loop, const struct local_store *st,
                           const char *src_uri, const char *dst_uri, local_store_cb cb, void *data,
                           struct smf_error *err);
int local_store_materialise_async(struct uv_loop_s *loop, const struct local_store *st,
                                  const char *uri, const char *dest_dir,
                                  enum local_materialise_mode mode, local_store_cb cb, void *data,
                                  struct smf_error *err);
