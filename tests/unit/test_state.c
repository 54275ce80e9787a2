// test_state.c: the state database — migrations, the single-writer lock,
// intents committed before side effects, batching, runs/steps/attempts.
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smflow/state.h"
#include "smflow/util.h"
#include "state/schema.h"
#include "test.h"

static char *make_dir(void)
{
  char tmpl[] = "/tmp/smf-test-state-XXXXXX";
  char *d = mkdtemp(tmpl);
  ASSERT(d != NULL);
  return smf_xasprintf("%s/sd", d);
}

static void rm_dir(char *dir)
{
  char *parent = smf_xstrndup(dir, strlen(dir) - 3);
  char *cmd = smf_xasprintf("rm -rf '%s'", parent);
  free(parent);
  ASSERT(system(cmd) == 0);
  free(cmd);
  free(dir);
}

static int sql_int(const char *dir, const char *sql)
{
  char *path = smf_xasprintf("%s/state.db", dir);
  sqlite3 *db = NULL;
  ASSERT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
  sqlite3_stmt *st = NULL;
  ASSERT(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
  int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  free(path);
  return v;
}

static void make_run(struct state *s, const char *id)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state_run r = {.id = (char *)id,
                        .pipeline_path = (char *)"/p/pipeline.yaml",
                        .pipeline_sha256 = (char *)"abc",
                        .name = (char *)"demo",
                        .target = (char *)"local",
                        .params_json = (char *)"{\"a\":1}",
                        .options_json = (char *)"{}"};
  ASSERT_EQ(state_run_create(s, &r, &err), 0);
}

TEST(migrations_fresh_and_idempotent)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  state_close(s);
  ASSERT_EQ(sql_int(dir, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
  ASSERT_EQ(sql_int(dir,
                    "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                    "('runs','steps','attempts','events')"),
            4);
  char *path = smf_xasprintf("%s/state.db", dir);
  sqlite3 *db = NULL;
  ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
  sqlite3_stmt *st = NULL;
  ASSERT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
  ASSERT(sqlite3_step(st) == SQLITE_ROW);
  ASSERT_STREQ((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
  free(path);
  // Reopening migrates nothing and keeps data.
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  make_run(s, "r1");
  state_close(s);
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  struct state_run r;
  ASSERT_EQ(state_run_get(s, "r1", &r, &err), 0);
  ASSERT_STREQ(r.status, "running");
  ASSERT_EQ(r.exit_code, -1);
  state_run_clear(&r);
  state_close(s);
  rm_dir(dir);
}

// A new state.db: WAL from the start, no rollback journal left; closing the
// writer does not checkpoint (the WAL, synced by every commit, stays), and
// readers and the next writer see everything committed.
TEST(fresh_database_and_close_without_checkpoint)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  char *journal = smf_xasprintf("%s/state.db-journal", dir);
  char *wal = smf_xasprintf("%s/state.db-wal", dir);
  ASSERT(access(journal, F_OK) != 0);
  make_run(s, "r1");
  ASSERT_EQ(state_flush(s, &err), 0);
  state_close(s);
  struct stat st;
  ASSERT(stat(wal, &st) == 0 && st.st_size > 0);
  ASSERT_EQ(state_open(dir, STATE_OPEN_READ, &s, &err), 0);
  struct state_run r;
  ASSERT_EQ(state_run_get(s, "r1", &r, &err), 0);
  ASSERT_STREQ(r.name, "demo");
  state_run_clear(&r);
  state_close(s);
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  make_run(s, "r2");
  state_close(s);  // an open batch is committed on close
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM runs"), 2);
  ASSERT_EQ(sql_int(dir, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
  free(journal);
  free(wal);
  rm_dir(dir);
}

// Another connection (the sqlite3 shell, `smflow status`) opening and closing
// while a run writes must not take the WAL away from it: the writer keeps its
// lock on state.db (nothing of smflow opens and closes that file behind
// SQLite's back), so that connection is never the last one and neither
// checkpoints nor deletes the WAL under the writer.
TEST(other_connection_closing_during_a_run)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  make_run(s, "r1");
  ASSERT_EQ(state_flush(s, &err), 0);
  // Another process: POSIX locks are per process, and the sqlite3 shell is one.
  char *cmd = smf_xasprintf("sqlite3 '%s/state.db' 'SELECT COUNT(*) FROM runs' >/dev/null", dir);
  ASSERT_EQ(system(cmd), 0);
  ASSERT_EQ(system(cmd), 0);
  make_run(s, "r2");
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM runs"), 2);
  state_close(s);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM runs"), 2);
  free(cmd);
  rm_dir(dir);
}

TEST(migration_from_version_1)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  state_close(s);
  // Rebuild a version-1 database by hand: drop what migration 2 added.
  char *path = smf_xasprintf("%s/state.db", dir);
  sqlite3 *db = NULL;
  ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
  ASSERT(sqlite3_exec(db,
                      "DROP INDEX steps_by_id; ALTER TABLE runs DROP COLUMN options_json;"
                      "DROP TABLE model_packages; DROP TABLE model_package_groups;"
                      "DROP TABLE endpoints; DROP TABLE step_cache; DROP TABLE step_objects;"
                      "ALTER TABLE steps DROP COLUMN cached_from; PRAGMA user_version = 1;",
                      NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
  free(path);
  ASSERT_EQ(sql_int(dir, "PRAGMA user_version"), 1);
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  make_run(s, "r1");  // uses options_json: exists again
  state_close(s);
  ASSERT_EQ(sql_int(dir, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
  // A newer schema than we know is refused.
  path = smf_xasprintf("%s/state.db", dir);
  ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
  ASSERT(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
  free(path);
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), SMF_ESTATE);
  ASSERT_CONTAINS(err.message, "newer");
  rm_dir(dir);
}

// The schema as SQLite sees it: every table's columns and foreign keys, every
// index's columns, in name order (the table `skip` left out).
static char *schema_of(const char *dir, const char *skip)
{
  char *path = smf_xasprintf("%s/state.db", dir);
  sqlite3 *db = NULL;
  ASSERT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
  free(path);
  const char *sql =
      "SELECT m.type, m.name, m.tbl_name, p.cid, p.name, p.type, p.\"notnull\","
      " quote(p.dflt_value), p.pk, NULL, NULL FROM sqlite_schema m, pragma_table_info(m.name) p"
      " WHERE m.type = 'table' AND m.name <> ?1"
      " UNION ALL SELECT m.type, m.name, m.tbl_name, f.id, f.\"from\", f.\"table\", f.\"to\","
      " f.on_delete, f.seq, NULL, NULL FROM sqlite_schema m, pragma_foreign_key_list(m.name) f"
      " WHERE m.type = 'table' AND m.name <> ?1"
      " UNION ALL SELECT m.type, m.name, m.tbl_name, x.seqno, x.name, x.cid, x.\"desc\", x.coll,"
      " x.key, i.\"unique\", i.origin FROM sqlite_schema m, pragma_index_xinfo(m.name) x,"
      " pragma_index_list(m.tbl_name) i WHERE m.type = 'index' AND i.name = m.name"
      " ORDER BY 1, 2, 4, 5";
  sqlite3_stmt *st = NULL;
  ASSERT(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
  sqlite3_bind_text(st, 1, skip, -1, SQLITE_STATIC);
  struct smf_buf b = SMF_BUF_INIT;
  size_t rows = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(st); i++) {
      const char *v = (const char *)sqlite3_column_text(st, i);
      smf_buf_printf(&b, "%s|", v ? v : "-");
    }
    smf_buf_puts(&b, "\n");
    rows++;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  ASSERT(rows > 50);
  char *out = smf_xstrdup(smf_buf_cstr(&b));
  smf_buf_free(&b);
  return out;
}

// A new database gets the newest schema at once (the image generated from
// schema.c's script); an existing one at version 0 goes through every
// migration: both end with the same schema.
TEST(fresh_schema_equals_migrations)
{
  char *fresh = make_dir();
  char *old = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(fresh, STATE_OPEN_WRITE, &s, &err), 0);
  state_close(s);
  // A database of version 0 that is not empty: not new, so it is migrated.
  ASSERT_EQ(smf_mkdir_p(old, &err), 0);
  char *path = smf_xasprintf("%s/state.db", old);
  sqlite3 *db = NULL;
  ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
  ASSERT(sqlite3_exec(db, "CREATE TABLE before_smflow (x)", NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
  free(path);
  ASSERT_EQ(sql_int(old, "PRAGMA user_version"), 0);
  ASSERT_EQ(state_open(old, STATE_OPEN_WRITE, &s, &err), 0);
  state_close(s);
  ASSERT_EQ(sql_int(old, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
  ASSERT_EQ(sql_int(fresh, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
  ASSERT_EQ(sql_int(old, "SELECT COUNT(*) FROM before_smflow"), 0);
  char *a = schema_of(fresh, "before_smflow");
  char *b = schema_of(old, "before_smflow");
  ASSERT_STREQ(a, b);
  ASSERT_CONTAINS(a, "|steps|steps|12|cached_from|TEXT|");
  ASSERT_CONTAINS(a, "|runs|runs|12|options_json|TEXT|");
  free(a);
  free(b);
  rm_dir(fresh);
  rm_dir(old);
}

// A new database is the generated image: written whole before SQLite opens it
// (no schema script run), at the newest version; what a crash left beside an
// empty state.db (a WAL, a journal) is removed first, and nothing temporary
// stays behind.
TEST(new_database_from_the_image)
{
  ASSERT_EQ(state__schema_version(), STATE_SCHEMA_VERSION);
  ASSERT(state__image_size >= 4096 && state__image_size % 4096 == 0);
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_mkdir_p(dir, &err), 0);
  char *db = smf_xasprintf("%s/state.db", dir);
  char *wal = smf_xasprintf("%s/state.db-wal", dir);
  char *journal = smf_xasprintf("%s/state.db-journal", dir);
  char *tmp = smf_xasprintf("%s/state.db.new", dir);
  ASSERT_EQ(smf_file_write_atomic(db, "", 0, &err), 0);  // left empty by a crash
  ASSERT_EQ(smf_file_write_atomic(wal, "not a log", 9, &err), 0);
  ASSERT_EQ(smf_file_write_atomic(journal, "not a journal", 13, &err), 0);
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  struct stat st;
  ASSERT(stat(db, &st) == 0);
  ASSERT_EQ((size_t)st.st_size, state__image_size);
  ASSERT(access(journal, F_OK) != 0);
  ASSERT(access(tmp, F_OK) != 0);
  ASSERT(stat(wal, &st) != 0 || st.st_size != 9);
  make_run(s, "r1");
  state_close(s);
  ASSERT_EQ(sql_int(dir, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM runs"), 1);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"), 10);
  free(db);
  free(wal);
  free(journal);
  free(tmp);
  rm_dir(dir);
}

// Objects noted for a deferred sync (STATE_SYNC_CLOSE only), synced before
// state_sync returns; a noted file removed since is nothing to sync. Records
// of a step's objects are replaced as a whole and listed by run.
TEST(object_syncs_and_records)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  char *obj = smf_xasprintf("%s/obj.bin", dir);
  char *gone = smf_xasprintf("%s/gone.bin", dir);
  ASSERT_EQ(smf_file_write_atomic(obj, "abc", 3, &err), 0);
  ASSERT(!state_objects_deferred(s));
  ASSERT(!state_object_written(s, obj, dir, 3));  // commits synced: the writer syncs
  ASSERT(!state_objects_deferred(NULL));
  state_set_sync(s, STATE_SYNC_CLOSE);
  ASSERT(state_objects_deferred(s));
  ASSERT(state_object_written(s, obj, dir, 3));
  ASSERT(state_object_written(s, gone, dir, 7));
  ASSERT_EQ(state_sync(s, &err), 0);
  ASSERT(state_objects_sync_count(s) >= 2);  // obj and dir (gone: nothing)
  struct state_object *v = NULL;
  size_t n = 0;
  ASSERT_EQ(state_objects_take(s, &v, &n), 0);
  ASSERT_EQ(n, 2u);
  make_run(s, "r1");
  ASSERT_EQ(state_step_objects_put(s, "r1", "train", v, n, &err), 0);
  ASSERT_EQ(state_step_objects_put(s, "r1", "eval", v, 1, &err), 0);
  state_objects_free(v, n);
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(state_step_objects_list(s, "r1", &v, &n, &err), 0);
  ASSERT_EQ(n, 3u);
  ASSERT_STREQ(v[0].step_id, "eval");
  ASSERT_STREQ(v[1].step_id, "train");
  ASSERT_STREQ(v[1].path, gone);
  ASSERT_EQ(v[1].size, 7u);
  ASSERT_STREQ(v[2].path, obj);
  state_objects_free(v, n);
  ASSERT_EQ(state_step_objects_put(s, "r1", "train", NULL, 0, &err), 0);  // ran again: none
  ASSERT_EQ(state_step_objects_list(s, "r1", &v, &n, &err), 0);
  ASSERT_EQ(n, 1u);
  state_objects_free(v, n);
  ASSERT_EQ(state_step_objects_list(s, "r2", &v, &n, &err), 0);
  ASSERT_EQ(n, 0u);
  // A failed sync (procfs has none) fails every later durable point: nothing
  // is synced after an object that may be lost.
  ASSERT(state_object_written(s, "/proc/self/stat", "/proc/self", 1));
  ASSERT_EQ(state_sync(s, &err), SMF_EIO);
  ASSERT_CONTAINS(err.message, "cannot sync store object /proc/self/stat");
  struct smf_error again = SMF_ERROR_INIT;
  ASSERT_EQ(state_sync(s, &again), SMF_EIO);
  ASSERT_STREQ(again.message, err.message);
  state_objects_take(s, &v, &n);
  state_objects_free(v, n);
  state_close(s);
  free(obj);
  free(gone);
  rm_dir(dir);
}

TEST(single_writer_lock)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL, *s2 = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s2, &err), SMF_ELOCKED);
  ASSERT(s2 == NULL);
  char want[128];
  snprintf(want, sizeof(want), "is locked by smflow (pid %ld)", (long)getpid());
  ASSERT_CONTAINS(err.message, want);
  ASSERT_CONTAINS(err.message, dir);
  // Readers do not need the lock.
  ASSERT_EQ(state_open(dir, STATE_OPEN_READ, &s2, &err), 0);
  state_close(s2);
  state_close(s);
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s2, &err), 0);
  state_close(s2);
  rm_dir(dir);
}

TEST(read_mode_without_database)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_READ, &s, &err), SMF_ENOENT);
  ASSERT(s == NULL);
  rm_dir(dir);
}

TEST(intent_is_durable_at_once_and_batches_flush_together)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  make_run(s, "r1");
  ASSERT_EQ(state_flush(s, &err), 0);
  uint64_t c0 = state_commit_count(s);
  for (int i = 0; i < 100; i++) {
    ASSERT_EQ(state_event_add(s, "r1", "a", "log", NULL, &err), 0);
  }
  // Not visible to another connection before the flush.
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM events"), 0);
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(state_commit_count(s), c0 + 1);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM events"), 100);
  // An intent flushes the batch written before it and itself.
  struct state_step st = {.run_id = (char *)"r1",
                          .id = (char *)"a",
                          .kind = (char *)"run",
                          .state = (char *)"running",
                          .attempts = 1};
  ASSERT_EQ(state_step_put(s, &st, &err), 0);
  ASSERT_EQ(state_attempt_intent(s, "r1", "a", 1, "{\"pid\":1}", &err), 0);
  ASSERT_EQ(sql_int(dir, "SELECT attempts FROM steps WHERE id = 'a'"), 1);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM attempts WHERE result IS NULL"), 1);
  ASSERT_EQ(state_attempt_result(s, "r1", "a", 1, "succeeded", "{}", &err), 0);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM attempts WHERE result IS NULL"), 1);
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM attempts WHERE result = 'succeeded'"), 1);
  int64_t n = 0;
  ASSERT_EQ(state_event_count(s, "r1", &n, &err), 0);
  ASSERT_EQ(n, 100);
  state_close(s);
  rm_dir(dir);
}

// STATE_SYNC_COMMIT syncs every commit; STATE_SYNC_CLOSE writes commits to the
// WAL only and syncs at state_sync/state_close; a writer killed before it
// synced loses nothing it committed.
TEST(sync_modes_and_a_killed_writer)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    if (state_open(dir, STATE_OPEN_WRITE, &s, &err) != 0) {
      _exit(3);
    }
    state_set_sync(s, STATE_SYNC_CLOSE);
    make_run(s, "r1");
    struct state_step st = {.run_id = (char *)"r1",
                            .id = (char *)"a",
                            .kind = (char *)"fit",
                            .state = (char *)"running",
                            .attempts = 1};
    if (state_step_put(s, &st, &err) != 0 ||
        state_attempt_intent(s, "r1", "a", 1, "{\"pid\":1}", &err) != 0 ||
        state_commit_count(s) != 1 || state_sync_count(s) != 0) {
      _exit(4);
    }
    kill(getpid(), SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT(waitpid(pid, &status, 0) == pid);
  ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM attempts WHERE intent_json = '{\"pid\":1}'"), 1);

  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  state_set_sync(s, STATE_SYNC_CLOSE);
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(state_event_add(s, "r1", "a", "log", NULL, &err), 0);
    ASSERT_EQ(state_flush(s, &err), 0);
  }
  ASSERT_EQ(state_sync_count(s), 0);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM events"), 5);
  ASSERT_EQ(state_sync(s, &err), 0);
  uint64_t synced = state_sync_count(s);
  ASSERT(synced >= 1);
  ASSERT_EQ(state_sync(s, &err), 0);  // nothing new: no sync
  ASSERT_EQ(state_sync_count(s), synced);
  state_set_sync(s, STATE_SYNC_COMMIT);
  ASSERT_EQ(state_event_add(s, "r1", "a", "log", NULL, &err), 0);
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(state_sync_count(s), synced + 1);
  state_close(s);
  rm_dir(dir);
}

// The objsync thread's count once it reached n (its sync of the log is not
// waited for by state_sync), or after a second.
static uint64_t objects_synced(struct state *s, uint64_t n)
{
  for (int i = 0; i < 1000 && state_objects_sync_count(s) < n; i++) {
    usleep(1000);
  }
  return state_objects_sync_count(s);
}

// A new database synced only at its end has its header (and the directory
// entries) synced early by the objsync thread, and the WAL after each commit,
// with no durable point asked for: the end then syncs the WAL alone, what the
// last commit wrote (a sync of the log still queued then is taken back). In
// STATE_SYNC_COMMIT the first commit syncs the header itself, as before.
TEST(new_database_header_synced_early)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  state_set_sync(s, STATE_SYNC_CLOSE);
  make_run(s, "r1");
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(objects_synced(s, 3), 3);             // state.db's header, its directory, the WAL
  ASSERT_EQ(state_sync_count(s), 0);
  ASSERT_EQ(state_sync(s, &err), 0);
  ASSERT_EQ(state_sync_count(s), 1);              // the WAL only
  ASSERT_EQ(state_event_add(s, "r1", "a", "log", NULL, &err), 0);
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(objects_synced(s, 4), 4);             // the header once per database; the WAL again
  ASSERT_EQ(state_sync(s, &err), 0);
  ASSERT_EQ(state_sync_count(s), 2);
  ASSERT_EQ(state_event_add(s, "r1", "a", "log", NULL, &err), 0);
  ASSERT_EQ(state_sync(s, &err), 0);              // commits, and syncs the log itself
  ASSERT_EQ(state_sync_count(s), 3);
  usleep(50000);
  ASSERT_EQ(state_objects_sync_count(s), 4);      // no log sync queued by that commit
  state_close(s);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM events"), 2);
  rm_dir(dir);

  dir = make_dir();
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  make_run(s, "r1");
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(state_sync_count(s), 2);              // header, then the WAL
  ASSERT_EQ(state_objects_sync_count(s), 0);
  state_close(s);
  rm_dir(dir);
}

// The writer leaves checkpoints to its durable points: a WAL past
// STATE_CHECKPOINT_FRAMES pages is copied into state.db at the next sync, not
// before (a checkpoint must sync state.db before the WAL is reused).
TEST(checkpoint_at_a_durable_point)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  state_set_sync(s, STATE_SYNC_CLOSE);
  make_run(s, "r1");
  char big[2048];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  for (int i = 0; i < 1500; i++) {  // ~1 page each: past the threshold
    ASSERT_EQ(state_event_add(s, "r1", "a", "log", big, &err), 0);
    ASSERT_EQ(state_flush(s, &err), 0);
  }
  char *db = smf_xasprintf("%s/state.db", dir);
  struct stat st;
  ASSERT(stat(db, &st) == 0);
  ASSERT_EQ((size_t)st.st_size, state__image_size);  // nothing copied yet: no checkpoint between syncs
  ASSERT_EQ(state_sync_count(s), 0);
  ASSERT_EQ(state_sync(s, &err), 0);
  ASSERT(stat(db, &st) == 0);
  ASSERT(st.st_size > 1024 * 1024);  // the events are in state.db now
  ASSERT(state_sync_count(s) >= 3);  // header, WAL, then the checkpoint's own syncs
  state_close(s);
  ASSERT_EQ(sql_int(dir, "SELECT COUNT(*) FROM events"), 1500);
  free(db);
  rm_dir(dir);
}

TEST(runs_steps_attempts_roundtrip)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  make_run(s, "20260101-000000-aaaa");
  make_run(s, "20260101-000001-bbbb");
  ASSERT_EQ(state_run_set_status(s, "20260101-000001-bbbb", "succeeded", 0, &err), 0);
  ASSERT_EQ(state_run_set_vars(s, "20260101-000000-aaaa", "{\"v\":\"x\"}", &err), 0);
  struct state_run r;
  ASSERT_EQ(state_run_latest_unfinished(s, &r, &err), 0);
  ASSERT_STREQ(r.id, "20260101-000000-aaaa");
  ASSERT_STREQ(r.vars_json, "{\"v\":\"x\"}");
  ASSERT_STREQ(r.params_json, "{\"a\":1}");
  state_run_clear(&r);
  struct state_run *runs;
  size_t n;
  ASSERT_EQ(state_runs_list(s, &runs, &n, &err), 0);
  ASSERT_EQ(n, 2);
  ASSERT_STREQ(runs[1].status, "running");
  ASSERT(runs[0].finished_ms > 0 || runs[1].finished_ms > 0);
  state_runs_free(runs, n);
  ASSERT_EQ(state_run_get(s, "nope", &r, &err), SMF_ENOENT);

  struct state_step st = {.run_id = (char *)"20260101-000001-bbbb",
                          .id = (char *)"b",
                          .kind = (char *)"run",
                          .state = (char *)"succeeded",
                          .attempts = 2,
                          .outputs_json = (char *)"{\"k\":\"v\"}",
                          .seq = 1};
  ASSERT_EQ(state_step_put(s, &st, &err), 0);
  st.id = (char *)"a";
  st.seq = 2;
  st.state = (char *)"failed";
  st.error_class = (char *)"AlgorithmError";
  ASSERT_EQ(state_step_put(s, &st, &err), 0);
  st.state = (char *)"succeeded";  // an update keeps its position
  ASSERT_EQ(state_step_put(s, &st, &err), 0);
  struct state_step *steps;
  ASSERT_EQ(state_steps_list(s, "20260101-000001-bbbb", &steps, &n, &err), 0);
  ASSERT_EQ(n, 2);
  ASSERT_STREQ(steps[0].id, "b");
  ASSERT_STREQ(steps[1].id, "a");
  ASSERT_STREQ(steps[1].state, "succeeded");
  ASSERT_EQ(steps[0].attempts, 2);
  state_steps_free(steps, n);
  char *out = NULL;
  ASSERT_EQ(state_step_last_outputs(s, "demo", "b", &out, &err), 0);
  ASSERT_STREQ(out, "{\"k\":\"v\"}");
  free(out);
  ASSERT_EQ(state_step_last_outputs(s, "demo", "zzz", &out, &err), SMF_ENOENT);

  ASSERT_EQ(state_attempt_intent(s, "r", "a", 1, "{\"n\":1}", &err), 0);
  ASSERT_EQ(state_attempt_intent(s, "r", "a", 2, "{\"n\":2}", &err), 0);
  ASSERT_EQ(state_attempt_result(s, "r", "a", 1, "failed", NULL, &err), 0);
  struct state_attempt *att;
  ASSERT_EQ(state_attempts_list(s, "r", "a", &att, &n, &err), 0);
  ASSERT_EQ(n, 2);
  ASSERT_STREQ(att[0].result, "failed");
  ASSERT(att[1].result == NULL);
  ASSERT_STREQ(att[1].intent_json, "{\"n\":2}");
  state_attempts_free(att, n);
  state_close(s);
  rm_dir(dir);
}

TEST(step_cache_and_lock_holder)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  long pid = -1;
  ASSERT_EQ(state_lock_holder(dir, &pid, &err), 0);  // no lock file yet
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  ASSERT_EQ(state_lock_holder(dir, &pid, &err), 1);
  ASSERT_EQ(pid, (long)getpid());
  make_run(s, "r1");
  struct state_cache_entry e;
  ASSERT_EQ(state_cache_lookup(s, "k1", 0, &e, &err), SMF_ENOENT);
  ASSERT_EQ(state_cache_put(s, "k1", "r1", "train", 2, "{\"a\":1}", &err), 0);
  ASSERT_EQ(state_flush(s, &err), 0);
  ASSERT_EQ(state_cache_lookup(s, "k1", 0, &e, &err), 0);
  ASSERT_STREQ(e.run_id, "r1");
  ASSERT_STREQ(e.step_id, "train");
  ASSERT_EQ(e.attempt, 2);
  ASSERT_STREQ(e.outputs_json, "{\"a\":1}");
  int64_t created = e.created_ms;
  state_cache_entry_clear(&e);
  // Too old for the caller's bound: a miss.
  ASSERT_EQ(state_cache_lookup(s, "k1", created + 1, &e, &err), SMF_ENOENT);
  ASSERT_EQ(state_cache_lookup(s, "k2", 0, &e, &err), SMF_ENOENT);
  struct state_step row = {.run_id = (char *)"r1",
                           .id = (char *)"train",
                           .kind = (char *)"run",
                           .state = (char *)"succeeded"};
  ASSERT_EQ(state_step_put(s, &row, &err), 0);
  ASSERT_EQ(state_step_set_cached_from(s, "r1", "train", "r0/train/1", &err), 0);
  state_close(s);
  ASSERT_EQ(state_lock_holder(dir, &pid, &err), 0);
  ASSERT_EQ(state_open(dir, STATE_OPEN_READ, &s, &err), 0);
  struct state_step *steps = NULL;
  size_t n = 0;
  ASSERT_EQ(state_steps_list(s, "r1", &steps, &n, &err), 0);
  ASSERT_EQ(n, 1);
  ASSERT_STREQ(steps[0].cached_from, "r0/train/1");
  state_steps_free(steps, n);
  ASSERT_EQ(state_cache_lookup(s, "k1", 0, &e, &err), 0);  // read-only lookup (plan)
  state_cache_entry_clear(&e);
  state_close(s);
  rm_dir(dir);
}

int main(void)
{
  RUN_TEST(migrations_fresh_and_idempotent);
  RUN_TEST(fresh_database_and_close_without_checkpoint);
  RUN_TEST(other_connection_closing_during_a_run);
  RUN_TEST(migration_from_version_1);
  RUN_TEST(fresh_schema_equals_migrations);
  RUN_TEST(new_database_from_the_image);
  RUN_TEST(object_syncs_and_records);
  RUN_TEST(single_writer_lock);
  RUN_TEST(read_mode_without_database);
  RUN_TEST(intent_is_durable_at_once_and_batches_flush_together);
  RUN_TEST(sync_modes_and_a_killed_writer);
  RUN_TEST(new_database_header_synced_early);
  RUN_TEST(checkpoint_at_a_durable_point);
  RUN_TEST(runs_steps_attempts_roundtrip);
  RUN_TEST(step_cache_and_lock_holder);
  return TEST_REPORT();
}
