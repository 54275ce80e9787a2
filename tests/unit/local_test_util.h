// local_test_util.h: shared helpers of the local target's tests: temporary
// state directories, a store seeded with objects, typed YAML values built by
// hand, and an event collector that runs a real uv loop until a job is done.
#pragma once

// Each test uses a subset of the helpers.
#define LTU_STATIC static __attribute__((unused))

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "smflow/archive.h"
#include "smflow/util.h"
#include "target/local/local.h"
#include "target/local/store.h"
#include "target/target.h"
#include "test.h"

LTU_STATIC char *ltu_tmpdir(void)
{
  char tmpl[] = "/tmp/smflow-local-XXXXXX";
  char *d = mkdtemp(tmpl);
  ASSERT(d != NULL);
  return smf_xstrdup(d);
}

LTU_STATIC const char *ltu_data_dir(void)
{
  const char *d = getenv("SMF_TEST_DATA");
  return d ? d : "tests/data";
}

LTU_STATIC void ltu_put(const char *state_dir, const char *uri, const char *text)
{
  struct local_store st;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(local_store_init(&st, state_dir, state_dir, &err), 0);
  ASSERT_EQ(local_store_put_bytes(&st, uri, text, strlen(text), &err), 0);
  local_store_close(&st);
}

LTU_STATIC char *ltu_path(const char *state_dir, const char *uri)
{
  struct local_store st;
  struct smf_error err = SMF_ERROR_INIT;
  char *path = NULL;
  ASSERT_EQ(local_store_init(&st, state_dir, state_dir, &err), 0);
  ASSERT_EQ(local_store_resolve(&st, uri, &path, &err), 0);
  local_store_close(&st);
  return path;
}

/// Pack tests/data/local as a sourcedir.tar.gz and store it at uri.
LTU_STATIC void ltu_put_code(const char *state_dir, const char *uri)
{
  char *src = smf_xasprintf("%s/local", ltu_data_dir());
  char *tgz = smf_xasprintf("%s/sourcedir.tar.gz", state_dir);
  struct smf_pack_spec spec = {.source_dir = src, .output = tgz};
  struct smf_pack_result res;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), 0);
  struct local_store st;
  ASSERT_EQ(local_store_init(&st, state_dir, state_dir, &err), 0);
  ASSERT_EQ(local_store_put_file(&st, tgz, uri, &err), 0);
  local_store_close(&st);
  unlink(tgz);
  free(src);
  free(tgz);
}

LTU_STATIC char *ltu_read(const char *path)
{
  char *text = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (smf_file_read(path, &text, NULL, &err) != 0) {
    fprintf(stderr, "%s\n", err.message);
    return NULL;
  }
  return text;
}

LTU_STATIC void ltu_rm(const char *dir)
{
  local_rm_rf(dir, NULL);
}

// ---- typed values ----
LTU_STATIC struct dsl_node *ltu_node(enum dsl_type t)
{
  struct dsl_node *n = smf_xcalloc(1, sizeof(*n));
  n->type = t;
  return n;
}
LTU_STATIC struct dsl_node *ltu_int(int64_t v)
{
  struct dsl_node *n = ltu_node(DSL_INT);
  n->u.i = v;
  return n;
}
LTU_STATIC struct dsl_node *ltu_float(double v)
{
  struct dsl_node *n = ltu_node(DSL_FLOAT);
  n->u.f = v;
  return n;
}
LTU_STATIC struct dsl_node *ltu_bool(bool v)
{
  struct dsl_node *n = ltu_node(DSL_BOOL);
  n->u.b = v;
  return n;
}
LTU_STATIC struct dsl_node *ltu_str(const char *s)
{
  struct dsl_node *n = ltu_node(DSL_STR);
  n->u.str.s = s;
  n->u.str.len = strlen(s);
  return n;
}
LTU_STATIC void ltu_push(struct dsl_node *seq, struct dsl_node *item)
{
  seq->u.seq.items = smf_xrealloc(seq->u.seq.items, (seq->u.seq.n + 1) * sizeof(item));
  seq->u.seq.items[seq->u.seq.n++] = item;
}
LTU_STATIC void ltu_set(struct dsl_node *map, const char *key, struct dsl_node *v)
{
  map->u.map.pairs = smf_xrealloc(map->u.map.pairs, (map->u.map.n + 1) * sizeof(struct dsl_pair));
  map->u.map.pairs[map->u.map.n++] = (struct dsl_pair){.key = key, .value = v};
}
LTU_STATIC void ltu_node_free(struct dsl_node *n)
{
  if (n == NULL) {
    return;
  }
  if (n->type == DSL_SEQ) {
    for (size_t i = 0; i < n->u.seq.n; i++) {
      ltu_node_free(n->u.seq.items[i]);
    }
    free(n->u.seq.items);
  } else if (n->type == DSL_MAP) {
    for (size_t i = 0; i < n->u.map.n; i++) {
      ltu_node_free(n->u.map.pairs[i].value);
    }
    free(n->u.map.pairs);
  }
  free(n);
}

// ---- job events ----
struct ltu_job {
  bool started, done;
  char *intent;
  enum target_job_status status;
  enum smf_errclass klass;
  int err_code;
  int exit_code;
  char *reason, *model_data, *output_data, *report_uri, *report_json;
  char metric_name[8][64];
  double metric_value[8];
  size_t n_metrics;
  int lines[4];  // per host index (algo-1 .. algo-4)
  struct smf_buf log;
  int64_t billable;
  struct target *t;
  struct target_job *job;
  bool stop_on_start;
};

LTU_STATIC char *ltu_dup(const char *s)
{
  return s ? smf_xstrdup(s) : NULL;
}

LTU_STATIC void ltu_on_event(void *data, const struct target_event *ev)
{
  struct ltu_job *c = data;
  if (ev->type == TARGET_EVENT_STARTED) {
    c->started = true;
    c->intent = ltu_dup(ev->intent);
    if (c->stop_on_start) {
      struct smf_error err = SMF_ERROR_INIT;
      ASSERT_EQ(target_job_stop(c->t, c->job, &err), 0);
    }
  } else if (ev->type == TARGET_EVENT_LOG) {
    int h = atoi(ev->host + 5);
    if (h >= 1 && h <= 4) {
      c->lines[h - 1]++;
    }
    smf_buf_printf(&c->log, "[%s] %s\n", ev->host, ev->line);
  } else {
    const struct target_job_result *r = ev->result;
    ASSERT(!c->done);
    c->done = true;
    c->status = r->status;
    c->klass = r->klass;
    c->exit_code = r->exit_code;
    c->err_code = ev->err ? ev->err->code : 0;
    c->reason = ltu_dup(r->failure_reason);
    c->model_data = ltu_dup(r->model_data);
    c->output_data = ltu_dup(r->output_data);
    c->report_uri = ltu_dup(r->report_uri);
    c->report_json = ltu_dup(r->report_json);
    c->billable = r->billable_seconds;
    for (size_t i = 0; i < r->n_metrics && i < 8; i++) {
      snprintf(c->metric_name[i], sizeof(c->metric_name[i]), "%s", r->metrics[i].name);
      c->metric_value[i] = r->metrics[i].value;
      c->n_metrics++;
    }
    if (ev->err) {
      fprintf(stderr, "job ended: %s\n", ev->err->message);
    }
  }
}

LTU_STATIC void ltu_job_free(struct ltu_job *c)
{
  free(c->intent);
  free(c->reason);
  free(c->model_data);
  free(c->output_data);
  free(c->report_uri);
  free(c->report_json);
  smf_buf_free(&c->log);
}

LTU_STATIC void ltu_run_until(uv_loop_t *loop, bool *flag, int64_t max_ms)
{
  int64_t until = smf_time_now_ms() + max_ms;
  while (!*flag && smf_time_now_ms() < until) {
    uv_run(loop, UV_RUN_ONCE);
  }
  ASSERT(*flag);
}

LTU_STATIC struct target *ltu_target(uv_loop_t *loop, const char *state_dir)
{
  struct target_config cfg = {.loop = loop, .state_dir = state_dir, .base_dir = state_dir};
  struct target *t = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (target_new("local", &cfg, &t, &err) != 0) {
    fprintf(stderr, "%s\n", err.message);
  }
  ASSERT(t != NULL);
  return t;
}

/// Close the target and the loop; every handle must be gone.
LTU_STATIC void ltu_finish(uv_loop_t *loop, struct target *t)
{
  target_free(t);
  uv_run(loop, UV_RUN_DEFAULT);
  ASSERT_EQ(uv_loop_close(loop), 0);
}
