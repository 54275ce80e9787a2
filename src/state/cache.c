// cache.c: the step cache table (results reusable across runs of one state
// directory, SPEC §6) and a look at the single-writer lock from outside.
//
// These statements run rarely (once per cached step), so they are prepared per
// call instead of joining the connection's statement cache.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "smflow/util.h"
#include "state/state_int.h"

static int state__prepare(struct state *s, const char *sql, sqlite3_stmt **st,
                          struct smf_error *err)
{
  if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
    *st = NULL;
    return state__fail(s, "prepare", err);
  }
  return 0;
}

static int state__write_done(struct state *s, sqlite3_stmt *st, const char *what,
                             struct smf_error *err)
{
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : state__fail(s, what, err);
}

int state_cache_put(struct state *s, const char *key, const char *run_id, const char *step_id,
                    int attempt, const char *outputs_json, struct smf_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc = state__begin(s, err);
  if (rc != 0 || (rc = state__prepare(s,
                                      "INSERT OR REPLACE INTO step_cache (key, run_id, step_id,"
                                      " attempt, outputs_json, created_at) VALUES (?,?,?,?,?,?)",
                                      &st, err)) != 0) {
    return rc;
  }
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, run_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, step_id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 4, attempt);
  sqlite3_bind_text(st, 5, outputs_json ? outputs_json : "{}", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, smf_time_now_ms());
  return state__write_done(s, st, "insert cache entry", err);
}

static char *state__dup_col(sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text(st, i);
  return smf_xstrdup(t ? (const char *)t : "");
}

int state_cache_lookup(struct state *s, const char *key, int64_t min_created_ms,
                       struct state_cache_entry *out, struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT run_id, step_id, attempt, outputs_json, created_at FROM step_cache"
                         " WHERE key = ? AND created_at >= ? ORDER BY created_at DESC LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK) {
    if (s->readonly) {
      // A database written by an smflow without the cache: nothing cached yet.
      return SMF_ERR_SET(err, SMF_ENOENT, "no step cache in %s", s->dir);
    }
    return state__fail(s, "prepare", err);
  }
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, min_created_ms);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    out->run_id = state__dup_col(st, 0);
    out->step_id = state__dup_col(st, 1);
    out->attempt = sqlite3_column_int(st, 2);
    out->outputs_json = state__dup_col(st, 3);
    out->created_ms = sqlite3_column_int64(st, 4);
    sqlite3_finalize(st);
    return 0;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE) {
    return SMF_ERR_SET(err, SMF_ENOENT, "no cache entry for %.12s", key);
  }
  return state__fail(s, "look up cache entry", err);
}

void state_cache_entry_clear(struct state_cache_entry *e)
{
  free(e->run_id);
  free(e->step_id);
  free(e->outputs_json);
  memset(e, 0, sizeof(*e));
}

int state_step_set_cached_from(struct state *s, const char *run_id, const char *step_id,
                               const char *from, struct smf_error *err)
{
  sqlite3_stmt *st = NULL;
  int rc = state__begin(s, err);
  if (rc != 0 ||
      (rc = state__prepare(s, "UPDATE steps SET cached_from = ?3 WHERE run_id = ?1 AND id = ?2",
                           &st, err)) != 0) {
    return rc;
  }
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, step_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
  return state__write_done(s, st, "record cached step", err);
}

int state_event_latest_run(struct state *s, char **run_id, struct smf_error *err)
{
  *run_id = NULL;
  sqlite3_stmt *st = NULL;
  int rc = state__prepare(s, "SELECT run_id FROM events ORDER BY seq DESC LIMIT 1", &st, err);
  if (rc != 0) {
    return rc;
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *run_id = state__dup_col(st, 0);
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW) {
    return 0;
  }
  return rc == SQLITE_DONE ? SMF_ERR_SET(err, SMF_ENOENT, "no events")
                           : state__fail(s, "newest event", err);
}

int state_step_budget_failures(struct state *s, const char *run_id, const char *step_id, int *n,
                               struct smf_error *err)
{
  *n = 0;
  sqlite3_stmt *st = NULL;
  int rc = state__prepare(s,
                          "SELECT COUNT(*) FROM attempts WHERE run_id = ?1 AND step_id = ?2 "
                          "AND result = 'failed' AND attempt > COALESCE((SELECT "
                          "MAX(json_extract(detail_json, '$.attempt')) FROM events "
                          "WHERE run_id = ?1 AND step_id = ?2 AND type = 'state' "
                          "AND json_extract(detail_json, '$.to') = 'failed'), 0)",
                          &st, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, step_id, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *n = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : state__fail(s, "count failed attempts", err);
}

int state_lock_holder(const char *dir, long *pid, struct smf_error *err)
{
  *pid = 0;
  char *path = smf_xasprintf("%s/lock", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0) {
    return errno == ENOENT ? 0 : SMF_ERR_SET(err, SMF_EIO, "%s/lock: %s", dir, strerror(errno));
  }
  // A shared lock succeeds only when no writer holds the exclusive one; it is
  // dropped at once, so a writer starting now is never kept out for long.
  int held = 0;
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    held = 1;
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    *pid = n > 0 ? strtol(buf, NULL, 10) : 0;
  } else {
    flock(fd, LOCK_UN);
  }
  close(fd);
  return held;
}

int state_lock_peek(const char *dir, long *pid)
{
  *pid = 0;
  char *path = smf_xasprintf("%s/lock", dir);
  struct stat sb;
  int st = stat(path, &sb);
  free(path);
  if (st != 0) {
    return errno == ENOENT ? 0 : SMF_EIO;
  }
  FILE *f = fopen("/proc/locks", "re");
  if (f == NULL) {
    return SMF_EUNSUPPORTED;
  }
  // "N: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE START END" (major and minor in
  // hex); lines with "->" are waiters, not holders.
  char line[256];
  int held = 0;
  while (held == 0 && fgets(line, sizeof(line), f) != NULL) {
    char type[16];
    long p = 0;
    unsigned maj = 0, min = 0;
    unsigned long ino = 0;
    if (strstr(line, "->") == NULL &&
        sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", type, &p, &maj, &min, &ino) == 5 &&
        strcmp(type, "FLOCK") == 0 && ino == (unsigned long)sb.st_ino &&
        maj == major(sb.st_dev) && min == minor(sb.st_dev)) {
      held = 1;
      *pid = p;
    }
  }
  fclose(f);
  return held;
}
