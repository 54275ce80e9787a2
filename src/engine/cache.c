// cache.c: the step cache in the scheduler (SPEC §6). A READY step with
// `cache: true` or `cache: DURATION` is first looked up: its `when:` is
// evaluated, its spec interpolated, and its key (cache_key.c) computed on the
// thread pool, since inputs are hashed. A hit within the allowed age ends the
// step SUCCEEDED with the earlier outputs, with no attempt and no side effect,
// and records where they came from (`cached_from`: RUN/STEP/ATTEMPT). A miss
// runs the step as usual and, when it succeeds, stores its result under the key.
// While the lookup runs the step counts against the concurrency limit.
//
// A step often writes where its spec points (an upload's `to`, a command's
// `--out data`), so its inputs read after the success differ from those read
// before. The result is stored under both keys: the one computed before the
// run and the one computed again after it (on the thread pool), so that the
// next run, which finds the outputs in place, is a hit.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng_int.h"
#include "smflow/log.h"

struct eng_cache_job {
  uv_work_t req;
  struct eng *e;
  struct eng_step *s;                     ///< NULL for the key computed after a success
  char *run_id, *step_id, *outputs_json;  ///< after a success: what to store
  int attempt;
  struct eng_cache_input in;  ///< strings below are owned here
  char *spec_json, *hooks_path, *known_json;
  char key[65];
  int rc;
  char *unknown;
};

char *eng_hooks_path(const struct dsl_pipeline *p)
{
  if (p->hooks == NULL) {
    return NULL;
  }
  return p->hooks[0] == '/' ? smf_xstrdup(p->hooks) : smf_xasprintf("%s/%s", p->dir, p->hooks);
}

const char *eng_target(const struct eng *e)
{
  return e->opt.target ? e->opt.target : e->p->target ? e->p->target : "local";
}

char *eng_cache_known(const struct eng *e)
{
  json_t *known = json_object();
  for (size_t i = 0; i < e->n; i++) {
    const struct eng_step *s = &e->steps[i];
    if (s->def->kind != DSL_KIND_UPLOAD || s->outputs_json == NULL) {
      continue;
    }
    json_t *o = json_loads(s->outputs_json, 0, NULL);
    const char *uri = json_string_value(json_object_get(o, "uri"));
    const char *sha = json_string_value(json_object_get(o, "sha256"));
    if (uri && sha) {
      json_object_set_new(known, uri, json_string(sha));
    }
    json_decref(o);
  }
  char *text = json_object_size(known) ? json_dumps(known, JSON_COMPACT) : NULL;
  json_decref(known);
  return text;
}

static void eng__cache_work(uv_work_t *req)
{
  struct eng_cache_job *j = req->data;
  j->rc = eng_cache_key(&j->in, j->key, &j->unknown);
}

static void eng__cache_job_free(struct eng_cache_job *j)
{
  free(j->run_id);
  free(j->step_id);
  free(j->outputs_json);
  free(j->spec_json);
  free(j->hooks_path);
  free(j->known_json);
  free(j->unknown);
  free(j);
}

// Serve the step from entry `ent`: outputs, then SUCCEEDED, then where they came from.
static void eng__cache_hit(struct eng_step *s, const struct state_cache_entry *ent)
{
  struct eng *e = s->eng;
  struct smf_error err = SMF_ERROR_INIT;
  struct dsl_node *out = eng_json_to_node(&e->arena, ent->outputs_json, &err);
  if (out == NULL || lx_set_step_outputs(e->lx, s->def->id, out, &err) != 0) {
    eng_fatal(e, &err);
    return;
  }
  free(s->outputs_json);
  s->outputs_json = smf_xstrdup(ent->outputs_json);
  free(s->cached_from);
  s->cached_from = smf_xasprintf("%s/%s/%d", ent->run_id, ent->step_id, ent->attempt);
  smf_log_step(SMF_LOG_INFO, s->def->id, "cached: outputs of %s", s->cached_from);
  s->started_ms = smf_time_now_ms();
  eng_step_transition(s, STEP_SUCCEEDED);
  json_t *d = json_pack("{s:s}", "cached_from", s->cached_from);
  char *detail = json_dumps(d, JSON_COMPACT);
  json_decref(d);
  if (!e->fatal &&
      (state_step_set_cached_from(e->st, e->run_id, s->def->id, s->cached_from, &err) != 0 ||
       state_event_add(e->st, e->run_id, s->def->id, "cached", detail, &err) != 0)) {
    eng_fatal(e, &err);
  }
  free(detail);
  eng_step_final(s);
}

static void eng__cache_done(uv_work_t *req, int status)
{
  struct eng_cache_job *j = req->data;
  struct eng_step *s = j->s;
  struct eng *e = s->eng;
  e->running--;
  if (status != 0 || e->stopping || e->fatal) {
    s->cache_checked = false;  // the step stays READY: a resume looks it up again
    eng__cache_job_free(j);
    eng_schedule(e);
    return;
  }
  s->cache_checked = true;
  if (j->rc != 0) {
    smf_log_step(SMF_LOG_INFO, s->def->id, "not cacheable: %s",
                 j->unknown ? j->unknown : "inputs without a digest");
  } else {
    int64_t min = s->def->cache == DSL_CACHE_TTL ? smf_time_now_ms() - s->def->cache_ttl_ms : 0;
    struct state_cache_entry ent;
    struct smf_error err = SMF_ERROR_INIT;
    int rc = state_cache_lookup(e->st, j->key, min, &ent, &err);
    char why[1100];
    if (rc == 0 && !eng_objects_intact(e, ent.run_id, ent.step_id, why, sizeof(why))) {
      smf_log_step(SMF_LOG_WARN, s->def->id, "not served from the cache: %s", why);
      state_cache_entry_clear(&ent);
      rc = SMF_ENOENT;
    }
    if (rc == 0) {
      eng__cache_hit(s, &ent);
      state_cache_entry_clear(&ent);
      eng__cache_job_free(j);
      eng_schedule(e);
      return;
    }
    if (rc != SMF_ENOENT) {
      eng_fatal(e, &err);
    }
    s->cache_key = smf_xstrdup(j->key);
    s->cache_spec = j->spec_json;
    j->spec_json = NULL;
    smf_log_step(SMF_LOG_DEBUG, s->def->id, "cache miss (key %.12s)", j->key);
  }
  eng__cache_job_free(j);
  eng_step_enqueue(s);
}

// A key computation for step s over its interpolated spec (spec_json: taken).
static struct eng_cache_job *eng__cache_job_new(struct eng_step *s, char *spec_json)
{
  struct eng *e = s->eng;
  struct eng_cache_job *j = smf_xcalloc(1, sizeof(*j));
  j->e = e;
  j->req.data = j;
  j->spec_json = spec_json;
  j->hooks_path = eng_hooks_path(e->p);
  j->known_json = eng_cache_known(e);
  j->in = (struct eng_cache_input){.kind = dsl_kind_name(s->def->kind),
                                   .spec_json = j->spec_json,
                                   .pipeline_dir = e->p->dir,
                                   .state_dir = state_dir(e->st),
                                   .target = eng_target(e),
                                   .hooks_path = j->hooks_path,
                                   .known_json = j->known_json};
  return j;
}

bool eng_cache_begin(struct eng_step *s)
{
  struct eng *e = s->eng;
  if (s->def->cache == DSL_CACHE_OFF || s->cache_checked || s->resuming || s->kind == NULL ||
      e->stopping) {
    return false;
  }
  if (!eng_step_check_when(s)) {
    return true;
  }
  struct dsl_node *spec = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (lx_interpolate(e->lx, s->def->spec, e->p->path, &s->arena, &spec, &err) != 0) {
    s->cache_checked = true;  // eng__prepare reports the same error and fails the step
    return false;
  }
  struct eng_cache_job *j = eng__cache_job_new(s, dsl_node_to_json(spec));
  j->s = s;
  if (uv_queue_work(&e->loop, &j->req, eng__cache_work, eng__cache_done) != 0) {
    eng__cache_job_free(j);
    s->cache_checked = true;
    return false;
  }
  e->running++;
  return true;
}

// The key after the success is known: store the result under it too.
static void eng__cache_after_done(uv_work_t *req, int status)
{
  struct eng_cache_job *j = req->data;
  struct eng *e = j->e;
  struct smf_error err = SMF_ERROR_INIT;
  if (status == 0 && j->rc == 0 && !e->fatal &&
      state_cache_put(e->st, j->key, j->run_id, j->step_id, j->attempt, j->outputs_json, &err) !=
          0) {
    eng_fatal(e, &err);
  }
  eng__cache_job_free(j);
}

void eng_cache_store(struct eng_step *s)
{
  struct eng *e = s->eng;
  struct smf_error err = SMF_ERROR_INIT;
  if (s->cache_key == NULL || e->fatal) {
    return;
  }
  if (state_cache_put(e->st, s->cache_key, e->run_id, s->def->id, s->ctx.attempt, s->outputs_json,
                      &err) != 0) {
    eng_fatal(e, &err);
    return;
  }
  struct eng_cache_job *j = eng__cache_job_new(s, s->cache_spec);
  s->cache_spec = NULL;
  j->run_id = smf_xstrdup(e->run_id);
  j->step_id = smf_xstrdup(s->def->id);
  j->attempt = s->ctx.attempt;
  j->outputs_json = smf_xstrdup(s->outputs_json ? s->outputs_json : "{}");
  // The loop runs until this completes, even once the run has finished.
  if (uv_queue_work(&e->loop, &j->req, eng__cache_work, eng__cache_after_done) != 0) {
    eng__cache_job_free(j);
  }
}
