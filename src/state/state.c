// state.c: opening the state database — the single-writer lock, pragmas,
// schema migrations, the prepared-statement cache and batched commits.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/log.h"
#include "smflow/util.h"
#include "state/schema.h"
#include "state/state_int.h"


static const char *const state__sql[ST__COUNT] = {
    [ST_RUN_INSERT] =
        "INSERT INTO runs (id, pipeline_path, pipeline_sha256, name, target,"
        " params_json, vars_json, globals_json, options_json, status, started_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,'running',?)",
    [ST_RUN_STATUS] =
        "UPDATE runs SET status = ?2, exit_code = ?3,"
        " finished_at = CASE WHEN ?4 THEN ?5 ELSE NULL END WHERE id = ?1",
    [ST_RUN_VARS] = "UPDATE runs SET vars_json = ?2 WHERE id = ?1",
    [ST_RUN_GET] =
        "SELECT id, pipeline_path, pipeline_sha256, name, target, params_json,"
        " vars_json, globals_json, options_json, status, started_at,"
        " finished_at, exit_code FROM runs WHERE id = ?",
    [ST_RUN_LATEST_UNFINISHED] =
        "SELECT id, pipeline_path, pipeline_sha256, name, target, params_json, vars_json,"
        " globals_json, options_json, status, started_at, finished_at, exit_code FROM runs"
        " WHERE status NOT IN ('succeeded', 'cancelled') ORDER BY started_at DESC, id DESC"
        " LIMIT 1",
    [ST_RUN_LIST] =
        "SELECT id, pipeline_path, pipeline_sha256, name, target, params_json,"
        " vars_json, globals_json, options_json, status, started_at,"
        " finished_at, exit_code FROM runs ORDER BY started_at DESC, id DESC",
    [ST_STEP_PUT] =
        "INSERT INTO steps (run_id, id, kind, state, attempts, started_at, finished_at,"
        " outputs_json, error_class, error_message, remote_name, seq)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
        " ON CONFLICT (run_id, id) DO UPDATE SET kind = excluded.kind, state = excluded.state,"
        " attempts = excluded.attempts, started_at = excluded.started_at,"
        " finished_at = excluded.finished_at, outputs_json = excluded.outputs_json,"
        " error_class = excluded.error_class, error_message = excluded.error_message,"
        " remote_name = excluded.remote_name",
    [ST_STEP_LIST] =
        "SELECT run_id, id, kind, state, attempts, started_at, finished_at,"
        " outputs_json, error_class, error_message, remote_name, cached_from FROM steps"
        " WHERE run_id = ? ORDER BY seq, id",
    [ST_STEP_LAST_OUTPUTS] =
        "SELECT s.outputs_json FROM steps s JOIN runs r ON r.id = s.run_id"
        " WHERE r.name = ?1 AND s.id = ?2 AND s.state = 'succeeded'"
        " ORDER BY s.finished_at DESC LIMIT 1",
    [ST_ATTEMPT_INTENT] =
        "INSERT OR REPLACE INTO attempts (run_id, step_id, attempt,"
        " intent_json, intent_at) VALUES (?,?,?,?,?)",
    [ST_ATTEMPT_RESULT] =
        "UPDATE attempts SET result = ?4, result_json = ?5, result_at = ?6"
        " WHERE run_id = ?1 AND step_id = ?2 AND attempt = ?3",
    [ST_ATTEMPT_LIST] =
        "SELECT attempt, intent_json, result, result_json, intent_at,"
        " result_at FROM attempts WHERE run_id = ? AND step_id = ?"
        " ORDER BY attempt",
    [ST_EVENT_ADD] =
        "INSERT INTO events (run_id, step_id, at, type, detail_json)"
        " VALUES (?,?,?,?,?)",
    [ST_EVENT_COUNT] = "SELECT COUNT(*) FROM events WHERE run_id = ?",
    [ST_OBJECTS_DELETE] = "DELETE FROM step_objects WHERE run_id = ?1 AND step_id = ?2",
    [ST_OBJECTS_INSERT] =
        "INSERT OR REPLACE INTO step_objects (run_id, step_id, path, size) VALUES (?,?,?,?)",
    [ST_OBJECTS_LIST] =
        "SELECT step_id, path, size FROM step_objects WHERE run_id = ? ORDER BY step_id, path",
};

int state__fail(struct state *s, const char *what, struct smf_error *err)
{
  return SMF_ERR_SET(err, SMF_ESTATE, "%s/state.db: %s: %s", s->dir, what,
                     s->db ? sqlite3_errmsg(s->db) : "not open");
}

sqlite3_stmt *state__stmt(struct state *s, enum state__stmt which, struct smf_error *err)
{
  sqlite3_stmt *st = s->stmts[which];
  if (st == NULL) {
    if (sqlite3_prepare_v3(s->db, state__sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
        SQLITE_OK) {
      state__fail(s, "prepare", err);
      return NULL;
    }
    s->stmts[which] = st;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

int state__begin(struct state *s, struct smf_error *err)
{
  if (s->in_batch) {
    return 0;
  }
  if (s->readonly) {
    return SMF_ERR_SET(err, SMF_ESTATE, "%s/state.db: opened read-only", s->dir);
  }
  if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    return state__fail(s, "begin", err);
  }
  s->in_batch = true;
  return 0;
}

int state__exec_write(struct state *s, sqlite3_stmt *st, const char *what, struct smf_error *err)
{
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    return state__fail(s, what, err);
  }
  return 0;
}

// A new database synced only at its end (STATE_SYNC_CLOSE): its header (and
// the directory entries of state.db and of the WAL the first commit made) are
// synced by the objsync thread now, while the run goes on, rather than in
// sequence with the WAL when the run ends; state_sync waits for it before it
// syncs the WAL, so the header is still on disk first.
static void state__header_early(struct state *s)
{
  if (!s->header_unsynced || s->header_fd >= 0 || !state_objects_deferred(s)) {
    return;
  }
  char *path = smf_xasprintf("%s/state.db", s->dir);
  s->header_fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  // Not closed when it cannot be queued either (see header_fd): state_sync
  // then syncs the header itself, as without this.
  s->header_early = s->header_fd >= 0 && state__objsync_queue_fd(s, s->header_fd, s->dir);
}

// The log's pages of the commits so far, written out by the objsync thread
// while the run goes on (STATE_SYNC_CLOSE); the sync at the end, through
// SQLite's own handle, still makes the last commit durable. The kernel may
// write the log out at any time anyway: resume checks the objects it names.
static void state__wal_early(struct state *s)
{
  if (!state_objects_deferred(s)) {
    return;
  }
  if (s->wal_fd < 0) {
    char *path = smf_xasprintf("%s/state.db-wal", s->dir);
    s->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (s->wal_fd < 0) {
      return;  // none yet (or not readable): the end syncs it, as without this
    }
  }
  state__objsync_queue_wal(s, s->wal_fd);
}

// Commit the batch; wal_early: have the objsync thread write the log out (not
// when a sync of the log follows at once).
static int state__commit(struct state *s, bool wal_early, struct smf_error *err)
{
  if (!s->in_batch) {
    return 0;
  }
  s->in_batch = false;
  if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    int rc = state__fail(s, "commit", err);
    if (!sqlite3_get_autocommit(s->db)) {
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
  }
  s->commits++;
  if (s->explicit_sync) {
    s->unsynced = true;
    if (s->sync_mode == STATE_SYNC_COMMIT) {
      return state_sync(s, err);
    }
    state__header_early(s);
    if (wal_early) {
      state__wal_early(s);
    }
  }
  return 0;
}

int state_flush(struct state *s, struct smf_error *err)
{
  return state__commit(s, true, err);
}

// xSync through SQLite's own handle of the file (main database or WAL):
// opening and closing another descriptor of state.db would drop this process's
// POSIX locks on it. SQLite's handle of a new WAL also syncs the directory on
// its first sync (both files' entries: they share it).
static int state__xsync(struct state *s, int op, const char *what, struct smf_error *err)
{
  sqlite3_file *f = NULL;
  if (sqlite3_file_control(s->db, "main", op, &f) != SQLITE_OK || f == NULL ||
      f->pMethods == NULL) {
    return 0;  // no such file (no WAL yet): nothing to sync
  }
  if (f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) != SQLITE_OK) {
    return SMF_ERR_SET(err, SMF_EIO, "%s/state.db: cannot sync the %s", s->dir, what);
  }
  s->syncs++;
  return 0;
}

// The writer runs with synchronous=OFF and SQLite's automatic checkpoint
// replaced by this hook, which only counts the WAL's frames: a checkpoint
// under synchronous=OFF would not sync state.db before the WAL is reused.
static int state__wal_hook(void *data, sqlite3 *db, const char *name, int frames)
{
  (void)db;
  (void)name;
  ((struct state *)data)->wal_frames = frames;
  return SQLITE_OK;
}

// Copy the WAL into state.db at a durable point (the WAL is synced), with
// synchronous=NORMAL for the checkpoint itself: it syncs state.db before the
// WAL can be reused. Passive: readers are never blocked; what they still use
// is copied by a later checkpoint.
static int state__checkpoint(struct state *s, struct smf_error *err)
{
  int log = 0, done = 0;
  if (sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
    return state__fail(s, "checkpoint", err);
  }
  int rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  if (sqlite3_exec(s->db, "PRAGMA synchronous = OFF", NULL, NULL, NULL) != SQLITE_OK ||
      (rc != SQLITE_OK && rc != SQLITE_BUSY)) {
    return state__fail(s, "checkpoint", err);
  }
  s->syncs += 2;
  s->wal_frames = log - done;
  return 0;
}

int state_sync(struct state *s, struct smf_error *err)
{
  int rc = state__commit(s, false, err);
  // The store objects a run left unsynced first: the log about to be synced
  // may name them (objsync.c).
  if (rc == 0 && s->objs != NULL) {
    state__objsync_unqueue_wal(s);  // synced below, not twice
    rc = state__objsync_wait(s, err);
    if (rc == 0 && s->header_early) {
      s->header_unsynced = false;  // synced early (state__header_early)
    }
  }
  if (rc != 0 || !s->explicit_sync || !s->unsynced) {
    return rc;
  }
  // A new database's header first: a WAL next to an empty database file is
  // discarded when the database is next opened.
  if (s->header_unsynced) {
    if ((rc = state__xsync(s, SQLITE_FCNTL_FILE_POINTER, "new database", err)) != 0) {
      return rc;
    }
    s->header_unsynced = false;
  }
  if ((rc = state__xsync(s, SQLITE_FCNTL_JOURNAL_POINTER, "write-ahead log", err)) != 0) {
    return rc;
  }
  s->unsynced = false;
  return s->wal_frames >= STATE_CHECKPOINT_FRAMES ? state__checkpoint(s, err) : 0;
}

void state_set_sync(struct state *s, enum state_sync mode)
{
  s->sync_mode = mode;
  state__objsync_mode(s);
}

uint64_t state_commit_count(const struct state *s)
{
  return s->commits;
}

uint64_t state_sync_count(const struct state *s)
{
  return s->syncs;
}

const char *state_dir(const struct state *s)
{
  return s->abs_dir ? s->abs_dir : s->dir;
}

// Take STATE_DIR/lock with flock and write our pid into it. The lock dies with
// the process, so a kill -9 never leaves a stale lock behind.
static int state__lock(struct state *s, struct smf_error *err)
{
  char *path = smf_xasprintf("%s/lock", s->dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  free(path);
  if (fd < 0) {
    return SMF_ERR_SET(err, SMF_EIO, "%s/lock: %s", s->dir, strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
    close(fd);
    return SMF_ERR_SET(err, SMF_ELOCKED, "state directory %s is locked by smflow (pid %ld)", s->dir,
                       pid);
  }
  char buf[32];
  int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
    int e = errno;
    close(fd);
    return SMF_ERR_SET(err, SMF_EIO, "%s/lock: %s", s->dir, strerror(e));
  }
  s->lock_fd = fd;
  return 0;
}

// An existing database brought to the newest schema version (a new one is
// made at that version: state__create).
static int state__migrate(struct state *s, struct smf_error *err)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
    return state__fail(s, "read schema version", err);
  }
  int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  int n = state__schema_version();
  if (version > n) {
    return SMF_ERR_SET(err, SMF_ESTATE,
                       "%s/state.db: schema version %d is newer than this smflow knows (%d)",
                       s->dir, version, n);
  }
  if (version == n) {
    return 0;
  }
  // Every pending migration in one transaction: one commit (one WAL sync)
  // instead of one per schema version; all or nothing.
  struct smf_buf sql = {0};
  smf_buf_puts(&sql, "BEGIN IMMEDIATE;");
  for (int v = version; v < n; v++) {
    smf_buf_puts(&sql, state__migration(v));
    smf_buf_puts(&sql, ";");
  }
  smf_buf_printf(&sql, " PRAGMA user_version = %d; COMMIT;", n);
  int rc = sqlite3_exec(s->db, smf_buf_cstr(&sql), NULL, NULL, NULL);
  smf_buf_free(&sql);
  if (rc != SQLITE_OK) {
    char what[64];
    snprintf(what, sizeof(what), "migration from schema version %d to %d", version, n);
    int ret = state__fail(s, what, err);
    if (!sqlite3_get_autocommit(s->db)) {
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return ret;
  }
  return 0;
}

// A new database (state.db missing or empty): the schema's image, generated at
// build time (schema.h), written to a temporary file and renamed into place
// (smf_file_write_replace), so
// that SQLite only reads the schema it holds instead of parsing, planning and
// running the whole script (~2.5 M instructions fewer; 0.65 M to open it).
// What a crash left beside an empty state.db is removed first: SQLite
// discards a WAL next to an empty database, and a hot journal of one rolls
// back to an empty file. Not synced here: the image is synced with the
// database's header at the first durable point (header_unsynced), as a
// database SQLite created would be. The caller holds the directory's lock.
static int state__create(const char *path, struct smf_error *err)
{
  static const char *const leftovers[] = {"-wal", "-shm", "-journal"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(leftovers); i++) {
    char *p = smf_xasprintf("%s%s", path, leftovers[i]);
    int r = unlink(p);
    int e = errno;
    free(p);
    if (r != 0 && e != ENOENT) {
      return SMF_ERR_SET(err, SMF_EIO, "%s%s: %s", path, leftovers[i], strerror(e));
    }
  }
  return smf_file_write_replace(path, state__image, state__image_size, err);
}

static int state__configure(struct state *s, bool write, bool fresh, struct smf_error *err)
{
  sqlite3_busy_timeout(s->db, 5000);
  if (write) {
    // The WAL is synced at every durable point (state_sync): closing need not
    // checkpoint it into state.db (two more syncs at the end of each run). It
    // stays beside the database and is checkpointed at a durable point once it
    // holds STATE_CHECKPOINT_FRAMES pages (state__checkpoint).
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
  }
  // The writer commits with synchronous=OFF (a commit is in the WAL when it
  // returns: nothing is lost if the process dies) and syncs the WAL itself
  // where durability is needed, checkpointing there too (state_sync): SQLite
  // syncs nothing on its own, not even a new WAL's header on the first commit.
  // A new state.db is the schema's image (state__create), already in WAL mode:
  // it is synced at the first durable point, before the WAL. A shared writer
  // (models approve while a run holds the lock) lets SQLite sync every commit.
  if (fresh) {
    s->header_unsynced = true;
    s->unsynced = true;
  }
  const char *pragmas = s->explicit_sync ? "PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL;"
                                           " PRAGMA foreign_keys = ON;"
                        : write          ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                                           " PRAGMA foreign_keys = ON;"
                                         : "PRAGMA query_only = ON;";
  if (sqlite3_exec(s->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
    return state__fail(s, "configure", err);
  }
  if (s->explicit_sync) {
    sqlite3_wal_hook(s->db, state__wal_hook, s);
  }
  return 0;
}

int state_open(const char *dir, enum state_open_mode mode, struct state **out,
               struct smf_error *err)
{
  *out = NULL;
  bool write = mode == STATE_OPEN_WRITE;
  bool shared = mode == STATE_OPEN_SHARED;
  struct state *s = smf_xcalloc(1, sizeof(*s));
  s->dir = smf_xstrdup(dir);
  s->lock_fd = -1;
  s->header_fd = -1;
  s->wal_fd = -1;
  s->readonly = !write && !shared;
  s->explicit_sync = write;
  s->sync_mode = STATE_SYNC_COMMIT;
  if (write) {
    state__objsync_new(s);
  }
  char *path = smf_xasprintf("%s/state.db", dir);
  int rc;
  if (write) {
    if ((rc = smf_mkdir_p(dir, err)) != 0 || (rc = state__lock(s, err)) != 0) {
      goto fail;
    }
  } else if (access(path, F_OK) != 0) {
    rc = SMF_ERR_SET(err, SMF_ENOENT, "no state database in %s", dir);
    goto fail;
  }
  s->abs_dir = realpath(dir, NULL);
  struct stat st;
  bool fresh = write && (stat(path, &st) != 0 || st.st_size == 0);
  if (fresh && (rc = state__create(path, err)) != 0) {
    goto fail;
  }
  int flags = write    ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
              : shared ? SQLITE_OPEN_READWRITE
                       : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    rc = state__fail(s, "open", err);
    goto fail;
  }
  if ((rc = state__configure(s, write || shared, fresh, err)) != 0 ||
      (write && (rc = state__migrate(s, err)) != 0)) {
    goto fail;
  }
  free(path);
  *out = s;
  return 0;
fail:
  free(path);
  state_close(s);
  return rc;
}

void state_close(struct state *s)
{
  if (s == NULL) {
    return;
  }
  struct smf_error err = SMF_ERROR_INIT;
  if (!s->readonly && state_sync(s, &err) != 0 && !state__objsync_reported(s)) {
    smf_log(SMF_LOG_ERROR, "%s", err.message);
  }
  state__objsync_free(s);
  for (int i = 0; i < ST__COUNT; i++) {
    sqlite3_finalize(s->stmts[i]);
  }
  sqlite3_close(s->db);
  if (s->header_fd >= 0) {
    close(s->header_fd);  // after SQLite's own descriptors (see header_fd)
  }
  if (s->wal_fd >= 0) {
    close(s->wal_fd);
  }
  if (s->lock_fd >= 0) {
    close(s->lock_fd);  // releases the flock; the pid stays as a hint only
  }
  free(s->dir);
  free(s->abs_dir);
  free(s);
}
