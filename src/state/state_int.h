// state_int.h: internals shared by the files of src/state/.
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "smflow/state.h"

/// WAL pages after which a durable point also checkpoints (SQLite's default
/// automatic checkpoint threshold).
#define STATE_CHECKPOINT_FRAMES 1000

/// Prepared statements, reused for the life of the connection.
enum state__stmt {
  ST_RUN_INSERT,
  ST_RUN_STATUS,
  ST_RUN_VARS,
  ST_RUN_GET,
  ST_RUN_LATEST_UNFINISHED,
  ST_RUN_LIST,
  ST_STEP_PUT,
  ST_STEP_LIST,
  ST_STEP_LAST_OUTPUTS,
  ST_ATTEMPT_INTENT,
  ST_ATTEMPT_RESULT,
  ST_ATTEMPT_LIST,
  ST_EVENT_ADD,
  ST_EVENT_COUNT,
  ST_OBJECTS_DELETE,
  ST_OBJECTS_INSERT,
  ST_OBJECTS_LIST,
  ST__COUNT
};

struct state {
  char *dir;      ///< as given (for messages)
  char *abs_dir;  ///< absolute (for paths handed to child processes)
  sqlite3 *db;
  int lock_fd;    ///< -1 in read mode
  bool in_batch;  ///< a transaction is open
  bool readonly;
  /// Writer connections run with synchronous=NORMAL and sync explicitly
  /// (state_sync): after every commit in STATE_SYNC_COMMIT, at close in
  /// STATE_SYNC_CLOSE.
  bool explicit_sync;
  enum state_sync sync_mode;
  bool header_unsynced;  ///< a new database whose header page is not on disk yet
  /// A descriptor of a new state.db whose header the objsync thread syncs
  /// early (STATE_SYNC_CLOSE); closed only after sqlite3_close: closing any
  /// descriptor of the file would drop SQLite's POSIX locks on it. -1: none.
  int header_fd;
  bool header_early;  ///< header_fd is queued on the objsync thread
  /// A descriptor of the write-ahead log, which the objsync thread syncs after
  /// commits (STATE_SYNC_CLOSE), so that the sync at the end has little left
  /// to write; closed after sqlite3_close like header_fd. -1: none.
  int wal_fd;
  bool unsynced;         ///< commits written to the WAL but not synced
  int wal_frames;        ///< pages in the WAL not yet checkpointed (from the WAL hook)
  uint64_t commits, syncs;
  sqlite3_stmt *stmts[ST__COUNT];
  /// Store objects whose syncs wait for the next durable point (objsync.c);
  /// writer connections only, else NULL.
  struct state_objsync *objs;
};

/// The statement for `which`, reset and with bindings cleared. NULL + *err on failure.
sqlite3_stmt *state__stmt(struct state *s, enum state__stmt which, struct smf_error *err);
/// Open the batch transaction if none is open.
int state__begin(struct state *s, struct smf_error *err);
/// Set *err from the connection's last error.
int state__fail(struct state *s, const char *what, struct smf_error *err);
/// Step a write statement to completion inside the batch.
int state__exec_write(struct state *s, sqlite3_stmt *st, const char *what, struct smf_error *err);

// objsync.c
/// Set up s->objs (a writer connection).
void state__objsync_new(struct state *s);
/// Queue an fdatasync of fd (never closed here) and an fsync of dir on the
/// objsync thread, not recorded as a store object: false when syncs are not
/// deferred (then nothing is queued).
bool state__objsync_queue_fd(struct state *s, int fd, const char *dir);
/// Queue an fdatasync of the write-ahead log's descriptor fd (never closed
/// here) on the objsync thread, after the objects and directories queued
/// with it; nothing new when one is queued and not started yet (it covers
/// this commit too). false when syncs are not deferred (nothing is queued).
bool state__objsync_queue_wal(struct state *s, int fd);
/// Take back the log's syncs queued and not started: the caller syncs the
/// log itself now.
void state__objsync_unqueue_wal(struct state *s);
/// Sync what is still queued, stop the thread, free s->objs. NULL-safe.
void state__objsync_free(struct state *s);
/// Follow the connection's sync mode: objects are deferred in STATE_SYNC_CLOSE.
void state__objsync_mode(struct state *s);
/// Wait until every noted object is synced. After a failure (SMF_EIO, "cannot
/// sync store object PATH: ...") every call returns it: nothing is synced
/// after an object that may be lost.
int state__objsync_wait(struct state *s, struct smf_error *err);
/// The object failure was returned more than once (the last return repeats
/// what a caller already reported).
bool state__objsync_reported(struct state *s);
