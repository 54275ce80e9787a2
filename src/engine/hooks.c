// hooks.c: calling the hooks file's functions around steps and runs (SPEC §3).
// A step uses the functions its `hooks:` names, else the global `before`,
// `after` and `on_failure` when the hooks file defines them. before(step) may
// return a table deep-merged into the kind's spec; after(step, outputs) may
// return extra outputs; on_failure(step, err) and the pipeline's
// on_success(run) / on_failure(run) are told, and their results ignored.
#include <string.h>

#include "engine/eng_int.h"
#include "smflow/log.h"

static const char *eng__hook_name(struct eng *e, const char *named, const char *dflt)
{
  if (named) {
    return named;
  }
  return e->p->hooks && lx_has_function(e->lx, dflt) ? dflt : NULL;
}

static struct dsl_node *eng__step_table(struct eng_step *s, struct smf_arena *a,
                                        const struct dsl_node *spec)
{
  struct dsl_node *t = dsl_node_new(a, DSL_MAP);
  const char *id = s->def->id;
  const char *kind = dsl_kind_name(s->def->kind);
  dsl_map_set(a, t, "id", dsl_node_str(a, id, strlen(id)));
  dsl_map_set(a, t, "kind", dsl_node_str(a, kind, strlen(kind)));
  dsl_map_set(a, t, "run_id", dsl_node_str(a, s->eng->run_id, strlen(s->eng->run_id)));
  dsl_map_set(a, t, "attempt", dsl_node_int(a, s->ctx.attempt ? s->ctx.attempt : s->attempts));
  if (spec) {
    dsl_map_set(a, t, "spec", (struct dsl_node *)spec);
  }
  return t;
}

static int eng__call(struct eng_step *s, const char *fn, const struct dsl_node *const *args,
                     size_t n, struct dsl_node **ret, struct smf_error *err)
{
  struct eng *e = s->eng;
  lx_set_current_step(e->lx, s->def->id);
  int rc = lx_call(e->lx, fn, args, n, &s->arena, ret, err);
  lx_set_current_step(e->lx, NULL);
  if (rc != 0 && err->klass == SMF_CLASS_NONE) {
    err->klass = SMF_CLASS_HOOK;
  }
  return rc;
}

int eng_hook_before(struct eng_step *s, struct dsl_node **spec, struct smf_error *err)
{
  const char *fn = eng__hook_name(s->eng, s->def->hook_before, "before");
  if (fn == NULL) {
    return 0;
  }
  const struct dsl_node *args[] = {eng__step_table(s, &s->arena, *spec)};
  struct dsl_node *ret = NULL;
  int rc = eng__call(s, fn, args, 1, &ret, err);
  if (rc == 0 && ret && ret->type == DSL_MAP) {
    *spec = dsl_node_merge(&s->arena, *spec, ret);
  } else if (rc == 0 && ret && ret->type != DSL_MAP) {
    rc = SMF_ERR_SET(err, SMF_ELUA, "hook %s returned a %s, not a table", fn,
                     dsl_type_name(ret->type));
    err->klass = SMF_CLASS_HOOK;
  }
  return rc;
}

int eng_hook_after(struct eng_step *s, const struct dsl_node **outputs, struct smf_error *err)
{
  const char *fn = eng__hook_name(s->eng, s->def->hook_after, "after");
  if (fn == NULL) {
    return 0;
  }
  const struct dsl_node *args[] = {eng__step_table(s, &s->arena, s->ctx.spec), *outputs};
  struct dsl_node *ret = NULL;
  int rc = eng__call(s, fn, args, 2, &ret, err);
  if (rc == 0 && ret && ret->type == DSL_MAP) {
    *outputs = dsl_node_merge(&s->arena, *outputs, ret);
  }
  return rc;
}

void eng_hook_on_failure(struct eng_step *s)
{
  const char *fn = eng__hook_name(s->eng, s->def->hook_on_failure, "on_failure");
  if (fn == NULL) {
    return;
  }
  struct smf_arena *a = &s->arena;
  struct dsl_node *e = dsl_node_new(a, DSL_MAP);
  const char *klass = smf_errclass_name(s->err_class);
  const char *msg = s->err_message ? s->err_message : "";
  dsl_map_set(a, e, "class", dsl_node_str(a, klass, strlen(klass)));
  dsl_map_set(a, e, "message", dsl_node_str(a, msg, strlen(msg)));
  const struct dsl_node *args[] = {eng__step_table(s, a, NULL), e};
  struct smf_error err = SMF_ERROR_INIT;
  if (eng__call(s, fn, args, 2, NULL, &err) != 0) {
    smf_log_step(SMF_LOG_WARN, s->def->id, "hook %s: %s", fn, err.message);
  }
}

void eng_hook_run_end(struct eng *e, const char *status)
{
  const char *fn = strcmp(status, "succeeded") == 0 ? e->p->on_success : e->p->on_failure;
  if (fn == NULL) {
    return;
  }
  struct smf_arena *a = &e->arena;
  struct dsl_node *t = dsl_node_new(a, DSL_MAP);
  dsl_map_set(a, t, "id", dsl_node_str(a, e->run_id, strlen(e->run_id)));
  dsl_map_set(a, t, "name", dsl_node_str(a, e->p->name, strlen(e->p->name)));
  dsl_map_set(a, t, "status", dsl_node_str(a, status, strlen(status)));
  struct dsl_node *failed = dsl_node_new(a, DSL_SEQ);
  for (size_t i = 0; i < e->n; i++) {
    if (e->steps[i].state == STEP_FAILED) {
      const char *id = e->steps[i].def->id;
      dsl_seq_push(a, failed, dsl_node_str(a, id, strlen(id)));
    }
  }
  dsl_map_set(a, t, "failed_steps", failed);
  const struct dsl_node *args[] = {t};
  struct smf_error err = SMF_ERROR_INIT;
  if (lx_call(e->lx, fn, args, 1, a, NULL, &err) != 0) {
    smf_log(SMF_LOG_WARN, "hook %s: %s", fn, err.message);
  }
}
