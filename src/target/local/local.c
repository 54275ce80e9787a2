// local.c: the embedded `local` target: the vtable, and the store operations
// run on the uv thread pool over store.c.
#include "target/local/local.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct local_impl {
  struct local_store store;
  struct local_server *servers;  // model servers started by this process (hosting.c)
};

struct local_server **local_impl_servers(struct target *t)
{
  return &((struct local_impl *)t->impl)->servers;
}

const struct local_store *local_impl_store(const struct target *t)
{
  return &((const struct local_impl *)t->impl)->store;
}

const char *local_share_dir(const struct target *t)
{
  return smf_share_dir(t->share_dir, "model_server.py");
}

// ---------------------------------------------------------------------------
// Store operations.

enum store_op { ST_PUT_FILE, ST_PUT_MOVE, ST_PUT_BYTES, ST_GET_FILE, ST_HEAD, ST_COPY, ST_LIST };

struct store_req {
  uv_work_t work;
  struct target *t;
  enum store_op op;
  char *a, *b;  // uris / paths by op
  void *bytes;
  size_t len;
  target_done_cb done_cb;
  target_head_cb head_cb;
  target_list_cb list_cb;
  void *data;
  int rc;
  struct smf_error err;
  struct local_store_stat st;
  struct local_store_listing listing;
};

static void store_work(uv_work_t *w)
{
  struct store_req *r = w->data;
  const struct local_store *st = local_impl_store(r->t);
  switch (r->op) {
  case ST_PUT_FILE:
    r->rc = local_store_put_file(st, r->a, r->b, &r->err);
    break;
  case ST_PUT_MOVE:
    r->rc = local_store_put_move(st, r->a, r->b, &r->err);
    break;
  case ST_PUT_BYTES:
    r->rc = local_store_put_bytes(st, r->b, r->bytes, r->len, &r->err);
    break;
  case ST_GET_FILE:
    r->rc = local_store_copy(st, r->a, r->b, &r->err);
    break;
  case ST_HEAD:
    r->rc = local_store_stat(st, r->a, &r->st, &r->err);
    break;
  case ST_COPY:
    r->rc = local_store_copy(st, r->a, r->b, &r->err);
    break;
  case ST_LIST:
    r->rc = local_store_list(st, r->a, &r->listing, &r->err);
    break;
  }
}

// "s3://BUCKET/" of an s3 prefix URI, else "" (path URIs list paths).
static char *store_uri_base(const char *prefix_uri)
{
  if (!smf_str_startswith(prefix_uri, "s3://")) {
    return smf_xstrdup("");
  }
  const char *slash = strchr(prefix_uri + 5, '/');
  size_t n = slash ? (size_t)(slash - prefix_uri) + 1 : strlen(prefix_uri);
  char *base = smf_xstrndup(prefix_uri, n);
  return slash ? base : (free(base), smf_xasprintf("%s/", prefix_uri));
}

static void store_list_done(struct store_req *r)
{
  const struct smf_error *e = r->rc ? &r->err : NULL;
  if (r->rc != 0) {
    r->list_cb(r->data, r->rc, NULL, 0, e);
    return;
  }
  char *base = store_uri_base(r->a);
  struct target_object *objs = smf_xcalloc(r->listing.n + 1, sizeof(*objs));
  char **uris = smf_xcalloc(r->listing.n + 1, sizeof(*uris));
  for (size_t i = 0; i < r->listing.n; i++) {
    const struct local_store_object *o = &r->listing.v[i];
    uris[i] = *base ? smf_xasprintf("%s%s", base, o->key) : smf_xstrdup(o->path);
    objs[i] = (struct target_object){.uri = uris[i], .key = o->key, .size = o->size};
  }
  r->list_cb(r->data, 0, objs, r->listing.n, NULL);
  for (size_t i = 0; i < r->listing.n; i++) {
    free(uris[i]);
  }
  free(uris);
  free(objs);
  free(base);
  local_store_listing_free(&r->listing);
}

static void store_after(uv_work_t *w, int status)
{
  (void)status;
  struct store_req *r = w->data;
  const struct smf_error *e = r->rc ? &r->err : NULL;
  if (r->op == ST_HEAD) {
    struct target_object o = {
        .uri = r->a, .key = r->a, .size = r->st.size, .mtime_ms = r->st.mtime_ms};
    r->head_cb(r->data, r->rc, r->rc ? NULL : &o, e);
  } else if (r->op == ST_LIST) {
    store_list_done(r);
  } else {
    r->done_cb(r->data, r->rc, e);
  }
  free(r->a);
  free(r->b);
  free(r->bytes);
  free(r);
}

static int store_queue(struct target *t, struct store_req *r, struct smf_error *err)
{
  r->t = t;
  r->work.data = r;
  int rc = uv_queue_work(t->loop, &r->work, store_work, store_after);
  if (rc != 0) {
    free(r->a);
    free(r->b);
    free(r->bytes);
    free(r);
    return SMF_ERR_SET(err, SMF_EINTERNAL, "cannot queue work: %s", uv_strerror(rc));
  }
  return 0;
}

static struct store_req *store_req_new(enum store_op op, const char *a, const char *b, void *data)
{
  struct store_req *r = smf_xcalloc(1, sizeof(*r));
  r->op = op;
  r->a = a ? smf_xstrdup(a) : NULL;
  r->b = b ? smf_xstrdup(b) : NULL;
  r->data = data;
  return r;
}

static int st_put_file(struct target *t, const char *path, const char *uri, target_done_cb cb,
                       void *data, struct smf_error *err)
{
  struct store_req *r = store_req_new(ST_PUT_FILE, path, uri, data);
  r->done_cb = cb;
  return store_queue(t, r, err);
}

// Options: the local store has no encryption; a file given up (move) is renamed
// into place (its bytes synced, rename, sync of the directory; or rename and
// noted for the state's deferred sync).
static int st_put_file_opts(struct target *t, const char *path, const char *uri,
                            const struct target_put_opts *opts, target_done_cb cb, void *data,
                            struct smf_error *err)
{
  struct store_req *r =
      store_req_new(opts && opts->move ? ST_PUT_MOVE : ST_PUT_FILE, path, uri, data);
  r->done_cb = cb;
  return store_queue(t, r, err);
}

static int st_put_bytes(struct target *t, const void *bytes, size_t len, const char *uri,
                        target_done_cb cb, void *data, struct smf_error *err)
{
  struct store_req *r = store_req_new(ST_PUT_BYTES, NULL, uri, data);
  r->bytes = smf_xmalloc(len ? len : 1);
  memcpy(r->bytes, bytes, len);
  r->len = len;
  r->done_cb = cb;
  return store_queue(t, r, err);
}

static int st_get_file(struct target *t, const char *uri, const char *path, target_done_cb cb,
                       void *data, struct smf_error *err)
{
  struct store_req *r = store_req_new(ST_GET_FILE, uri, path, data);
  r->done_cb = cb;
  return store_queue(t, r, err);
}

static int st_head(struct target *t, const char *uri, target_head_cb cb, void *data,
                   struct smf_error *err)
{
  struct store_req *r = store_req_new(ST_HEAD, uri, NULL, data);
  r->head_cb = cb;
  return store_queue(t, r, err);
}

static int st_copy(struct target *t, const char *src, const char *dst, target_done_cb cb,
                   void *data, struct smf_error *err)
{
  struct store_req *r = store_req_new(ST_COPY, src, dst, data);
  r->done_cb = cb;
  return store_queue(t, r, err);
}

static int st_list(struct target *t, const char *prefix, target_list_cb cb, void *data,
                   struct smf_error *err)
{
  struct store_req *r = store_req_new(ST_LIST, prefix, NULL, data);
  r->list_cb = cb;
  return store_queue(t, r, err);
}

static const struct target_store_ops local_store_ops = {
    .put_file = st_put_file,
    .put_file_opts = st_put_file_opts,
    .put_bytes = st_put_bytes,
    .get_file = st_get_file,
    .head = st_head,
    .copy = st_copy,
    .list = st_list,
};

// ---------------------------------------------------------------------------

static void local_free(struct target *t)
{
  struct local_impl *impl = t->impl;
  if (impl) {
    local_servers_release(t);
    local_store_close(&impl->store);
    free(impl);
  }
}

static const struct target_vtable local_vtable = {
    .name = "local",
    .store = &local_store_ops,
    .training = &local_training_ops,
    .processing = &local_processing_ops,
    .hosting = &local_hosting_recorded_ops,  // hosting.c + records in the state database
    .registry = &local_registry_ops,         // the state database (registry.c)
    .free = local_free,
};

int local_target_new(const struct target_config *cfg, struct target **out, struct smf_error *err)
{
  struct target *t = smf_xcalloc(1, sizeof(*t));
  target__init(t, &local_vtable, cfg);
  struct local_impl *impl = smf_xcalloc(1, sizeof(*impl));
  int rc = local_store_init(&impl->store, t->state_dir, t->base_dir, err);
  if (rc != 0) {
    free(impl);
    target_free(t);
    return rc;
  }
  impl->store.state = cfg->state;  // a local run's state defers the store's syncs
  t->impl = impl;
  *out = t;
  return 0;
}
