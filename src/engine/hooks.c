// hooks.c: the hooks file's functions in the run — step hooks (before, after,
// on_failure), pipeline hooks (on_success, on_failure), the step table they
// receive, and the checks made when a run starts or resumes.
//
// A step uses the functions its `hooks:` names, else the hooks file's global
// `before`, `after` and `on_failure` when it defines them.
//
// Every call is a synchronous, capped lx_call made from a loop callback (the
// scheduler's pump or an attempt's completion), never from inside uv or curl.
// Decisions (docs/hooks.md): `before` runs once per attempt and its result is
// persisted with the attempt's intent before the kind starts (a resumed attempt
// reuses the persisted result instead of calling `before` again); step
// `on_failure` runs once, when the step fails for good (after its last attempt);
// a failing `after` fails the attempt (class HookError, retried like any other
// failure); errors of on_failure and the pipeline hooks are logged and change
// nothing else.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng_int.h"
#include "smflow/hash.h"
#include "smflow/log.h"
#include "steps/luaco.h"

// ---- limits ----

// A positive integer from the environment, else 0.
static uint64_t eng__env_u64(const char *name)
{
  const char *v = getenv(name);
  char *end = NULL;
  unsigned long long n = v && *v ? strtoull(v, &end, 10) : 0;
  return end && *end == '\0' ? (uint64_t)n : 0;
}

void eng_hooks_lx_config(struct lx_config *cfg)
{
  uint64_t instr = eng__env_u64("SMFLOW_LUA_INSTRUCTIONS");
  uint64_t mem_mb = eng__env_u64("SMFLOW_LUA_MEMORY_MB");
  if (instr > 0) {
    cfg->instr_limit = instr;
  }
  if (mem_mb > 0 && mem_mb < 1024 * 1024) {
    cfg->mem_limit = (size_t)mem_mb * 1024 * 1024;
  }
}

// ---- positions and checks ----

// The mark of the step's `hooks: {WHICH: NAME}` entry, else of the step.
static struct dsl_mark eng__hook_mark(const struct dsl_step *def, const char *which)
{
  const struct dsl_node *h = dsl_map_get(def->node, "hooks");
  const struct dsl_node *n = which ? dsl_map_get(h, which) : NULL;
  if (which && strcmp(which, "lua") == 0) {
    n = def->spec->type == DSL_MAP ? dsl_map_get(def->spec, "function") : def->spec;
  }
  return n && n->mark.line ? n->mark : def->mark;
}

static int eng__check_fn(struct eng *e, const char *fn, const char *what, const char *step,
                         struct dsl_mark m, struct smf_error *err)
{
  if (fn == NULL || lx_has_function(e->lx, fn)) {
    return 0;
  }
  SMF_ERR_SET(err, SMF_EVALIDATE, "%s:%u:%u: %s%s%s%s: function '%s' is not defined in %s",
              e->p->path, m.line, m.col, step ? "step '" : "", step ? step : "", step ? "': " : "",
              what, fn, e->p->hooks);
  snprintf(err->path, sizeof(err->path), "%s", e->p->path);
  err->line = m.line;
  err->col = m.col;
  return SMF_EVALIDATE;
}

static const char *eng__lua_fn(const struct dsl_step *def)
{
  return def->spec->type == DSL_STR ? def->spec->u.str.s : dsl_map_str(def->spec, "function", NULL);
}

int eng_hooks_init(struct eng *e, struct smf_error *err)
{
  const struct dsl_pipeline *p = e->p;
  if (p->hooks == NULL) {
    return 0;
  }
  char *path =
      p->hooks[0] == '/' ? smf_xstrdup(p->hooks) : smf_xasprintf("%s/%s", p->dir, p->hooks);
  struct smf_error herr = SMF_ERROR_INIT;
  if (smf_hash_file(SMF_HASH_SHA256, path, e->hooks_sha256, NULL, &herr) != 0) {
    e->hooks_sha256[0] = '\0';
  }
  free(path);
  const struct dsl_node *ons = dsl_map_get(p->root, "on_success");
  const struct dsl_node *onf = dsl_map_get(p->root, "on_failure");
  static const struct dsl_mark none = {0, 0};
  int rc = eng__check_fn(e, p->on_success, "on_success", NULL, ons ? ons->mark : none, err);
  rc = rc ? rc : eng__check_fn(e, p->on_failure, "on_failure", NULL, onf ? onf->mark : none, err);
  for (size_t i = 0; rc == 0 && i < p->n_steps; i++) {
    const struct dsl_step *d = &p->steps[i];
    rc = eng__check_fn(e, d->hook_before, "hooks.before", d->id, eng__hook_mark(d, "before"), err);
    rc =
        rc ? rc
           : eng__check_fn(e, d->hook_after, "hooks.after", d->id, eng__hook_mark(d, "after"), err);
    rc = rc ? rc
            : eng__check_fn(e, d->hook_on_failure, "hooks.on_failure", d->id,
                            eng__hook_mark(d, "on_failure"), err);
    if (rc == 0 && d->kind == DSL_KIND_LUA) {
      rc = eng__check_fn(e, eng__lua_fn(d), "lua", d->id, eng__hook_mark(d, "lua"), err);
    }
  }
  return rc;
}

// A diagnostic when `fn` (named by step `def`'s `which`, or by the pipeline's
// top-level key `which` when def is NULL) is not a function of the hooks file.
static void eng__check_name(const struct dsl_pipeline *p, struct lx *x, struct dsl_diags *d,
                            const char *fn, const char *what, const struct dsl_step *def,
                            const char *which)
{
  if (fn == NULL || lx_has_function(x, fn)) {
    return;
  }
  const struct dsl_node *top = def ? NULL : dsl_map_get(p->root, which);
  struct dsl_mark m = def ? eng__hook_mark(def, which) : top ? top->mark : (struct dsl_mark){0, 0};
  const char *id = def ? def->id : NULL;
  dsl_diags_add(d, p->path, m, "%s%s%s%s: function '%s' is not defined in %s", id ? "step '" : "",
                id ? id : "", id ? "': " : "", what, fn, p->hooks);
}

// One diagnostic per function that the pipeline names and `x` does not define.
static void eng__check_names(const struct dsl_pipeline *p, struct lx *x, struct dsl_diags *d)
{
  eng__check_name(p, x, d, p->on_success, "on_success", NULL, "on_success");
  eng__check_name(p, x, d, p->on_failure, "on_failure", NULL, "on_failure");
  for (size_t i = 0; i < p->n_steps; i++) {
    const struct dsl_step *st = &p->steps[i];
    eng__check_name(p, x, d, st->hook_before, "hooks.before", st, "before");
    eng__check_name(p, x, d, st->hook_after, "hooks.after", st, "after");
    eng__check_name(p, x, d, st->hook_on_failure, "hooks.on_failure", st, "on_failure");
    if (st->kind == DSL_KIND_LUA) {
      eng__check_name(p, x, d, eng__lua_fn(st), "lua", st, "lua");
    }
  }
}

// The check's sandbox says nothing: the run that loads the file logs its lines.
static void eng__quiet_log(void *ud, const char *step_id, const char *msg)
{
  (void)ud;
  (void)step_id;
  (void)msg;
}

size_t eng_hooks_check(const struct dsl_pipeline *p, struct dsl_diags *diags)
{
  size_t before = diags->n;
  if (p->hooks == NULL) {
    return 0;
  }
  const struct dsl_node *h = dsl_map_get(p->root, "hooks");
  struct dsl_mark hm = h ? h->mark : (struct dsl_mark){0, 0};
  struct lx_config cfg = {0};
  cfg.lua_path = access(SMF_SOURCE_LUA_DIR, F_OK) == 0 ? SMF_SOURCE_LUA_DIR : SMF_LUA_DIR;
  eng_hooks_lx_config(&cfg);
  struct smf_error err = SMF_ERROR_INIT;
  char *path =
      p->hooks[0] == '/' ? smf_xstrdup(p->hooks) : smf_xasprintf("%s/%s", p->dir, p->hooks);
  struct lx *x = lx_new(&cfg, &err);
  if (x != NULL) {
    lx_set_log_fn(x, eng__quiet_log, NULL);
  }
  if (x == NULL || lx_load_hooks(x, path, &err) != 0) {
    char *tb = strstr(err.message, "\nstack traceback:");  // the first line says where
    if (tb != NULL) {
      *tb = '\0';
    }
    dsl_diags_add(diags, p->path, hm, "hooks: %s", err.message);
  } else {
    eng__check_names(p, x, diags);
  }
  lx_free(x);
  free(path);
  return diags->n - before;
}

void eng_hooks_record(struct eng *e)
{
  if (e->p->hooks == NULL) {
    return;
  }
  json_t *j = json_pack("{s:s, s:s}", "path", e->p->hooks, "sha256", e->hooks_sha256);
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  struct smf_error err = SMF_ERROR_INIT;
  if (state_event_add(e->st, e->run_id, NULL, "hooks", t, &err) != 0) {
    smf_log(SMF_LOG_WARN, "cannot record the hooks file's hash: %s", err.message);
  }
  free(t);
}

// The function a step uses: the one its `hooks:` names, else the hooks file's
// global function of the hook's own name (`before`, `after`, `on_failure`).
static const char *eng__hook_name(struct eng *e, const char *named, const char *dflt)
{
  if (named) {
    return named;
  }
  return e->p->hooks && lx_has_function(e->lx, dflt) ? dflt : NULL;
}

// ---- the tables hooks receive ----

static struct dsl_node *eng__str(struct smf_arena *a, const char *s)
{
  return dsl_node_str(a, s ? s : "", s ? strlen(s) : 0);
}

static const char *eng__target(const struct eng *e)
{
  return e->opt.target ? e->opt.target : e->p->target ? e->p->target : "local";
}

static struct dsl_node *eng__describe(struct eng_step *s, int attempt, const struct dsl_node *spec,
                                      struct smf_arena *a)
{
  struct eng *e = s->eng;
  struct dsl_node *t = dsl_node_new(a, DSL_MAP);
  dsl_map_set(a, t, "id", eng__str(a, s->def->id));
  dsl_map_set(a, t, "kind", eng__str(a, dsl_kind_name(s->def->kind)));
  dsl_map_set(a, t, "attempt", dsl_node_int(a, attempt));
  dsl_map_set(a, t, "run_id", eng__str(a, e->run_id));
  dsl_map_set(a, t, "target", eng__str(a, eng__target(e)));
  dsl_map_set(a, t, "spec", spec ? (struct dsl_node *)spec : dsl_node_new(a, DSL_MAP));
  struct dsl_node *needs = dsl_node_new(a, DSL_SEQ);
  for (size_t i = 0; i < s->def->n_needs; i++) {
    dsl_seq_push(a, needs, eng__str(a, s->def->needs[i]));
  }
  dsl_map_set(a, t, "needs", needs);
  return t;
}

struct dsl_node *step_ctx_describe(const struct step_ctx *ctx, struct smf_arena *a)
{
  return eng__describe(ctx->owner, ctx->attempt, ctx->spec, a);
}

struct lx *step_ctx_lx(const struct step_ctx *ctx)
{
  return ctx->eng->lx;
}

const char *step_ctx_target_name(const struct step_ctx *ctx)
{
  return eng__target(ctx->eng);
}

const char *step_ctx_region(const struct step_ctx *ctx)
{
  return ctx->eng->p->region;
}

static struct dsl_node *eng__error_table(struct smf_arena *a, enum smf_errclass k, const char *m)
{
  struct dsl_node *t = dsl_node_new(a, DSL_MAP);
  dsl_map_set(a, t, "class", eng__str(a, smf_errclass_name(k)));
  dsl_map_set(a, t, "message", eng__str(a, m));
  return t;
}

// Call `fn` for step s. ret may be NULL.
static int eng__call(struct eng_step *s, const char *fn, const struct dsl_node *const *args,
                     size_t n, struct smf_arena *a, struct dsl_node **ret, struct smf_error *err)
{
  return lx_call(s->eng->lx, fn, args, n, a, ret, err);
}

// ---- before ----

// A string spec written in short form, as the map the hook's table merges into.
static const struct dsl_node *eng__spec_map(struct eng_step *s, const struct dsl_node *spec)
{
  if (spec->type != DSL_STR) {
    return spec;
  }
  const char *key = s->def->kind == DSL_KIND_RUN   ? "command"
                    : s->def->kind == DSL_KIND_LUA ? "function"
                                                   : NULL;
  if (key == NULL) {
    return spec;
  }
  struct dsl_node *m = dsl_node_new(&s->arena, DSL_MAP);
  dsl_map_set(&s->arena, m, key, (struct dsl_node *)spec);
  return m;
}

// The result of `before` persisted with the attempt being resumed, or NULL.
static struct dsl_node *eng__persisted_before(struct eng_step *s)
{
  json_t *j = json_loads(s->resume_intent ? s->resume_intent : "{}", 0, NULL);
  json_t *r = json_object_get(json_object_get(j, "before_hook"), "result");
  struct dsl_node *n = r ? eng_jansson_to_node(&s->arena, r) : NULL;
  json_decref(j);
  return n;
}

int eng_hooks_before(struct eng_step *s, struct dsl_node **spec, struct dsl_node **hooked,
                     struct smf_error *err)
{
  struct eng *e = s->eng;
  const char *fn = eng__hook_name(e, s->def->hook_before, "before");
  *hooked = NULL;
  if (fn == NULL) {
    return 0;
  }
  struct dsl_node *ret = NULL;
  if (s->resuming) {
    ret = eng__persisted_before(s);
  } else {
    int attempt = s->attempts + 1;
    const struct dsl_node *arg = eng__describe(s, attempt, *spec, &s->arena);
    lx_set_current_step(e->lx, s->def->id);
    int rc = eng__call(s, fn, &arg, 1, &s->arena, &ret, err);
    lx_set_current_step(e->lx, NULL);
    if (rc != 0) {
      smf_error_prefix(err, "hook '%s' (before)", fn);
      err->klass = SMF_CLASS_HOOK;
      return rc;
    }
  }
  if (ret == NULL) {
    return 0;
  }
  if (ret->type != DSL_MAP) {
    SMF_ERR_SET(err, SMF_EVALIDATE, "hook '%s' (before) must return a table or nil, not a %s", fn,
                dsl_type_name(ret->type));
    err->klass = SMF_CLASS_HOOK;
    return SMF_EVALIDATE;
  }
  struct dsl_node *merged = dsl_node_merge(&s->arena, eng__spec_map(s, *spec), ret);
  struct dsl_diags diags = {0};
  if (dsl_spec_validate(s->def->kind, merged, true, e->p->hooks, &diags) != 0) {
    SMF_ERR_SET(err, SMF_EVALIDATE, "hook '%s' (before) made the %s spec of step '%s' invalid: %s",
                fn, dsl_kind_name(s->def->kind), s->def->id,
                diags.n > 0 ? diags.items[0].message : "invalid");
    err->klass = SMF_CLASS_HOOK;
    dsl_diags_free(&diags);
    return SMF_EVALIDATE;
  }
  dsl_diags_free(&diags);
  *spec = merged;
  *hooked = ret;
  return 0;
}

char *eng_hooks_intent(struct eng_step *s, char *intent, const struct dsl_node *hooked)
{
  if (hooked == NULL) {
    return intent;
  }
  json_t *j = json_loads(intent ? intent : "{}", 0, NULL);
  if (!json_is_object(j)) {
    json_decref(j);
    j = json_object();
  }
  char *rt = dsl_node_to_json(hooked);
  json_t *r = json_loads(rt, JSON_DECODE_ANY, NULL);
  free(rt);
  const char *fn = eng__hook_name(s->eng, s->def->hook_before, "before");
  json_object_set_new(
      j, "before_hook",
      json_pack("{s:s, s:o}", "function", fn ? fn : "", "result", r ? r : json_null()));
  char *t = json_dumps(j, JSON_COMPACT);
  // Kinds may replace their intent later (a pid, a job name): the event keeps
  // the hook's result for good.
  char *ev = json_dumps(json_object_get(j, "before_hook"), JSON_COMPACT);
  struct smf_error err = SMF_ERROR_INIT;
  if (state_event_add(s->eng->st, s->eng->run_id, s->def->id, "before_hook", ev, &err) != 0) {
    eng_fatal(s->eng, &err);
  }
  free(ev);
  json_decref(j);
  free(intent);
  return t;
}

// ---- after, on_failure ----

int eng_hook_after(struct eng_step *s, const struct dsl_node **outputs, struct smf_error *err)
{
  struct eng *e = s->eng;
  const char *fn = eng__hook_name(e, s->def->hook_after, "after");
  if (fn == NULL) {
    return 0;
  }
  const struct dsl_node *args[2] = {eng__describe(s, s->ctx.attempt, s->ctx.spec, &s->arena),
                                    *outputs};
  struct dsl_node *ret = NULL;
  lx_set_current_step(e->lx, s->def->id);
  int rc = eng__call(s, fn, args, 2, &s->arena, &ret, err);
  lx_set_current_step(e->lx, NULL);
  if (rc != 0) {
    smf_error_prefix(err, "hook '%s' (after)", fn);
    err->klass = SMF_CLASS_HOOK;
    return rc;
  }
  if (ret != NULL && ret->type != DSL_MAP) {
    SMF_ERR_SET(err, SMF_EINVAL,
                "hook '%s' (after) must return a table of outputs or nil, not a %s", fn,
                dsl_type_name(ret->type));
    err->klass = SMF_CLASS_HOOK;
    return SMF_EINVAL;
  }
  if (ret != NULL) {
    *outputs = dsl_node_merge(&s->arena, *outputs, ret);
  }
  return 0;
}

void eng_hook_on_failure(struct eng_step *s)
{
  struct eng *e = s->eng;
  const char *fn = eng__hook_name(e, s->def->hook_on_failure, "on_failure");
  if (fn == NULL || e->fatal) {
    return;
  }
  struct smf_arena a = SMF_ARENA_INIT;
  const struct dsl_node *args[2] = {eng__describe(s, s->attempts, s->ctx.spec, &a),
                                    eng__error_table(&a, s->err_class, s->err_message)};
  struct smf_error err = SMF_ERROR_INIT;
  lx_set_current_step(e->lx, s->def->id);
  if (eng__call(s, fn, args, 2, &a, NULL, &err) != 0) {
    smf_log_step(SMF_LOG_ERROR, s->def->id, "hook '%s' (on_failure) failed: %s", fn, err.message);
  }
  lx_set_current_step(e->lx, NULL);
  smf_arena_free(&a);
}

// ---- pipeline hooks ----

static struct dsl_node *eng__run_table(struct eng *e, const char *status, struct smf_arena *a)
{
  struct dsl_node *t = dsl_node_new(a, DSL_MAP);
  dsl_map_set(a, t, "id", eng__str(a, e->run_id));
  dsl_map_set(a, t, "name", eng__str(a, e->p->name));
  dsl_map_set(a, t, "status", eng__str(a, status));
  dsl_map_set(a, t, "target", eng__str(a, eng__target(e)));
  struct dsl_node *steps = dsl_node_new(a, DSL_MAP);
  for (size_t i = 0; i < e->n; i++) {
    struct eng_step *s = &e->steps[i];
    struct dsl_node *st = dsl_node_new(a, DSL_MAP);
    dsl_map_set(a, st, "state", eng__str(a, eng_state_name(s->state)));
    dsl_map_set(a, st, "kind", eng__str(a, dsl_kind_name(s->def->kind)));
    dsl_map_set(a, st, "attempts", dsl_node_int(a, s->attempts));
    struct smf_error jerr = SMF_ERROR_INIT;
    struct dsl_node *out = s->outputs_json ? eng_json_to_node(a, s->outputs_json, &jerr) : NULL;
    dsl_map_set(a, st, "outputs", out ? out : dsl_node_new(a, DSL_MAP));
    if (s->err_message && (s->state == STEP_FAILED || s->state == STEP_CANCELLED)) {
      dsl_map_set(a, st, "error", eng__error_table(a, s->err_class, s->err_message));
    }
    dsl_map_set(a, steps, s->def->id, st);
  }
  dsl_map_set(a, t, "steps", steps);
  struct dsl_node *failed = dsl_node_new(a, DSL_SEQ);
  for (size_t i = 0; i < e->n; i++) {
    if (e->steps[i].state == STEP_FAILED) {
      dsl_seq_push(a, failed, eng__str(a, e->steps[i].def->id));
    }
  }
  dsl_map_set(a, t, "failed_steps", failed);
  return t;
}

struct eng__end_hook {
  bool done;
  int status;
  struct smf_error err;
};

static void eng__end_hook_done(void *data, int status, const struct smf_error *err,
                               const struct dsl_node *result)
{
  (void)result;  // ignored, as SPEC §3 says
  struct eng__end_hook *h = data;
  h->done = true;
  h->status = status;
  if (status != 0 && err != NULL) {
    h->err = *err;
  }
}

// The pipeline hook runs as a coroutine on the run's loop once every step has
// finished (before the run's final status is written: a crash during it leaves
// the run resumable, and the resume calls the hook again), so it may use
// smflow.sleep, smflow.http.request and smflow.aws.call (a chat notification).
void eng_hook_run_end(struct eng *e, const char *status)
{
  bool failed = strcmp(status, "succeeded") != 0;
  const char *fn = failed ? e->p->on_failure : e->p->on_success;
  if (fn == NULL) {
    return;
  }
  struct smf_arena a = SMF_ARENA_INIT;
  const struct dsl_node *arg = eng__run_table(e, failed ? "failed" : "succeeded", &a);
  struct eng__end_hook h = {0};
  struct step_luaco_config cfg = {.loop = &e->loop,
                                  .x = e->lx,
                                  .target_name = eng__target(e),
                                  .region = e->p->region,
                                  .target = e->target,
                                  .done = eng__end_hook_done,
                                  .data = &h};
  struct step_luaco *r = NULL;
  int rc = step_luaco_start(&cfg, fn, &arg, 1, &r, &h.err);
  smf_arena_free(&a);  // converted into Lua values by now
  if (rc == 0) {
    while (!h.done && uv_run(&e->loop, UV_RUN_ONCE) != 0) {
    }
    rc = h.done ? h.status : SMF_EINTERNAL;
    step_luaco_close(r);
    uv_run(&e->loop, UV_RUN_DEFAULT);  // the runner's handles close
  }
  if (rc != 0) {
    smf_log(SMF_LOG_ERROR, "hook '%s' (%s) failed: %s", fn, failed ? "on_failure" : "on_success",
            h.err.message[0] ? h.err.message : smf_strerror(rc));
  }
}
