// state.h: durable run state in STATE_DIR/state.db (SQLite, WAL). The only
// module that writes SQL. One writer per state directory (flock on
// STATE_DIR/lock); readers (status, runs) open the database without the lock.
//
// Durability model: writes go into one open transaction (a "batch") that is
// committed by state_flush(); the engine flushes at the end of every loop turn
// and before any side effect. A commit is in the write-ahead log when
// state_flush returns: a process that dies (kill -9, crash) loses nothing
// committed. Whether it is also synced to the disk (survives a power loss)
// depends on the sync mode: STATE_SYNC_COMMIT (the default) syncs every commit
// before state_flush returns; STATE_SYNC_CLOSE syncs at state_sync and
// state_close only — for runs whose side effects would not survive a power
// loss either (local processes). state_attempt_intent() flushes by itself.
//
// Ownership: struct state owns its connection, statements and lock. Records
// filled by getters own their strings; release them with the matching _clear.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smflow/error.h"

struct state;

/// Current schema version (PRAGMA user_version after migration).
#define STATE_SCHEMA_VERSION 5

enum state_open_mode {
  STATE_OPEN_WRITE,  ///< create the directory, take the lock, migrate
  STATE_OPEN_READ,   ///< no lock, no migration; SMF_ENOENT when there is no database
  /// Writable without the single-writer lock, no migration; SMF_ENOENT when there
  /// is no database. Only for the registry and endpoint commands (models approve,
  /// endpoints delete) while a run holds the lock: SQLite serialises the writes.
  STATE_OPEN_SHARED,
};

/// Open STATE_DIR/state.db. Write mode takes the single-writer lock: if another
/// process holds it, returns SMF_ELOCKED with "state directory DIR is locked by
/// smflow (pid N)". Caller frees with state_close.
int state_open(const char *dir, enum state_open_mode mode, struct state **out,
               struct smf_error *err);
/// Flush and sync (state_sync), finalize statements, close the database,
/// release the lock.
void state_close(struct state *s);
/// The directory, made absolute. Borrowed.
const char *state_dir(const struct state *s);
/// Commit the open batch transaction, if any (synced in STATE_SYNC_COMMIT mode).
/// On failure the batch is rolled back and SMF_ESTATE returned: the caller must stop.
int state_flush(struct state *s, struct smf_error *err);
/// Number of transactions committed since open (for tests and benchmarks).
uint64_t state_commit_count(const struct state *s);

/// When commits of a write-mode connection are synced to the disk.
enum state_sync {
  STATE_SYNC_COMMIT,  ///< every commit, before state_flush returns (the default)
  STATE_SYNC_CLOSE,   ///< at state_sync and state_close (commits reach the WAL at once)
};
/// Set the sync mode of a write-mode connection (no effect on other modes).
void state_set_sync(struct state *s, enum state_sync mode);
/// Flush, wait for the store objects noted for a deferred sync
/// (state_object_written; a failed one is returned, SMF_EIO), then sync
/// everything committed so far to the disk (the new database's header, the
/// write-ahead log and, the first time, their directory). Returns once it is
/// durable. No-op when nothing is unsynced.
int state_sync(struct state *s, struct smf_error *err);
/// Number of syncs of state.db or its WAL since open (for tests and benchmarks).
uint64_t state_sync_count(const struct state *s);

// ---- store objects synced at the next durable point (objsync.c) ----
//
// In STATE_SYNC_CLOSE mode a store renames an object into place without
// syncing it and notes it with state_object_written: a thread of the state
// syncs the file, then its directory, at once and off the caller's path, and
// state_sync (the run's end, a checkpoint) waits for every noted sync before
// it syncs the database, so that a cleanly ended run has its objects on disk
// before its end. Commits are not synced in this mode, and the kernel may
// write the log before an object: the engine records each step's objects with
// its result (state_step_objects_put) and resume checks them.

/// One store object: its file and size; step_id is set by state_step_objects_list only.
struct state_object {
  char *step_id;
  char *path;
  uint64_t size;
};

/// Whether store objects written now leave their syncs to the state (a write
/// connection in STATE_SYNC_CLOSE mode). NULL-safe. Any thread.
bool state_objects_deferred(struct state *s);
/// Note an object just renamed into place without a sync: PATH (its file,
/// SIZE bytes) and DIR (the directory holding its entry) are synced by the
/// state's thread; state_sync waits for them. Any thread. false when syncs
/// are not deferred (s NULL or another mode): the caller syncs them itself.
bool state_object_written(struct state *s, const char *path, const char *dir, uint64_t size);
/// The objects noted since the last call, oldest first (step_id NULL).
/// Caller frees with state_objects_free.
int state_objects_take(struct state *s, struct state_object **out, size_t *n);
/// Number of fsync calls the state's thread made for noted objects (tests).
uint64_t state_objects_sync_count(struct state *s);
void state_objects_free(struct state_object *v, size_t n);
/// Replace the records of the objects step STEP_ID of RUN_ID wrote (batched:
/// committed with the step's result). Strings borrowed.
int state_step_objects_put(struct state *s, const char *run_id, const char *step_id,
                           const struct state_object *v, size_t n, struct smf_error *err);
/// Every object record of a run, by step. Caller frees with state_objects_free.
int state_step_objects_list(struct state *s, const char *run_id, struct state_object **out,
                            size_t *n, struct smf_error *err);

// ---- runs ----

struct state_run {
  char *id;
  char *pipeline_path;    ///< absolute path of the pipeline file
  char *pipeline_sha256;  ///< hex
  char *name;
  char *target;
  char *params_json;   ///< resolved params (after --param), JSON object
  char *vars_json;     ///< vars evaluated once at run start, JSON object
  char *globals_json;  ///< run/git globals as of the start, JSON object
  char *options_json;  ///< engine options (only, from, max_parallel), JSON object
  char *status;        ///< "running" | "succeeded" | "failed" | "interrupted" | "cancelled"
  int64_t started_ms, finished_ms;  ///< finished 0 = not finished
  int exit_code;                    ///< -1 while running
};

/// Insert a new run (status "running"). Strings are borrowed.
int state_run_create(struct state *s, const struct state_run *r, struct smf_error *err);
/// Set status, exit code and (for a final status) the finish time.
int state_run_set_status(struct state *s, const char *run_id, const char *status, int exit_code,
                         struct smf_error *err);
/// Store the evaluated vars of a run (JSON object, borrowed).
int state_run_set_vars(struct state *s, const char *run_id, const char *vars_json,
                       struct smf_error *err);
/// Fetch a run by id; SMF_ENOENT if missing. Release *out with state_run_clear.
int state_run_get(struct state *s, const char *run_id, struct state_run *out,
                  struct smf_error *err);
/// The newest run whose status is not succeeded/cancelled (or SMF_ENOENT).
int state_run_latest_unfinished(struct state *s, struct state_run *out, struct smf_error *err);
/// All runs, newest first. Caller frees with state_runs_free.
int state_runs_list(struct state *s, struct state_run **out, size_t *n, struct smf_error *err);
void state_run_clear(struct state_run *r);
void state_runs_free(struct state_run *runs, size_t n);

// ---- steps ----

struct state_step {
  char *run_id;
  char *id;
  char *kind;
  char *state;   ///< "pending", "ready", "running", "retry_wait", "succeeded", ...
  int attempts;  ///< attempts started so far
  int64_t started_ms, finished_ms;
  char *outputs_json;   ///< JSON object or NULL
  char *error_class;    ///< "AlgorithmError" etc. or NULL
  char *error_message;  ///< or NULL
  char *remote_name;    ///< remote job name / pid description, or NULL
  int64_t seq;          ///< listing order within the run (the step's document index)
  char *cached_from;    ///< "RUN/STEP/ATTEMPT" when served from the step cache, or NULL
                        ///< (read by state_steps_list; written by state_step_set_cached_from)
};

/// Insert or replace a step row. Strings are borrowed; NULL stores NULL.
int state_step_put(struct state *s, const struct state_step *st, struct smf_error *err);
/// Steps of a run ordered by seq. Caller frees with state_steps_free.
int state_steps_list(struct state *s, const char *run_id, struct state_step **out, size_t *n,
                     struct smf_error *err);
/// Outputs of the newest succeeded step STEP_ID of any run of pipeline NAME, or
/// SMF_ENOENT. *outputs_json: caller frees.
int state_step_last_outputs(struct state *s, const char *pipeline_name, const char *step_id,
                            char **outputs_json, struct smf_error *err);
void state_step_clear(struct state_step *st);
void state_steps_free(struct state_step *steps, size_t n);

// ---- attempts: intent committed before the side effect, result after ----

struct state_attempt {
  int attempt;
  char *intent_json;
  char *result;  ///< NULL while unresolved; "succeeded" | "failed" | "interrupted" | "lost"
  char *result_json;
  int64_t intent_ms, result_ms;
};

/// Record and commit (flushing the batch first) the intent of attempt ATTEMPT
/// of a step; in STATE_SYNC_COMMIT mode it is on disk when this returns.
int state_attempt_intent(struct state *s, const char *run_id, const char *step_id, int attempt,
                         const char *intent_json, struct smf_error *err);
/// The same, written into the open batch only: the caller flushes (state_flush)
/// before the side effect, so that intents of steps started together share one commit.
int state_attempt_intent_add(struct state *s, const char *run_id, const char *step_id, int attempt,
                             const char *intent_json, struct smf_error *err);
/// Record the result of an attempt (batched; flushed at the end of the loop turn).
int state_attempt_result(struct state *s, const char *run_id, const char *step_id, int attempt,
                         const char *result, const char *result_json, struct smf_error *err);
/// Attempts of a step, oldest first. Caller frees with state_attempts_free.
int state_attempts_list(struct state *s, const char *run_id, const char *step_id,
                        struct state_attempt **out, size_t *n, struct smf_error *err);
void state_attempts_free(struct state_attempt *a, size_t n);
/// How many failed attempts of a step count against its retry budget: those
/// after the step last became "failed" (resuming a failed step starts a fresh
/// budget), so that an interruption while the step waits to retry leaves the
/// attempts it had left. Interrupted and lost attempts never count.
int state_step_budget_failures(struct state *s, const char *run_id, const char *step_id, int *n,
                               struct smf_error *err);

// ---- events: append-only log (batched) ----

/// Append an event; step_id and detail_json may be NULL.
int state_event_add(struct state *s, const char *run_id, const char *step_id, const char *type,
                    const char *detail_json, struct smf_error *err);
/// Number of events of a run (tests).
int state_event_count(struct state *s, const char *run_id, int64_t *out, struct smf_error *err);

// ---- the local model registry (registry.c) ----

struct state_model_package {
  char *group;
  int version;          ///< 1, 2, ... per group
  char *arn;
  char *approval;       ///< Approved | PendingManualApproval | Rejected
  char *model_data;
  char *image_uri;
  char *description;
  char *metrics_uri;
  char *metadata_json;  ///< JSON object of strings, or NULL
  int64_t created_ms, updated_ms;
};

/// Create a model package group; one that exists already is fine (its
/// description is kept). Batched.
int state_registry_group_put(struct state *s, const char *group, const char *description,
                             struct smf_error *err);
/// Add a version to pkg->group: the next number of the group, arn =
/// ARN_PREFIX/VERSION. pkg->version, arn, times are ignored. *version: the new
/// number. SMF_ENOENT (class client) when the group does not exist. Batched
/// (the caller flushes).
int state_registry_version_add(struct state *s, const struct state_model_package *pkg,
                               const char *arn_prefix, int *version, struct smf_error *err);
/// Versions of one group (or of every group when group is NULL), by group then
/// version. Caller frees with state_model_packages_free.
int state_registry_list(struct state *s, const char *group, struct state_model_package **out,
                        size_t *n, struct smf_error *err);
/// Set the approval of GROUP/VERSION; SMF_ENOENT when there is no such version.
int state_registry_set_approval(struct state *s, const char *group, int version,
                                const char *approval, struct smf_error *err);
void state_model_packages_free(struct state_model_package *v, size_t n);

// ---- local endpoints (registry.c) ----

struct state_endpoint {
  char *name;
  char *url;
  int64_t pid, start_time;  ///< the server process and its start time (clock ticks)
  char *model_name;
  char *model_data;
  char *config_name;
  char *spec_json;          ///< what was deployed (to restore it), JSON object
  int64_t created_ms, updated_ms;
};

/// Insert or replace the record of ep->name (created_ms kept when it exists). Batched.
int state_endpoint_put(struct state *s, const struct state_endpoint *ep, struct smf_error *err);
/// SMF_ENOENT when there is none. Release *out with state_endpoint_clear.
int state_endpoint_get(struct state *s, const char *name, struct state_endpoint *out,
                       struct smf_error *err);
/// Every endpoint, by name. Caller frees with state_endpoints_free.
int state_endpoints_list(struct state *s, struct state_endpoint **out, size_t *n,
                         struct smf_error *err);
/// Remove the record (missing is fine). Batched.
int state_endpoint_delete(struct state *s, const char *name, struct smf_error *err);
/// Free an array from state_endpoints_list.
void state_endpoints_free(struct state_endpoint *v, size_t n);
void state_endpoint_clear(struct state_endpoint *ep);

// ---- step cache (cache.c): successful steps reusable by a later step with the same key ----

/// One reusable result: the attempt that produced it and its outputs.
struct state_cache_entry {
  char *run_id;
  char *step_id;
  int attempt;
  char *outputs_json;  ///< JSON object
  int64_t created_ms;
};

/// Remember that attempt ATTEMPT of RUN/STEP succeeded with OUTPUTS under cache
/// key KEY (hex). Strings are borrowed. Batched.
int state_cache_put(struct state *s, const char *key, const char *run_id, const char *step_id,
                    int attempt, const char *outputs_json, struct smf_error *err);
/// The newest entry for KEY created at or after min_created_ms (0: any age).
/// SMF_ENOENT when there is none (also for a database without the cache table,
/// opened read-only). Release *out with state_cache_entry_clear.
int state_cache_lookup(struct state *s, const char *key, int64_t min_created_ms,
                       struct state_cache_entry *out, struct smf_error *err);
void state_cache_entry_clear(struct state_cache_entry *e);
/// Record on the step row that the step was served from the cache (FROM =
/// "RUN/STEP/ATTEMPT", borrowed). The row must exist. Batched.
int state_step_set_cached_from(struct state *s, const char *run_id, const char *step_id,
                               const char *from, struct smf_error *err);

/// The run of the newest event of the database (the run the lock holder is
/// writing, when one holds it), or SMF_ENOENT. *run_id: caller frees.
int state_event_latest_run(struct state *s, char **run_id, struct smf_error *err);

// ---- the single-writer lock, seen from outside (cancel) ----

/// Whether a process holds the lock of state directory DIR, without taking it for
/// long: 1 and *pid = the holder's pid (from the lock file; 0 if unreadable), 0 when
/// it is free (or there is no lock file), negative SMF_E* on an I/O error.
int state_lock_holder(const char *dir, long *pid, struct smf_error *err);
/// The same question without touching the lock at all (for readers that may run
/// at any moment, such as `status`: even a brief probe could turn away a writer
/// starting then): the kernel's table of file locks (/proc/locks) is searched
/// for DIR/lock. 1 and *pid when held, 0 when free or there is no lock file,
/// SMF_EUNSUPPORTED when the table cannot be read.
int state_lock_peek(const char *dir, long *pid);
