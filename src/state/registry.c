// registry.c: the local target's model registry (model package groups and
// their numbered versions) and its endpoint records, in the state database
// (schema: registry_sql.h, migration 3). Writes join the open batch like every
// other write of state/; readers see committed rows.
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"
#include "state/state_int.h"

static char *col_dup(sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? smf_xstrdup((const char *)t) : NULL;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
  if (v) {
    sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(st, i);
  }
}

static sqlite3_stmt *prep(struct state *s, const char *sql, struct smf_error *err)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    state__fail(s, "prepare", err);
    return NULL;
  }
  return st;
}

// Step a write statement inside the batch and finalize it.
static int write_stmt(struct state *s, sqlite3_stmt *st, const char *what, struct smf_error *err)
{
  int rc = state__exec_write(s, st, what, err);
  sqlite3_finalize(st);
  return rc;
}

int state_registry_group_put(struct state *s, const char *group, const char *description,
                             struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = prep(s,
                          "INSERT INTO model_package_groups (name, description, created_at)"
                          " VALUES (?,?,?) ON CONFLICT (name) DO NOTHING",
                          err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  bind_text(st, 1, group);
  bind_text(st, 2, description);
  sqlite3_bind_int64(st, 3, smf_time_now_ms());
  return write_stmt(s, st, "create model package group", err);
}

int state_registry_version_add(struct state *s, const struct state_model_package *pkg,
                               const char *arn_prefix, int *version, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st =
      prep(s, "SELECT COALESCE(MAX(version), 0) + 1 FROM model_packages WHERE grp = ?", err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  bind_text(st, 1, pkg->group);
  int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  if (v <= 0) {
    return state__fail(s, "next model package version", err);
  }
  st = prep(s,
            "INSERT INTO model_packages (grp, version, arn, approval, model_data, image_uri,"
            " description, metrics_uri, metadata_json, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?10)",
            err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  char *arn = smf_xasprintf("%s/%d", arn_prefix, v);
  bind_text(st, 1, pkg->group);
  sqlite3_bind_int(st, 2, v);
  bind_text(st, 3, arn);
  bind_text(st, 4, pkg->approval ? pkg->approval : "PendingManualApproval");
  bind_text(st, 5, pkg->model_data);
  bind_text(st, 6, pkg->image_uri);
  bind_text(st, 7, pkg->description);
  bind_text(st, 8, pkg->metrics_uri);
  bind_text(st, 9, pkg->metadata_json);
  sqlite3_bind_int64(st, 10, smf_time_now_ms());
  free(arn);
  rc = write_stmt(s, st, "create model package", err);
  if (rc == 0) {
    *version = v;
  }
  return rc;
}

int state_registry_list(struct state *s, const char *group, struct state_model_package **out,
                        size_t *n, struct smf_error *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = prep(s,
                          "SELECT grp, version, arn, approval, model_data, image_uri,"
                          " description, metrics_uri, metadata_json, created_at, updated_at"
                          " FROM model_packages WHERE ?1 IS NULL OR grp = ?1"
                          " ORDER BY grp, version",
                          err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  bind_text(st, 1, group);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 8;
      *out = smf_xrealloc(*out, cap * sizeof(**out));
    }
    struct state_model_package *p = &(*out)[(*n)++];
    p->group = col_dup(st, 0);
    p->version = sqlite3_column_int(st, 1);
    p->arn = col_dup(st, 2);
    p->approval = col_dup(st, 3);
    p->model_data = col_dup(st, 4);
    p->image_uri = col_dup(st, 5);
    p->description = col_dup(st, 6);
    p->metrics_uri = col_dup(st, 7);
    p->metadata_json = col_dup(st, 8);
    p->created_ms = sqlite3_column_int64(st, 9);
    p->updated_ms = sqlite3_column_int64(st, 10);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    state_model_packages_free(*out, *n);
    *out = NULL;
    *n = 0;
    return state__fail(s, "list model packages", err);
  }
  return 0;
}

int state_registry_set_approval(struct state *s, const char *group, int version,
                                const char *approval, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = prep(s,
                          "UPDATE model_packages SET approval = ?3, updated_at = ?4"
                          " WHERE grp = ?1 AND version = ?2",
                          err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  bind_text(st, 1, group);
  sqlite3_bind_int(st, 2, version);
  bind_text(st, 3, approval);
  sqlite3_bind_int64(st, 4, smf_time_now_ms());
  if ((rc = write_stmt(s, st, "update model package approval", err)) != 0) {
    return rc;
  }
  if (sqlite3_changes(s->db) == 0) {
    return SMF_ERR_SET(err, SMF_ENOENT, "no model package %s version %d", group, version);
  }
  return 0;
}

void state_model_packages_free(struct state_model_package *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(v[i].group);
    free(v[i].arn);
    free(v[i].approval);
    free(v[i].model_data);
    free(v[i].image_uri);
    free(v[i].description);
    free(v[i].metrics_uri);
    free(v[i].metadata_json);
  }
  free(v);
}

// ---- endpoints ----

int state_endpoint_put(struct state *s, const struct state_endpoint *ep, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st =
      prep(s,
           "INSERT INTO endpoints (name, url, pid, start_time, model_name, model_data, config_name,"
           " spec_json, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?9,?9)"
           " ON CONFLICT (name) DO UPDATE SET url = excluded.url, pid = excluded.pid,"
           " start_time = excluded.start_time, model_name = excluded.model_name,"
           " model_data = excluded.model_data, config_name = excluded.config_name,"
           " spec_json = excluded.spec_json, updated_at = excluded.updated_at",
           err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  bind_text(st, 1, ep->name);
  bind_text(st, 2, ep->url);
  sqlite3_bind_int64(st, 3, ep->pid);
  sqlite3_bind_int64(st, 4, ep->start_time);
  bind_text(st, 5, ep->model_name);
  bind_text(st, 6, ep->model_data);
  bind_text(st, 7, ep->config_name);
  bind_text(st, 8, ep->spec_json);
  sqlite3_bind_int64(st, 9, smf_time_now_ms());
  return write_stmt(s, st, "record endpoint", err);
}

static int endpoints_query(struct state *s, const char *name, struct state_endpoint **out,
                           size_t *n, struct smf_error *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = prep(s,
                          "SELECT name, url, pid, start_time, model_name, model_data,"
                          " config_name, spec_json, created_at, updated_at FROM endpoints"
                          " WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
                          err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  bind_text(st, 1, name);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 8;
      *out = smf_xrealloc(*out, cap * sizeof(**out));
    }
    struct state_endpoint *e = &(*out)[(*n)++];
    e->name = col_dup(st, 0);
    e->url = col_dup(st, 1);
    e->pid = sqlite3_column_int64(st, 2);
    e->start_time = sqlite3_column_int64(st, 3);
    e->model_name = col_dup(st, 4);
    e->model_data = col_dup(st, 5);
    e->config_name = col_dup(st, 6);
    e->spec_json = col_dup(st, 7);
    e->created_ms = sqlite3_column_int64(st, 8);
    e->updated_ms = sqlite3_column_int64(st, 9);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    state_endpoints_free(*out, *n);
    *out = NULL;
    *n = 0;
    return state__fail(s, "list endpoints", err);
  }
  return 0;
}

int state_endpoint_get(struct state *s, const char *name, struct state_endpoint *out,
                       struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  struct state_endpoint *v = NULL;
  size_t n = 0;
  int rc = endpoints_query(s, name, &v, &n, err);
  if (rc != 0) {
    return rc;
  }
  if (n == 0) {
    free(v);
    return SMF_ERR_SET(err, SMF_ENOENT, "no endpoint named '%s'", name);
  }
  *out = v[0];
  free(v);
  return 0;
}

int state_endpoints_list(struct state *s, struct state_endpoint **out, size_t *n,
                         struct smf_error *err)
{
  return endpoints_query(s, NULL, out, n, err);
}

int state_endpoint_delete(struct state *s, const char *name, struct smf_error *err)
{
  int rc = state__begin(s, err);
  if (rc != 0) {
    return rc;
  }
  sqlite3_stmt *st = prep(s, "DELETE FROM endpoints WHERE name = ?", err);
  if (st == NULL) {
    return SMF_ESTATE;
  }
  bind_text(st, 1, name);
  return write_stmt(s, st, "delete endpoint", err);
}

void state_endpoint_clear(struct state_endpoint *ep)
{
  free(ep->name);
  free(ep->url);
  free(ep->model_name);
  free(ep->model_data);
  free(ep->config_name);
  free(ep->spec_json);
  memset(ep, 0, sizeof(*ep));
}

void state_endpoints_free(struct state_endpoint *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    state_endpoint_clear(&v[i]);
  }
  free(v);
}
