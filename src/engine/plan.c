// plan.c: `smflow plan` — what a run would do, without doing anything.
//
// The run's globals are evaluated as a run would (params, vars, run, env, git;
// run.id is a fresh would-be id), then each step in dependency order:
//   skipped  its `when:` is already false, or an upstream step is skipped;
//   unknown  its `when:` or spec needs outputs of an earlier step that is not
//            cached (those values are shown as the `${...}` text), or it runs
//            only if an upstream step with such a `when:` runs;
//   cached   `cache:` is on and the state database has a result for its key
//            (the outputs of a cached step are then known to later steps);
//   run      otherwise.
// and the requests each would send, described per target by plan__targets
// (bodies as JSON; environment values whose names look secret are "***").
// An upload's code is packed as a run packs it (plan_upload.c): its outputs
// but `reused` are then known to later steps, as a cached step's are.
// Nothing is written: the state database is read only when it exists.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/eng_int.h"
#include "engine/plan_aws.h"
#include "engine/plan_upload.h"
#include "smflow/dag.h"

/// Append to `requests` (a JSON array) what a step of `kind` with the
/// (interpolated, redacted) spec `body` would send on one target.
typedef void (*plan_describe_fn)(enum dsl_kind kind, const char *step_id, json_t *spec,
                                 json_t *requests);

struct plan_step {
  const char *action;
  char *reason;
  json_t *requests;
  bool done;
  bool maybe_skipped;  ///< whether it runs depends on an unknown `when:` upstream
  bool outputs_known;  ///< cached or a planned upload: steps.ID is set in the sandbox
  const char *unknown_key;  ///< an output a run sets that plan does not know (upload: reused)
  json_t *outputs;          ///< what a run would set, when known (shown as "outputs")
};

struct plan {
  struct eng e;  ///< only p, opt, lx, run_id, arena are used
  struct state *st;
  const char *target;
  struct plan_step *steps;
  char *hooks_path;
};

// ---- requests per target ----

static json_t *plan__req(const char *service, const char *op, json_t *body)
{
  return json_pack("{s:s, s:s, s:o}", "service", service, "operation", op, "body",
                   body ? body : json_object());
}

static json_t *plan__spec_body(json_t *spec)
{
  return json_is_object(spec) ? json_deep_copy(spec) : json_pack("{s:O}", "value", spec);
}

// Steps that run on this machine whatever the target.
static bool plan__local_kind(enum dsl_kind kind, json_t *spec, json_t *requests)
{
  if (kind == DSL_KIND_RUN) {
    json_t *b = json_is_string(spec) ? json_pack("{s:O}", "command", spec) : json_deep_copy(spec);
    json_array_append_new(requests, plan__req("local", "RunCommand", b));
    return true;
  }
  if (kind == DSL_KIND_LUA) {
    json_t *b = json_is_string(spec)
                    ? json_pack("{s:O, s:o}", "function", spec, "args", json_object())
                    : json_deep_copy(spec);
    json_array_append_new(requests, plan__req("local", "CallLua", b));
    return true;
  }
  return false;
}

// The code a job packs: `source` (an upload's URI, used as it is) or
// source_dir / entry point packed into sourcedir.tar.gz and stored.
static bool plan__packs_code(json_t *spec)
{
  return json_object_get(spec, "source") == NULL &&
         (json_object_get(spec, "source_dir") || json_object_get(spec, "entry_point"));
}

static void plan__local(enum dsl_kind kind, const char *step_id, json_t *spec, json_t *requests)
{
  (void)step_id;
  if (plan__local_kind(kind, spec, requests)) {
    return;
  }
  static const char *const ops[DSL_KIND__COUNT] = {
      [DSL_KIND_UPLOAD] = "StoreObject",      [DSL_KIND_FIT] = "RunTraining",
      [DSL_KIND_EVALUATE] = "RunProcessing",  [DSL_KIND_REGISTER] = "CreateModelPackage",
      [DSL_KIND_DEPLOY] = "StartModelServer",
  };
  if ((kind == DSL_KIND_FIT || kind == DSL_KIND_EVALUATE) && plan__packs_code(spec)) {
    json_t *b =
        json_pack("{s:O?, s:O?, s:O?, s:s}", "source_dir", json_object_get(spec, "source_dir"),
                  "entry_point", json_object_get(spec, "entry_point"), "dependencies",
                  json_object_get(spec, "dependencies"), "archive", "sourcedir.tar.gz");
    json_array_append_new(requests, plan__req("local", "StoreObject", b));
  }
  json_array_append_new(requests, plan__req("local", ops[kind], plan__spec_body(spec)));
}

// aws: the calls the aws target makes for each kind, in order. Bodies are the
// interpolated spec the target builds them from.
static void plan__aws(enum dsl_kind kind, const char *step_id, json_t *spec, json_t *requests)
{
  (void)step_id;
  if (plan__local_kind(kind, spec, requests)) {
    return;
  }
  static const char *const calls[DSL_KIND__COUNT][4] = {
      [DSL_KIND_UPLOAD] = {"s3", "HeadObject", "s3", "PutObject"},
      [DSL_KIND_FIT] = {"sagemaker", "CreateTrainingJob"},
      [DSL_KIND_EVALUATE] = {"sagemaker", "CreateProcessingJob"},
      [DSL_KIND_REGISTER] = {"sagemaker", "CreateModelPackageGroup", "sagemaker",
                             "CreateModelPackage"},
      [DSL_KIND_DEPLOY] = {"sagemaker", "CreateModel", "sagemaker", "CreateEndpointConfig"},
  };
  if ((kind == DSL_KIND_FIT || kind == DSL_KIND_EVALUATE) && plan__packs_code(spec)) {
    json_array_append_new(
        requests,
        plan__req("s3", "PutObject",
                  json_pack("{s:O?, s:O?, s:s}", "source_dir", json_object_get(spec, "source_dir"),
                            "entry_point", json_object_get(spec, "entry_point"), "key",
                            "sourcedir.tar.gz")));
  }
  for (int i = 0; i < 4 && calls[kind][i]; i += 2) {
    json_array_append_new(requests,
                          plan__req(calls[kind][i], calls[kind][i + 1], plan__spec_body(spec)));
  }
  if (kind == DSL_KIND_DEPLOY) {
    json_array_append_new(requests,
                          plan__req("sagemaker", "CreateEndpoint", plan__spec_body(spec)));
  }
}

/// Where a target contributes its requests. A target whose request builders are
/// pure functions of the spec plugs them in here.
static const struct {
  const char *target;
  plan_describe_fn describe;
} plan__targets[] = {
    {"local", plan__local},
    {"aws", plan__aws},
};

// ---- secrets ----

static bool plan__secret_name(const char *name)
{
  static const char *const words[] = {"KEY", "SECRET", "TOKEN", "PASSWORD"};
  char up[256];
  size_t n = 0;
  for (; name[n] && n < sizeof(up) - 1; n++) {
    up[n] = (char)toupper((unsigned char)name[n]);
  }
  up[n] = '\0';
  for (size_t i = 0; i < SMF_ARRAY_LEN(words); i++) {
    if (strstr(up, words[i])) {
      return true;
    }
  }
  return false;
}

// Values of this process's environment variables whose names look secret, as
// they may be spliced into a spec with ${env.NAME}. Short values are left
// alone: "***" in place of every "1" would hide everything and protect nothing.
static json_t *plan__secret_values(void)
{
  extern char **environ;
  json_t *vals = json_array();
  for (char **ep = environ; *ep; ep++) {
    const char *eq = strchr(*ep, '=');
    char name[256];
    if (eq == NULL || (size_t)(eq - *ep) >= sizeof(name) || strlen(eq + 1) < 6) {
      continue;
    }
    snprintf(name, sizeof(name), "%.*s", (int)(eq - *ep), *ep);
    if (plan__secret_name(name)) {
      json_array_append_new(vals, json_string(eq + 1));
    }
  }
  return vals;
}

static json_t *plan__mask(const char *s, json_t *secrets)
{
  struct smf_buf b = SMF_BUF_INIT;
  smf_buf_puts(&b, s);
  size_t i;
  json_t *v;
  json_array_foreach(secrets, i, v)
  {
    const char *sec = json_string_value(v);
    char *at;
    while ((at = strstr(smf_buf_cstr(&b), sec)) != NULL) {
      struct smf_buf r = SMF_BUF_INIT;
      smf_buf_append(&r, b.data, (size_t)(at - b.data));
      smf_buf_printf(&r, "***%s", at + strlen(sec));
      smf_buf_free(&b);
      b = r;
    }
  }
  json_t *out = json_string(smf_buf_cstr(&b));
  smf_buf_free(&b);
  return out;
}

/// Redact: values of secret-looking names in every env/environment map, and
/// secret environment values wherever a string holds one.
static void plan__redact(json_t *j, json_t *secrets)
{
  const char *k;
  json_t *v;
  size_t i;
  if (json_is_array(j)) {
    json_array_foreach(j, i, v)
    {
      if (json_is_string(v)) {
        json_array_set_new(j, i, plan__mask(json_string_value(v), secrets));
      } else {
        plan__redact(v, secrets);
      }
    }
    return;
  }
  json_object_foreach(j, k, v)
  {
    // env / environment of specs, Environment of aws request bodies
    if ((strcasecmp(k, "env") == 0 || strcasecmp(k, "environment") == 0) && json_is_object(v)) {
      const char *name;
      json_t *val;
      json_object_foreach(v, name, val)
      {
        if (plan__secret_name(name)) {
          json_object_set_new(v, name, json_string("***"));
        }
      }
    }
    if (json_is_string(v)) {
      json_object_set_new(j, k, plan__mask(json_string_value(v), secrets));
    } else {
      plan__redact(v, secrets);
    }
  }
}

// ---- evaluation ----

// Ids of steps an expression text names (`steps.ID` or `steps["ID"]`): true
// when every one has known outputs; *any: it names at least one.
static bool plan__refs_known(struct plan *pl, const char *text, bool *any)
{
  bool known = true;
  for (const char *p = strstr(text, "steps"); p; p = strstr(p + 5, "steps")) {
    bool word_start = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
    if (!word_start || isalnum((unsigned char)p[5]) || p[5] == '_') {
      continue;
    }
    *any = true;
    const char *id = p + 5;
    id += strspn(id, " ");
    id += (*id == '.') ? 1 : (strncmp(id, "[\"", 2) == 0 || strncmp(id, "['", 2) == 0) ? 2 : 0;
    size_t len = strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    char buf[128];
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), id);
    const struct dsl_step *d = dsl_pipeline_step(pl->e.p, buf);
    if (d == NULL || !pl->steps[d->index].outputs_known) {
      known = false;
    } else if (pl->steps[d->index].unknown_key && id[len] == '.') {
      const char *uk = pl->steps[d->index].unknown_key;
      size_t kl = strlen(uk);
      const char *key = id + len + 1;
      known = known && !(strncmp(key, uk, kl) == 0 && !isalnum((unsigned char)key[kl]) &&
                         key[kl] != '_');
    }
  }
  return known;
}

// Interpolate what can be: strings that need unknown outputs stay as written.
static struct dsl_node *plan__interp(struct plan *pl, const struct dsl_node *n, bool *dependent,
                                     char **error)
{
  struct smf_arena *a = &pl->e.arena;
  if (n->type == DSL_MAP || n->type == DSL_SEQ) {
    struct dsl_node *out = dsl_node_new(a, n->type);
    size_t cnt = n->type == DSL_MAP ? n->u.map.n : n->u.seq.n;
    for (size_t i = 0; i < cnt; i++) {
      const struct dsl_node *v = n->type == DSL_MAP ? n->u.map.pairs[i].value : n->u.seq.items[i];
      struct dsl_node *c = plan__interp(pl, v, dependent, error);
      if (n->type == DSL_MAP) {
        dsl_map_set(a, out, n->u.map.pairs[i].key, c);
      } else {
        dsl_seq_push(a, out, c);
      }
    }
    return out;
  }
  if (n->type != DSL_STR || !n->has_expr) {
    return (struct dsl_node *)n;
  }
  bool any = false;
  if (!plan__refs_known(pl, n->u.str.s, &any)) {
    *dependent = true;
    return (struct dsl_node *)n;
  }
  struct dsl_node *out = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (lx_interpolate(pl->e.lx, n, pl->e.p->path, a, &out, &err) != 0) {
    if (*error == NULL) {
      *error = smf_xstrdup(err.message);
    }
    return (struct dsl_node *)n;
  }
  return out;
}

static void plan__set(struct plan_step *ps, const char *action, char *reason)
{
  ps->action = action;
  free(ps->reason);
  ps->reason = reason;
}

// `when:` → 1 true, 0 false (skipped), -1 unknown; errors give unknown + reason.
static int plan__when(struct plan *pl, const struct dsl_step *d, struct plan_step *ps)
{
  if (d->when == NULL) {
    return 1;
  }
  bool any = false;
  if (d->when->type == DSL_STR && !plan__refs_known(pl, d->when->u.str.s, &any)) {
    plan__set(ps, "unknown",
              smf_xasprintf("when: %s needs outputs of earlier steps", d->when->u.str.s));
    return -1;
  }
  bool ok = true;
  struct smf_error err = SMF_ERROR_INIT;
  if (lx_eval_bool(pl->e.lx, d->when, pl->e.p->path, &ok, &err) != 0) {
    plan__set(ps, "unknown", smf_xasprintf("when: %s", err.message));
    return -1;
  }
  if (!ok) {
    plan__set(ps, "skipped", smf_xasprintf("when: %s is false", d->when->u.str.s));
  }
  return ok ? 1 : 0;
}

// The digests of planned or cached uploads (eng_cache_input.known_json).
static char *plan__known(const struct plan *pl)
{
  json_t *known = json_object();
  for (size_t i = 0; i < pl->e.p->n_steps; i++) {
    const struct plan_step *ps = &pl->steps[i];
    if (pl->e.p->steps[i].kind != DSL_KIND_UPLOAD || !ps->outputs_known) {
      continue;
    }
    const char *uri = json_string_value(json_object_get(ps->outputs, "uri"));
    const char *sha = json_string_value(json_object_get(ps->outputs, "sha256"));
    if (uri && sha) {
      json_object_set_new(known, uri, json_string(sha));
    }
  }
  char *text = json_object_size(known) ? json_dumps(known, JSON_COMPACT) : NULL;
  json_decref(known);
  return text;
}

// cache: look the key up; a hit makes the outputs known to later steps.
static void plan__cache(struct plan *pl, const struct dsl_step *d, struct plan_step *ps,
                        const char *spec_json)
{
  char *known = plan__known(pl);
  struct eng_cache_input in = {.kind = dsl_kind_name(d->kind),
                               .spec_json = spec_json,
                               .pipeline_dir = pl->e.p->dir,
                               .state_dir = pl->st ? state_dir(pl->st) : "",
                               .target = pl->target,
                               .hooks_path = pl->hooks_path,
                               .known_json = known};
  char key[65];
  char *unknown = NULL;
  int krc = pl->st == NULL ? SMF_ENOENT : eng_cache_key(&in, key, &unknown);
  free(known);
  if (krc != 0) {
    plan__set(ps, "run",
              unknown ? smf_xasprintf("not cacheable: %s", unknown)
                      : smf_xstrdup("no earlier runs in the state directory"));
    free(unknown);
    return;
  }
  int64_t min = d->cache == DSL_CACHE_TTL ? smf_time_now_ms() - d->cache_ttl_ms : 0;
  struct state_cache_entry ent;
  struct smf_error err = SMF_ERROR_INIT;
  if (state_cache_lookup(pl->st, key, min, &ent, &err) != 0) {
    plan__set(ps, "run", smf_xasprintf("cache miss (key %.12s)", key));
    return;
  }
  plan__set(ps, "cached",
            smf_xasprintf("outputs of %s/%s/%d", ent.run_id, ent.step_id, ent.attempt));
  struct dsl_node *out = eng_json_to_node(&pl->e.arena, ent.outputs_json, &err);
  if (out && lx_set_step_outputs(pl->e.lx, d->id, out, &err) == 0) {
    ps->outputs_known = true;
    json_decref(ps->outputs);
    ps->outputs = json_loads(ent.outputs_json, 0, NULL);
  }
  state_cache_entry_clear(&ent);
}

// known: the spec has no value that needs outputs of earlier steps.
static void plan__requests(struct plan *pl, const struct dsl_step *d, struct plan_step *ps,
                           const struct dsl_node *node, json_t *spec, bool known)
{
  ps->requests = json_array();
  for (size_t i = 0; i < SMF_ARRAY_LEN(plan__targets); i++) {
    if (strcmp(plan__targets[i].target, pl->target) == 0) {
      plan__targets[i].describe(d->kind, d->id, spec, ps->requests);
    }
  }
  if (d->kind == DSL_KIND_UPLOAD && known && node && node->type == DSL_MAP) {
    ps->outputs = plan_upload(&pl->e, d, node, pl->target, ps->requests);
  }
  if (strcmp(pl->target, "aws") == 0) {
    plan_aws_bodies(&pl->e, d, node, ps->requests);
    // values made from a planned upload's outputs name the stand-in bucket
    json_t *r = plan_aws_placeholders(pl->e.p, ps->requests);
    json_decref(ps->requests);
    ps->requests = r;
  }
  json_t *secrets = plan__secret_values();
  plan__redact(ps->requests, secrets);
  json_decref(secrets);
}

// A planned upload that would run: its outputs are known to later steps,
// except `reused` (the HeadObject answer).
static void plan__upload_outputs(struct plan *pl, const struct dsl_step *d, struct plan_step *ps)
{
  if (ps->outputs == NULL || ps->outputs_known) {
    return;
  }
  struct smf_error err = SMF_ERROR_INIT;
  char *text = json_dumps(ps->outputs, JSON_COMPACT);
  struct dsl_node *out = eng_json_to_node(&pl->e.arena, text, &err);
  free(text);
  if (strcmp(ps->action, "skipped") != 0 && out &&
      lx_set_step_outputs(pl->e.lx, d->id, out, &err) == 0) {
    ps->outputs_known = true;
    ps->unknown_key = "reused";
  }
  if (!ps->outputs_known) {
    json_decref(ps->outputs);
    ps->outputs = NULL;
  }
}

static void plan__step(struct plan *pl, size_t i)
{
  struct plan_step *ps = &pl->steps[i];
  const struct dsl_step *d = &pl->e.p->steps[i];
  if (ps->done) {
    return;
  }
  ps->done = true;
  const char *skipped_need = NULL;
  for (size_t k = 0; k < d->n_needs; k++) {
    plan__step(pl, d->need_idx[k]);
    const struct plan_step *up = &pl->steps[d->need_idx[k]];
    ps->maybe_skipped = ps->maybe_skipped || up->maybe_skipped;
    skipped_need = strcmp(up->action, "skipped") == 0 ? d->needs[k] : skipped_need;
  }
  bool dependent = false;
  char *error = NULL;
  struct dsl_node *spec = plan__interp(pl, d->spec, &dependent, &error);
  char *spec_text = dsl_node_to_json(spec);
  json_t *spec_json = json_loads(spec_text, JSON_DECODE_ANY, NULL);
  plan__requests(pl, d, ps, spec, spec_json, !dependent && error == NULL);
  if (!dependent && error == NULL) {
    // a request that could not be built (code that cannot be packed, a body
    // without its role...): neither can the run's
    size_t k;
    json_t *r;
    json_array_foreach(ps->requests, k, r)
    {
      const char *why = json_string_value(json_object_get(r, "error"));
      if (why) {
        error = smf_xstrdup(why);
        break;
      }
    }
  }
  int when = skipped_need ? 0 : plan__when(pl, d, ps);
  if (skipped_need) {
    plan__set(ps, "skipped", smf_xasprintf("upstream step '%s' is skipped", skipped_need));
  } else if (when < 0) {
    ps->maybe_skipped = true;
  } else if (when == 0) {
    // plan__when set it
  } else if (error) {
    plan__set(ps, "unknown", smf_xasprintf("the run would fail: %s", error));
  } else if (dependent) {
    plan__set(ps, "unknown", smf_xstrdup("needs outputs of earlier steps"));
  } else if (ps->maybe_skipped) {
    plan__set(ps, "unknown", smf_xstrdup("runs only if an upstream step with when: runs"));
  } else if (d->cache != DSL_CACHE_OFF) {
    plan__cache(pl, d, ps, spec_text);
  } else {
    plan__set(ps, "run", NULL);
  }
  plan__upload_outputs(pl, d, ps);
  free(error);
  free(spec_text);
  json_decref(spec_json);
}

static int plan__init(struct plan *pl, const struct dsl_pipeline *p, const char *target,
                      struct state *st, struct smf_error *err)
{
  memset(pl, 0, sizeof(*pl));
  struct eng *e = &pl->e;
  e->p = p;
  pl->st = st;
  pl->target = target ? target : p->target ? p->target : "local";
  e->opt.target = pl->target;
  pl->steps = smf_xcalloc(p->n_steps ? p->n_steps : 1, sizeof(*pl->steps));
  pl->hooks_path = eng_hooks_path(p);
  struct lx_config cfg = {0};
  cfg.lua_path = access(SMF_SOURCE_LUA_DIR, F_OK) == 0 ? SMF_SOURCE_LUA_DIR : SMF_LUA_DIR;
  if ((e->lx = lx_new(&cfg, err)) == NULL) {
    return err->code ? err->code : SMF_ELUA;
  }
  int rc = pl->hooks_path ? lx_load_hooks(e->lx, pl->hooks_path, err) : 0;
  if (rc != 0) {
    return rc;
  }
  eng_run_id_new(e->run_id);
  char *globals = eng_globals_json(e);
  rc = eng_globals_init(e, globals, NULL, err);  // no state: vars are not persisted
  free(globals);
  return rc;
}

static void plan__free(struct plan *pl)
{
  for (size_t i = 0; pl->steps && i < pl->e.p->n_steps; i++) {
    free(pl->steps[i].reason);
    json_decref(pl->steps[i].requests);
    json_decref(pl->steps[i].outputs);
  }
  free(pl->steps);
  free(pl->hooks_path);
  lx_free(pl->e.lx);
  smf_arena_free(&pl->e.arena);
}

// Outputs as shown: placeholders for the stand-ins, secrets redacted.
static json_t *plan__shown_outputs(struct plan *pl, json_t *outputs)
{
  json_t *o = strcmp(pl->target, "aws") == 0 ? plan_aws_placeholders(pl->e.p, outputs)
                                             : json_deep_copy(outputs);
  json_t *secrets = plan__secret_values();
  plan__redact(o, secrets);
  json_decref(secrets);
  return o;
}

int eng_plan(const struct dsl_pipeline *p, const char *target, struct state *st, char **doc,
             struct smf_error *err)
{
  *doc = NULL;
  struct plan pl;
  int rc = plan__init(&pl, p, target, st, err);
  if (rc == 0) {
    json_t *steps = json_array();
    for (size_t i = 0; i < p->n_steps; i++) {
      plan__step(&pl, i);
      struct plan_step *ps = &pl.steps[i];
      json_t *s = json_pack("{s:s, s:s, s:s, s:s?, s:O}", "id", p->steps[i].id, "kind",
                            dsl_kind_name(p->steps[i].kind), "action", ps->action, "reason",
                            ps->reason, "requests", ps->requests);
      if (ps->outputs) {
        json_object_set_new(s, "outputs", plan__shown_outputs(&pl, ps->outputs));
      }
      json_array_append_new(steps, s);
    }
    json_t *j = json_pack("{s:o}", "steps", steps);
    *doc = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
  }
  plan__free(&pl);
  return rc;
}
