// step.c: step-level keys (retry, timeout, cache, hooks), the kind dispatch of
// dsl_spec_validate, and filling struct dsl_step from a step's merged node.
#include <string.h>

#include "dsl/internal.h"

// Retry defaults when `retry:` leaves them out (docs/pipeline-language.md).
#define DSL_RETRY_BACKOFF_MS 10000
#define DSL_RETRY_MAX_BACKOFF_MS 300000

const char *dsl_kind_name(enum dsl_kind k)
{
  static const char *const names[] = {"upload", "fit", "evaluate", "register",
                                      "deploy", "run", "lua"};
  return (unsigned)k < SMF_ARRAY_LEN(names) ? names[k] : "?";
}

static void check_classes(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  if (n->type != DSL_SEQ) {
    dsl__verr(v, where, n->mark, "expected a list of error classes, got %s", dsl__a_type(n->type));
    return;
  }
  const char *names[SMF_CLASS__COUNT];
  size_t nn = 0;
  for (int c = 1; c < SMF_CLASS__COUNT; c++) {
    names[nn++] = smf_errclass_name((enum smf_errclass)c);
  }
  for (size_t i = 0; i < n->u.seq.n; i++) {
    const struct dsl_node *it = n->u.seq.items[i];
    if (it->type != DSL_STR) {
      dsl__verr(v, where, it->mark, "expected an error class name, got %s", dsl__a_type(it->type));
      continue;
    }
    if (smf_errclass_parse(it->u.str.s) > 0) {
      continue;
    }
    const char *sug = smf_str_suggest(it->u.str.s, names, nn);
    if (sug) {
      dsl__verr(v, where, it->mark, "unknown error class '%s' (did you mean '%s'?)", it->u.str.s,
                sug);
    } else {
      dsl__verr(v, where, it->mark, "unknown error class '%s'", it->u.str.s);
    }
  }
}
static const struct dsl_fnref classes_fn = {check_classes};

// Attempts are counted in an int and persisted per attempt: keep them sane.
#define DSL_MAX_ATTEMPTS 1000

static void check_attempts(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  dsl__value_check(v, where, n, VT_POSINT, NULL);
  if (n->type == DSL_INT && n->u.i > DSL_MAX_ATTEMPTS) {
    dsl__verr(v, where, n->mark, "must be at most %d, got %lld", DSL_MAX_ATTEMPTS,
              (long long)n->u.i);
  }
}
static const struct dsl_fnref attempts_fn = {check_attempts};

static const struct dsl_field retry_fields[] = {
    {"max_attempts", VT_FN, false, &attempts_fn},
    {"backoff", VT_DURATION, false, NULL},
    {"max_backoff", VT_DURATION, false, NULL},
    {"on", VT_FN, false, &classes_fn},
};
static const struct dsl_schema retry_schema = {retry_fields, SMF_ARRAY_LEN(retry_fields), NULL};

static const struct dsl_field hooks_fields[] = {
    {"before", VT_IDENT, false, NULL},
    {"after", VT_IDENT, false, NULL},
    {"on_failure", VT_IDENT, false, NULL},
};
static const struct dsl_schema hooks_schema = {hooks_fields, SMF_ARRAY_LEN(hooks_fields), NULL};

static void check_cache(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  if (n->type == DSL_BOOL) {
    return;
  }
  int64_t ms;
  if (dsl__deferred(v, n) || (n->type != DSL_BOOL && dsl__duration_ms(n, &ms))) {
    return;
  }
  if (n->text) {
    dsl__verr(v, where, n->mark, "expected true, false or a duration (e.g. 7d), got '%s'", n->text);
  } else {
    dsl__verr(v, where, n->mark, "expected true, false or a duration (e.g. 7d), got %s",
              dsl__a_type(n->type));
  }
}

// The first string holding a `${...}` in a tree, or NULL.
static const struct dsl_node *first_expr(const struct dsl_node *n)
{
  if (n->type == DSL_STR) {
    return n->has_expr ? n : NULL;
  }
  size_t cnt = n->type == DSL_SEQ ? n->u.seq.n : n->type == DSL_MAP ? n->u.map.n : 0;
  for (size_t i = 0; i < cnt; i++) {
    const struct dsl_node *c =
        first_expr(n->type == DSL_SEQ ? n->u.seq.items[i] : n->u.map.pairs[i].value);
    if (c != NULL) {
      return c;
    }
  }
  return NULL;
}

void dsl__check_step_keys(struct dsl_vctx *v, const struct dsl_node *step, bool in_defaults)
{
  (void)in_defaults;
  for (size_t i = 0; i < step->u.map.n; i++) {
    const struct dsl_pair *p = &step->u.map.pairs[i];
    const struct dsl_node *n = p->value;
    bool control = strcmp(p->key, "retry") == 0 || strcmp(p->key, "timeout") == 0 ||
                   strcmp(p->key, "cache") == 0 || strcmp(p->key, "hooks") == 0;
    const struct dsl_node *e = control ? first_expr(n) : NULL;
    if (e != NULL) {
      // Read once when the pipeline is loaded: nothing would evaluate an expression.
      dsl__verr(v, p->key, e->mark,
                "expressions are not evaluated in retry, timeout, cache or hooks; write the "
                "value itself");
      continue;
    }
    if (strcmp(p->key, "retry") == 0) {
      dsl__schema_check(v, "retry", n, &retry_schema);
    } else if (strcmp(p->key, "timeout") == 0) {
      dsl__value_check(v, "timeout", n, VT_DURATION, NULL);
    } else if (strcmp(p->key, "cache") == 0) {
      check_cache(v, "cache", n);
    } else if (strcmp(p->key, "hooks") == 0) {
      dsl__schema_check(v, "hooks", n, &hooks_schema);
    }
  }
}

static int64_t dur_ms(const struct dsl_node *n, int64_t dflt)
{
  int64_t ms;
  return dsl__duration_ms(n, &ms) ? ms : dflt;
}

void dsl__step_fill(struct dsl_step *s, const struct dsl_node *node)
{
  const struct dsl_node *r = dsl_map_get(node, "retry");
  int64_t attempts = dsl_map_int(r, "max_attempts", 1);
  s->retry.max_attempts = attempts < 1 ? 1 : attempts > DSL_MAX_ATTEMPTS ? DSL_MAX_ATTEMPTS : (int)attempts;
  s->retry.backoff_ms = dur_ms(dsl_map_get(r, "backoff"), DSL_RETRY_BACKOFF_MS);
  s->retry.max_backoff_ms = dur_ms(dsl_map_get(r, "max_backoff"), DSL_RETRY_MAX_BACKOFF_MS);
  const struct dsl_node *on = dsl_map_get(r, "on");
  for (size_t i = 0; on && on->type == DSL_SEQ && i < on->u.seq.n; i++) {
    const struct dsl_node *it = on->u.seq.items[i];
    int c = it->type == DSL_STR ? smf_errclass_parse(it->u.str.s) : -1;
    if (c > 0) {
      s->retry.on_mask |= 1u << c;
    }
  }
  s->timeout_ms = dur_ms(dsl_map_get(node, "timeout"), 0);
  const struct dsl_node *c = dsl_map_get(node, "cache");
  if (c == NULL || (c->type == DSL_BOOL && !c->u.b)) {
    s->cache = DSL_CACHE_OFF;
  } else if (c->type == DSL_BOOL) {
    s->cache = DSL_CACHE_ON;
  } else {
    s->cache = DSL_CACHE_TTL;
    s->cache_ttl_ms = dur_ms(c, 0);
  }
  const struct dsl_node *h = dsl_map_get(node, "hooks");
  s->hook_before = dsl_map_str(h, "before", NULL);
  s->hook_after = dsl_map_str(h, "after", NULL);
  s->hook_on_failure = dsl_map_str(h, "on_failure", NULL);
  const struct dsl_node *w = dsl_map_get(node, "when");
  s->when = w && w->type == DSL_STR ? w : NULL;
}

static void normalize_strmap(struct smf_arena *a, const struct dsl_node *map)
{
  if (map == NULL || map->type != DSL_MAP) {
    return;
  }
  for (size_t i = 0; i < map->u.map.n; i++) {
    struct dsl_pair *p = &map->u.map.pairs[i];
    const struct dsl_node *v = p->value;
    if (v->type == DSL_BOOL || v->type == DSL_INT || v->type == DSL_FLOAT) {
      const char *t = v->text ? v->text : "";
      struct dsl_node *s = dsl_node_str(a, t, strlen(t));
      s->mark = v->mark;
      s->text = v->text;
      p->value = s;
    }
  }
}

void dsl__normalize_spec(struct smf_arena *a, enum dsl_kind k, struct dsl_node *spec)
{
  if (spec == NULL || spec->type != DSL_MAP) {
    return;
  }
  normalize_strmap(a, dsl_map_get(spec, "environment"));
  normalize_strmap(a, dsl_map_get(spec, "tags"));
  normalize_strmap(a, dsl_map_get(spec, "metadata"));
  if (k == DSL_KIND_RUN) {
    normalize_strmap(a, dsl_map_get(spec, "env"));
  }
}

int dsl_spec_validate_step(enum dsl_kind kind, const struct dsl_node *spec, bool resolved,
                           bool aws, const char *step, const char *path, struct dsl_diags *diags)
{
  struct dsl_vctx v = {.path = path, .d = diags, .resolved = resolved, .step = step, .aws = aws};
  size_t before = diags->n;
  switch (kind) {
    case DSL_KIND_UPLOAD: dsl__spec_upload(&v, spec); break;
    case DSL_KIND_FIT: dsl__spec_fit(&v, spec); break;
    case DSL_KIND_EVALUATE: dsl__spec_evaluate(&v, spec); break;
    case DSL_KIND_REGISTER: dsl__spec_register(&v, spec); break;
    case DSL_KIND_DEPLOY: dsl__spec_deploy(&v, spec); break;
    case DSL_KIND_RUN: dsl__spec_run(&v, spec); break;
    case DSL_KIND_LUA: dsl__spec_lua(&v, spec); break;
    default:
      dsl_diags_add(diags, path, spec->mark, "unknown step kind");
      break;
  }
  return diags->n > before ? SMF_EVALIDATE : 0;
}

int dsl_spec_validate(enum dsl_kind kind, const struct dsl_node *spec, bool resolved,
                      const char *path, struct dsl_diags *diags)
{
  return dsl_spec_validate_step(kind, spec, resolved, false, NULL, path, diags);
}

int dsl_kind_parse(const char *name)
{
  for (int k = 0; k < DSL_KIND__COUNT; k++) {
    if (strcmp(dsl_kind_name((enum dsl_kind)k), name) == 0) {
      return k;
    }
  }
  return -1;
}
