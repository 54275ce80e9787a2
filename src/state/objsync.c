// objsync.c: store objects whose syncs a run leaves to the state database
// (STATE_SYNC_CLOSE), and the records that let resume check them.
//
// A local run's store renames an object into place without syncing it and
// notes it here (state_object_written, from any thread). A thread of this
// module syncs each noted file and then its directory at once, off the loop;
// state_sync waits for every noted sync before it syncs the write-ahead log,
// so that a run that ends cleanly has its objects on disk before its end.
// The engine takes the noted objects (state_objects_take) to record them with
// the result of the step that wrote them (state_step_objects_put): commits are
// not synced in this mode, and the kernel may write the WAL before an object,
// so resume checks the records (state_step_objects_list + stat).
//
// The same thread syncs the write-ahead log after commits (state__objsync_queue_wal),
// each batch's objects and their directories first, so that the sync at the
// run's end finds little of the log left to write: one queued log sync at a
// time, which covers every commit made before it starts.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smflow/util.h"
#include "state/state_int.h"

/// How long a sync of the log alone waits for more work (objsync__wal_delay).
#define OBJSYNC_WAL_DELAY_MS 2

struct objsync_node {
  struct objsync_node *next;
  char *path;  ///< the object's file
  char *dir;   ///< the directory holding its entry; NULL: none to sync (the log)
  int fd;      ///< >= 0: sync this descriptor instead of opening path (left open)
  bool wal;    ///< the write-ahead log: synced after the batch's objects and directories
  uint64_t size;
};

struct state_objsync {
  pthread_mutex_t mu;
  pthread_cond_t work_cv;  ///< the worker: something to sync, or stop
  pthread_cond_t idle_cv;  ///< waiters: no object queued or being synced (the log's sync aside)
  pthread_t thread;
  bool started, stop, busy;
  bool defer;  ///< STATE_SYNC_CLOSE on a writer
  bool wal_queued;  ///< a log sync is queued and not started: it covers later commits too
  size_t queued_objects;  ///< nodes queued other than the log's
  struct objsync_node *queue, **queue_tail;  ///< to sync (worker)
  struct objsync_node *taken, **taken_tail;  ///< to record (state_objects_take)
  int rc;  ///< first failure: every later durable point fails with it
  int reports;  ///< how many times it was returned
  char msg[1024];
  uint64_t synced;  ///< fsync calls made
};

static void objsync__node_free(struct objsync_node *n)
{
  free(n->path);
  free(n->dir);
  free(n);
}

// fsync PATH (a file or, with dir, a directory). A path gone since it was noted
// (replaced or removed) has nothing left to sync.
static int objsync__fsync(const char *path, bool dir, uint64_t *count, char *msg, size_t cap)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
  if (fd < 0) {
    if (errno == ENOENT) {
      return 0;
    }
    snprintf(msg, cap, "cannot sync store object %s: %s", path, strerror(errno));
    return SMF_EIO;
  }
  int r = fsync(fd);
  int e = errno;
  close(fd);
  (*count)++;
  if (r != 0) {
    snprintf(msg, cap, "cannot sync store %s %s: %s", dir ? "directory" : "object", path,
             strerror(e));
    return SMF_EIO;
  }
  return 0;
}

// A descriptor the state module keeps open (a new state.db's header).
static int objsync__fdatasync(const struct objsync_node *n, uint64_t *count, char *msg, size_t cap)
{
  (*count)++;
  if (fdatasync(n->fd) != 0) {
    snprintf(msg, cap, "cannot sync %s: %s", n->path, strerror(errno));
    return SMF_EIO;
  }
  return 0;
}

// Every file of the batch, then each of their directories once. msg: the
// first failure.
static int objsync__batch(struct objsync_node *batch, uint64_t *count, char *msg, size_t cap)
{
  int rc = 0;
  char other[1024];
  for (struct objsync_node *n = batch; n; n = n->next) {
    if (n->wal) {
      continue;  // after them (objsync__wal)
    }
    int r = n->fd >= 0 ? objsync__fdatasync(n, count, rc ? other : msg, rc ? sizeof(other) : cap)
                       : objsync__fsync(n->path, false, count, rc ? other : msg,
                                        rc ? sizeof(other) : cap);
    rc = rc ? rc : r;
  }
  for (struct objsync_node *n = batch; n; n = n->next) {
    bool seen = n->dir == NULL;
    for (struct objsync_node *k = batch; k != n && !seen; k = k->next) {
      seen = k->dir != NULL && strcmp(k->dir, n->dir) == 0;
    }
    if (!seen) {
      int r = objsync__fsync(n->dir, true, count, rc ? other : msg, rc ? sizeof(other) : cap);
      rc = rc ? rc : r;
    }
  }
  return rc;
}

// The log's sync of the batch, if it has one (at most one: see wal_queued).
static int objsync__wal(struct objsync_node *batch, uint64_t *count, char *msg, size_t cap)
{
  for (struct objsync_node *n = batch; n; n = n->next) {
    if (n->wal) {
      return objsync__fdatasync(n, count, msg, cap);
    }
  }
  return 0;
}

// A phase of a batch is over: its count and first failure (sticky) recorded.
static void objsync__record(struct state_objsync *o, uint64_t count, int rc, const char *msg)
{
  o->synced += count;
  if (rc != 0 && o->rc == 0) {
    o->rc = rc;
    snprintf(o->msg, sizeof(o->msg), "%s", msg);
  }
}

// With o->mu held: a queue holding only a sync of the log waits up to
// OBJSYNC_WAL_DELAY_MS for more (commits in a burst share one sync; a durable
// point coming meanwhile takes it back and syncs the log itself).
static void objsync__wal_delay(struct state_objsync *o)
{
  if (o->queue == NULL || o->queued_objects > 0 || o->stop) {
    return;
  }
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += OBJSYNC_WAL_DELAY_MS * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while (o->queue != NULL && o->queued_objects == 0 && !o->stop &&
         pthread_cond_timedwait(&o->work_cv, &o->mu, &until) == 0) {
  }
}

static void *objsync__main(void *arg)
{
  struct state_objsync *o = arg;
  pthread_mutex_lock(&o->mu);
  for (;;) {
    while (o->queue == NULL && !o->stop) {
      pthread_cond_wait(&o->work_cv, &o->mu);
    }
    objsync__wal_delay(o);
    if (o->queue == NULL) {
      if (o->stop) {
        break;  // stopping, and everything is synced
      }
      continue;  // a durable point took the log's sync back
    }
    struct objsync_node *batch = o->queue;
    o->queue = NULL;
    o->queue_tail = &o->queue;
    o->wal_queued = false;  // the log sync taken now covers every commit made so far
    o->queued_objects = 0;
    o->busy = true;
    pthread_mutex_unlock(&o->mu);
    char msg[1024] = "";
    uint64_t count = 0;
    int rc = objsync__batch(batch, &count, msg, sizeof(msg));
    pthread_mutex_lock(&o->mu);
    objsync__record(o, count, rc, msg);
    o->busy = false;  // state__objsync_wait need not wait for the log's sync
    pthread_cond_broadcast(&o->idle_cv);
    pthread_mutex_unlock(&o->mu);
    count = 0;
    rc = objsync__wal(batch, &count, msg, sizeof(msg));
    while (batch) {
      struct objsync_node *next = batch->next;
      objsync__node_free(batch);
      batch = next;
    }
    pthread_mutex_lock(&o->mu);
    objsync__record(o, count, rc, msg);
  }
  pthread_mutex_unlock(&o->mu);
  return NULL;
}

void state__objsync_new(struct state *s)
{
  struct state_objsync *o = smf_xcalloc(1, sizeof(*o));
  pthread_mutex_init(&o->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&o->work_cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&o->idle_cv, NULL);
  o->queue_tail = &o->queue;
  o->taken_tail = &o->taken;
  s->objs = o;
}

void state__objsync_free(struct state *s)
{
  struct state_objsync *o = s->objs;
  if (o == NULL) {
    return;
  }
  pthread_mutex_lock(&o->mu);
  o->stop = true;
  pthread_cond_signal(&o->work_cv);
  pthread_mutex_unlock(&o->mu);
  if (o->started) {
    pthread_join(o->thread, NULL);  // it syncs what is queued before it stops
  }
  for (struct objsync_node *n = o->taken; n;) {
    struct objsync_node *next = n->next;
    objsync__node_free(n);
    n = next;
  }
  pthread_cond_destroy(&o->idle_cv);
  pthread_cond_destroy(&o->work_cv);
  pthread_mutex_destroy(&o->mu);
  free(o);
  s->objs = NULL;
}

void state__objsync_mode(struct state *s)
{
  struct state_objsync *o = s->objs;
  if (o != NULL) {
    pthread_mutex_lock(&o->mu);
    o->defer = s->explicit_sync && s->sync_mode == STATE_SYNC_CLOSE;
    pthread_mutex_unlock(&o->mu);
  }
}

int state__objsync_wait(struct state *s, struct smf_error *err)
{
  struct state_objsync *o = s->objs;
  if (o == NULL) {
    return 0;
  }
  pthread_mutex_lock(&o->mu);
  // Not for a sync of the log: the caller syncs it next anyway.
  while (o->queued_objects > 0 || o->busy) {
    pthread_cond_wait(&o->idle_cv, &o->mu);
  }
  // Sticky: the database is not synced after an object that may be lost (a
  // power loss then leaves the run unfinished, and resume checks its objects).
  int rc = o->rc;
  if (rc != 0) {
    SMF_ERR_SET(err, rc, "%s", o->msg);
    o->reports++;
  }
  pthread_mutex_unlock(&o->mu);
  return rc;
}

bool state__objsync_reported(struct state *s)
{
  struct state_objsync *o = s->objs;
  if (o == NULL) {
    return false;
  }
  pthread_mutex_lock(&o->mu);
  bool again = o->rc != 0 && o->reports > 1;
  pthread_mutex_unlock(&o->mu);
  return again;
}

bool state_objects_deferred(struct state *s)
{
  struct state_objsync *o = s ? s->objs : NULL;
  if (o == NULL) {
    return false;
  }
  pthread_mutex_lock(&o->mu);
  bool defer = o->defer;
  pthread_mutex_unlock(&o->mu);
  return defer;
}

static struct objsync_node *objsync__node(const char *path, const char *dir, uint64_t size)
{
  struct objsync_node *n = smf_xcalloc(1, sizeof(*n));
  n->path = smf_xstrdup(path);
  n->dir = dir ? smf_xstrdup(dir) : NULL;
  n->size = size;
  n->fd = -1;
  return n;
}

// Queue q to sync (and t, if given, to record): false, with both freed, when
// syncs are not deferred (the caller syncs or needs nothing).
static bool objsync__enqueue(struct state_objsync *o, struct objsync_node *q,
                             struct objsync_node *t)
{
  pthread_mutex_lock(&o->mu);
  bool defer = o->defer && !o->stop;
  if (defer && !o->started) {
    o->started = pthread_create(&o->thread, NULL, objsync__main, o) == 0;
    defer = o->started;
  }
  bool covered = defer && q->wal && o->wal_queued;  // one not started covers this commit too
  if (defer && !covered) {
    o->wal_queued = o->wal_queued || q->wal;
    o->queued_objects += q->wal ? 0 : 1;
    *o->queue_tail = q;
    o->queue_tail = &q->next;
    if (t != NULL) {
      *o->taken_tail = t;
      o->taken_tail = &t->next;
    }
    pthread_cond_signal(&o->work_cv);
  }
  pthread_mutex_unlock(&o->mu);
  if (!defer || covered) {
    objsync__node_free(q);
    if (t != NULL) {
      objsync__node_free(t);
    }
  }
  return defer;
}

bool state_object_written(struct state *s, const char *path, const char *dir, uint64_t size)
{
  struct state_objsync *o = s ? s->objs : NULL;
  if (o == NULL) {
    return false;
  }
  return objsync__enqueue(o, objsync__node(path, dir, size), objsync__node(path, dir, size));
}

int state_objects_take(struct state *s, struct state_object **out, size_t *n)
{
  *out = NULL;
  *n = 0;
  struct state_objsync *o = s ? s->objs : NULL;
  if (o == NULL) {
    return 0;
  }
  pthread_mutex_lock(&o->mu);
  struct objsync_node *list = o->taken;
  o->taken = NULL;
  o->taken_tail = &o->taken;
  pthread_mutex_unlock(&o->mu);
  size_t cnt = 0;
  for (struct objsync_node *k = list; k; k = k->next) {
    cnt++;
  }
  struct state_object *v = cnt ? smf_xcalloc(cnt, sizeof(*v)) : NULL;
  for (size_t i = 0; list; i++) {
    struct objsync_node *next = list->next;
    v[i].path = list->path;
    v[i].size = list->size;
    list->path = NULL;
    objsync__node_free(list);
    list = next;
  }
  *out = v;
  *n = cnt;
  return 0;
}

uint64_t state_objects_sync_count(struct state *s)
{
  struct state_objsync *o = s ? s->objs : NULL;
  if (o == NULL) {
    return 0;
  }
  pthread_mutex_lock(&o->mu);
  uint64_t n = o->synced;
  pthread_mutex_unlock(&o->mu);
  return n;
}

void state_objects_free(struct state_object *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(v[i].step_id);
    free(v[i].path);
  }
  free(v);
}

// ---- the records ----

int state_step_objects_put(struct state *s, const char *run_id, const char *step_id,
                           const struct state_object *v, size_t n, struct smf_error *err)
{
  int rc = state__begin(s, err);
  sqlite3_stmt *st = rc == 0 ? state__stmt(s, ST_OBJECTS_DELETE, err) : NULL;
  if (st == NULL) {
    return rc ? rc : err->code;
  }
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, step_id, -1, SQLITE_STATIC);
  if ((rc = state__exec_write(s, st, "forget step objects", err)) != 0) {
    return rc;
  }
  for (size_t i = 0; i < n; i++) {
    if ((st = state__stmt(s, ST_OBJECTS_INSERT, err)) == NULL) {
      return err->code;
    }
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, step_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, v[i].path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)v[i].size);
    if ((rc = state__exec_write(s, st, "record step objects", err)) != 0) {
      return rc;
    }
  }
  return 0;
}

int state_step_objects_list(struct state *s, const char *run_id, struct state_object **out,
                            size_t *n, struct smf_error *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = state__stmt(s, ST_OBJECTS_LIST, err);
  if (st == NULL) {
    return err->code;
  }
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
  size_t cap = 0;
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 8;
      *out = smf_xrealloc(*out, cap * sizeof(**out));
    }
    struct state_object *o = &(*out)[(*n)++];
    o->step_id = smf_xstrdup((const char *)sqlite3_column_text(st, 0));
    o->path = smf_xstrdup((const char *)sqlite3_column_text(st, 1));
    o->size = (uint64_t)sqlite3_column_int64(st, 2);
  }
  sqlite3_reset(st);
  if (r != SQLITE_DONE) {
    state_objects_free(*out, *n);
    *out = NULL;
    *n = 0;
    return state__fail(s, "list step objects", err);
  }
  return 0;
}

bool state__objsync_queue_fd(struct state *s, int fd, const char *dir)
{
  struct state_objsync *o = s->objs;
  if (o == NULL) {
    return false;
  }
  char *path = smf_xasprintf("%s/state.db", dir);
  struct objsync_node *q = objsync__node(path, dir, 0);
  free(path);
  q->fd = fd;
  return objsync__enqueue(o, q, NULL);
}

bool state__objsync_queue_wal(struct state *s, int fd)
{
  struct state_objsync *o = s->objs;
  if (o == NULL) {
    return false;
  }
  char *path = smf_xasprintf("%s/state.db-wal", s->dir);
  struct objsync_node *q = objsync__node(path, NULL, 0);
  free(path);
  q->fd = fd;
  q->wal = true;
  return objsync__enqueue(o, q, NULL);
}

void state__objsync_unqueue_wal(struct state *s)
{
  struct state_objsync *o = s->objs;
  if (o == NULL) {
    return;
  }
  pthread_mutex_lock(&o->mu);
  struct objsync_node **pp = &o->queue, *drop = NULL;
  while (*pp) {
    struct objsync_node *n = *pp;
    if (n->wal) {
      *pp = n->next;
      n->next = drop;
      drop = n;
    } else {
      pp = &n->next;
    }
  }
  o->queue_tail = pp;
  o->wal_queued = false;
  pthread_mutex_unlock(&o->mu);
  while (drop) {
    struct objsync_node *next = drop->next;
    objsync__node_free(drop);
    drop = next;
  }
}
