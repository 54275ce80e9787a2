// validate.c: the document-level rules of SPEC §3 — top-level keys, params,
// vars, defaults, steps (ids, kind keys, needs, when), the dependency graph and
// its cycles, and `${...}` expressions with their `steps.X` references.
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/internal.h"
#include "smflow/dag.h"
#include "smflow/lx.h"

static const char *const top_keys[] = {"smflow", "name",    "target",   "region",     "role",
                                       "hooks",  "concurrency", "params", "vars",     "defaults",
                                       "steps",  "on_success", "on_failure"};
static const char *const step_keys[] = {"needs", "when",   "retry",    "timeout", "cache",
                                        "hooks", "upload", "fit",      "evaluate", "register",
                                        "deploy", "run",   "lua"};
static const char *const default_keys[] = {"retry", "timeout", "cache", "hooks"};
static const char *const targets[] = {"local", "aws", NULL};

struct build {
  struct dsl_pipeline *p;
  struct dsl_diags *d;
  const char *path;
  struct dsl_vctx v;      ///< top-level context (no step)
  struct dsl_expr_ctx x;
  struct dsl_keyset ids;  ///< step id -> index
  struct dag *g;
  bool cycle;
  size_t cur;             ///< step being scanned, for reference checks
  const struct dsl_node *params_node;  ///< top-level `params` map, or NULL
  const struct dsl_node *vars_node;    ///< top-level `vars` map, or NULL
  size_t var_cur;         ///< index of the var being scanned; SIZE_MAX outside vars
  bool uses_hooks;
};

static bool in_list(const char *k, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (strcmp(list[i], k) == 0) {
      return true;
    }
  }
  return false;
}

// Names that users of GitHub Actions, Argo Workflows or Compose files reach for,
// and smflow's key for the same thing (used when no near spelling is found).
static const struct {
  const char *theirs, *ours;
} key_aliases[] = {
    {"depends_on", "needs"},     {"depends-on", "needs"},     {"dependsOn", "needs"},
    {"depends", "needs"},        {"dependencies", "needs"},   {"requires", "needs"},
    {"after", "needs"},          {"if", "when"},              {"condition", "when"},
    {"retryStrategy", "retry"},  {"retry_strategy", "retry"}, {"retries", "retry"},
    {"timeout-minutes", "timeout"}, {"timeout_minutes", "timeout"},
    {"timeout_seconds", "timeout"}, {"activeDeadlineSeconds", "timeout"},
    {"script", "run"},           {"command", "run"},          {"shell", "run"},
    {"jobs", "steps"},           {"tasks", "steps"},          {"parameters", "params"},
    {"arguments", "params"},     {"inputs", "params"},        {"variables", "vars"},
    {"parallelism", "concurrency"}, {"max_parallel", "concurrency"},
    {"max-parallel", "concurrency"}, {"version", "smflow"},
};

static void unknown_key(struct build *b, const char *prefix, const struct dsl_pair *pr,
                        const char *const *list, size_t n)
{
  const char *sug = smf_str_suggest(pr->key, list, n);
  for (size_t i = 0; sug == NULL && i < SMF_ARRAY_LEN(key_aliases); i++) {
    if (strcmp(pr->key, key_aliases[i].theirs) == 0 && in_list(key_aliases[i].ours, list, n)) {
      dsl_diags_add(b->d, b->path, pr->key_mark, "%sunknown key '%s' (smflow calls it '%s')",
                    prefix, pr->key, key_aliases[i].ours);
      return;
    }
  }
  if (sug == NULL && strcmp(pr->key, "env") == 0 && in_list("run", list, n)) {
    dsl_diags_add(b->d, b->path, pr->key_mark,
                  "%sunknown key 'env' (environment variables belong to the kind: "
                  "run: {command, env}, or 'environment' of the other kinds)",
                  prefix);
    return;
  }
  if (sug) {
    dsl_diags_add(b->d, b->path, pr->key_mark, "%sunknown key '%s' (did you mean '%s'?)", prefix,
                  pr->key, sug);
  } else {
    dsl_diags_add(b->d, b->path, pr->key_mark, "%sunknown key '%s'", prefix, pr->key);
  }
}

// ---- expression references --------------------------------------------------------------

static void ref_forbidden(void *ud, const char *step, size_t len, struct dsl_mark m)
{
  struct build *b = ud;
  dsl_diags_add(b->d, b->path, m, "%s'steps.%.*s' cannot be used here: steps have not run yet",
                b->x.prefix, (int)len, step);
}

static void ref_in_step(void *ud, const char *step, size_t len, struct dsl_mark m)
{
  struct build *b = ud;
  char *id = smf_xstrndup(step, len);
  size_t idx;
  const struct dsl_step *me = &b->p->steps[b->cur];
  if (!dsl__keyset_get(&b->ids, id, &idx)) {
    const char **names = smf_xmalloc((b->p->n_steps + 1) * sizeof(*names));
    for (size_t i = 0; i < b->p->n_steps; i++) {
      names[i] = b->p->steps[i].id;
    }
    const char *sug = smf_str_suggest(id, names, b->p->n_steps);
    if (sug) {
      dsl_diags_add(b->d, b->path, m, "%sexpression references unknown step '%s' (did you mean '%s'?)",
                    b->x.prefix, id, sug);
    } else {
      dsl_diags_add(b->d, b->path, m, "%sexpression references unknown step '%s'", b->x.prefix, id);
    }
    free(names);
  } else if (idx == b->cur) {
    dsl_diags_add(b->d, b->path, m, "%sexpression references the step's own outputs", b->x.prefix);
  } else if (!b->cycle && !dag_is_upstream(b->g, idx, b->cur)) {
    dsl_diags_add(b->d, b->path, m,
                  "%sexpression references step '%s', which is not upstream of '%s' (add it to "
                  "needs)",
                  b->x.prefix, id, me->id);
  }
  free(id);
}

// Index of key `name` in map `n` (a map node or NULL), or SIZE_MAX.
static size_t map_index(const struct dsl_node *n, const char *name)
{
  if (n == NULL || n->type != DSL_MAP) {
    return SIZE_MAX;
  }
  for (size_t i = 0; i < n->u.map.n; i++) {
    if (strcmp(n->u.map.pairs[i].key, name) == 0) {
      return i;
    }
  }
  return SIZE_MAX;
}

static void unknown_name(struct build *b, const char *what, const struct dsl_node *map,
                         const char *name, size_t limit, struct dsl_mark m)
{
  size_t n = map && map->type == DSL_MAP ? map->u.map.n : 0;
  n = limit < n ? limit : n;
  const char **names = smf_xmalloc((n + 1) * sizeof(*names));
  for (size_t i = 0; i < n; i++) {
    names[i] = map->u.map.pairs[i].key;
  }
  const char *sug = smf_str_suggest(name, names, n);
  if (sug) {
    dsl_diags_add(b->d, b->path, m, "%sexpression references unknown %s '%s' (did you mean '%s'?)",
                  b->x.prefix, what, name, sug);
  } else {
    dsl_diags_add(b->d, b->path, m, "%sexpression references unknown %s '%s'", b->x.prefix, what,
                  name);
  }
  free(names);
}

// The fields of the `run`, `git` and `aws` globals (SPEC §3).
static const char *const run_fields[] = {"id", "name", "timestamp", "date", "started_at"};
static const char *const git_fields[] = {"sha", "short_sha", "branch", "dirty"};
static const char *const aws_fields[] = {"region", "account_id", "default_bucket"};

static void fixed_field(struct build *b, const char *root, const char *id, struct dsl_mark m)
{
  const char *const *list = root[0] == 'r' ? run_fields : root[0] == 'g' ? git_fields : aws_fields;
  size_t n = root[0] == 'r'   ? SMF_ARRAY_LEN(run_fields)
             : root[0] == 'g' ? SMF_ARRAY_LEN(git_fields)
                              : SMF_ARRAY_LEN(aws_fields);
  if (in_list(id, list, n)) {
    return;
  }
  struct smf_buf all = SMF_BUF_INIT;
  for (size_t i = 0; i < n; i++) {
    smf_buf_printf(&all, "%s%s", i ? ", " : "", list[i]);
  }
  const char *sug = smf_str_suggest(id, list, n);
  dsl_diags_add(b->d, b->path, m, "%s'%s.%s' does not exist (%s has %s)%s%s%s", b->x.prefix, root,
                id, root, smf_buf_cstr(&all), sug ? "; did you mean '" : "", sug ? sug : "",
                sug ? "'?" : "");
  smf_buf_free(&all);
}

// `params.NAME` must name a declared param; `vars.NAME` a var (inside vars: an earlier one);
// `run.NAME`, `git.NAME` and `aws.NAME` one of their documented fields.
static void ref_name(void *ud, const char *root, const char *name, size_t len, struct dsl_mark m)
{
  struct build *b = ud;
  char *id = smf_xstrndup(name, len);
  if (root[0] == 'r' || root[0] == 'g' || root[0] == 'a') {
    fixed_field(b, root, id, m);
    free(id);
    return;
  }
  if (root[0] == 'p') {
    if (map_index(b->params_node, id) == SIZE_MAX) {
      unknown_name(b, "param", b->params_node, id, SIZE_MAX, m);
    }
    free(id);
    return;
  }
  size_t idx = map_index(b->vars_node, id);
  if (idx == SIZE_MAX) {
    unknown_name(b, "var", b->vars_node, id, b->var_cur, m);
  } else if (b->var_cur != SIZE_MAX && idx == b->var_cur) {
    dsl_diags_add(b->d, b->path, m, "%svar '%s' cannot refer to itself", b->x.prefix, id);
  } else if (b->var_cur != SIZE_MAX && idx > b->var_cur) {
    dsl_diags_add(b->d, b->path, m,
                  "%svar '%s' is defined later (vars are evaluated in order; move it above)",
                  b->x.prefix, id);
  }
  free(id);
}

static void scan_forbidden(struct build *b, const char *prefix, const struct dsl_node *n)
{
  b->x.prefix = prefix;
  b->x.on_ref = ref_forbidden;
  dsl__expr_scan_tree(&b->x, n);
}

// ---- top level ----------------------------------------------------------------------------

static void check_region(struct build *b, const struct dsl_node *n)
{
  const char *s = n->type == DSL_STR ? n->u.str.s : NULL;
  if (n->type == DSL_STR && n->has_expr) {
    return;
  }
  // [a-z]{2}(-[a-z]+)+-[0-9]+, e.g. us-east-1, ap-southeast-2, us-gov-west-1
  bool ok = s != NULL && strlen(s) >= 6;
  size_t i = 0, parts = 0;
  while (ok && s[i]) {
    size_t st = i;
    while (s[i] && s[i] != '-') {
      i++;
    }
    parts++;
    ok = i > st;
    if (s[i] == '-') {
      i++;
      ok = ok && s[i] != '\0';
    }
  }
  if (ok) {
    const char *last = strrchr(s, '-');
    ok = parts >= 3 && last && strspn(last + 1, "0123456789") == strlen(last + 1) &&
         strspn(s, "abcdefghijklmnopqrstuvwxyz-") == (size_t)(last - s + 1);
  }
  if (!ok) {
    dsl_diags_add(b->d, b->path, n->mark, "region: expected an AWS region such as us-east-1, got %s%s%s",
                  s ? "'" : "", s ? s : dsl__a_type(n->type), s ? "'" : "");
  }
}

static void top_scalar(struct build *b, const struct dsl_pair *pr)
{
  const struct dsl_node *n = pr->value;
  struct dsl_pipeline *p = b->p;
  const char *k = pr->key;
  if (strcmp(k, "smflow") == 0) {
    if (n->type != DSL_INT) {
      dsl_diags_add(b->d, b->path, n->mark, "smflow: expected the schema version 1, got %s",
                    dsl__a_type(n->type));
    } else if (n->u.i != 1) {
      dsl_diags_add(b->d, b->path, n->mark,
                    "smflow: unsupported schema version %lld (this smflow reads version 1)",
                    (long long)n->u.i);
    } else {
      p->version = 1;
    }
  } else if (strcmp(k, "name") == 0) {
    if (n->type != DSL_STR || !dsl__valid_pipeline_name(n->u.str.s)) {
      dsl_diags_add(b->d, b->path, n->mark,
                    "name: expected 1 to 40 letters, digits or hyphens, got %s%s%s",
                    n->text ? "'" : "", n->text ? n->text : dsl__a_type(n->type), n->text ? "'" : "");
    } else {
      p->name = n->u.str.s;
    }
  } else if (strcmp(k, "target") == 0) {
    dsl__value_check(&b->v, "target", n, VT_ENUM, targets);
    p->target = n->type == DSL_STR ? n->u.str.s : NULL;
  } else if (strcmp(k, "region") == 0) {
    check_region(b, n);
    p->region = n->type == DSL_STR ? n->u.str.s : NULL;
  } else if (strcmp(k, "role") == 0) {
    dsl__value_check(&b->v, "role", n, VT_ROLE_ARN, NULL);
    p->role = n->type == DSL_STR ? n->u.str.s : NULL;
  } else if (strcmp(k, "hooks") == 0) {
    dsl__value_check(&b->v, "hooks", n, VT_STR, NULL);
    p->hooks = n->type == DSL_STR ? n->u.str.s : NULL;
  } else if (strcmp(k, "concurrency") == 0) {
    dsl__value_check(&b->v, "concurrency", n, VT_POSINT, NULL);
    if (n->type == DSL_INT && n->u.i > 0) {  // more than INT_MAX in flight is unlimited anyway
      p->concurrency = n->u.i > INT_MAX ? INT_MAX : (int)n->u.i;
    }
  } else if (strcmp(k, "on_success") == 0 || strcmp(k, "on_failure") == 0) {
    dsl__value_check(&b->v, k, n, VT_IDENT, NULL);
    const char *s = n->type == DSL_STR ? n->u.str.s : NULL;
    *(k[3] == 's' ? &p->on_success : &p->on_failure) = s;
    b->uses_hooks = true;
  }
}

// ---- params and vars ------------------------------------------------------------------------

// Lua 5.4's reserved words: a param or var so named could not be read as
// params.NAME / vars.NAME.
static bool is_lua_keyword(const char *s)
{
  static const char *const kw[] = {"and",   "break", "do",     "else", "elseif", "end",
                                   "false", "for",   "function", "goto", "if",   "in",
                                   "local", "nil",   "not",    "or",   "repeat", "return",
                                   "then",  "true",  "until",  "while"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(kw); i++) {
    if (strcmp(s, kw[i]) == 0) {
      return true;
    }
  }
  return false;
}

static void build_params(struct build *b, const struct dsl_node *n)
{
  if (n->type != DSL_MAP) {
    dsl_diags_add(b->d, b->path, n->mark, "params: expected a map, got %s", dsl__a_type(n->type));
    return;
  }
  struct dsl_pipeline *p = b->p;
  p->params = smf_arena_alloc(&p->arena, (n->u.map.n + 1) * sizeof(*p->params));
  for (size_t i = 0; i < n->u.map.n; i++) {
    const struct dsl_pair *pr = &n->u.map.pairs[i];
    enum dsl_type t = pr->value->type;
    if (t != DSL_INT && t != DSL_FLOAT && t != DSL_BOOL && t != DSL_STR) {
      dsl_diags_add(b->d, b->path, pr->value->mark,
                    "param '%s': the default must be an integer, a number, a boolean or a string, "
                    "got %s",
                    pr->key, dsl__a_type(t));
      continue;
    }
    if (!dsl__is_ident(pr->key) || strchr(pr->key, '.')) {
      dsl_diags_add(b->d, b->path, pr->key_mark,
                    "param '%s': names are Lua identifiers (letters, digits, '_')", pr->key);
    } else if (is_lua_keyword(pr->key)) {
      dsl_diags_add(b->d, b->path, pr->key_mark,
                    "param '%s': '%s' is a Lua keyword (params.%s would not compile); choose "
                    "another name",
                    pr->key, pr->key, pr->key);
    }
    if (t == DSL_STR && pr->value->has_expr) {
      dsl_diags_add(b->d, b->path, pr->value->mark,
                    "param '%s': a default is a plain value, not interpolated; compute it "
                    "under vars: (e.g. vars: {%s: \"%s\"})",
                    pr->key, pr->key, pr->value->u.str.s);
    }
    struct dsl_param *q = &p->params[p->n_params++];
    q->name = pr->key;
    q->mark = pr->key_mark;
    q->value = pr->value;
  }
}

static void build_vars(struct build *b, const struct dsl_node *n)
{
  if (n->type != DSL_MAP) {
    dsl_diags_add(b->d, b->path, n->mark, "vars: expected a map, got %s", dsl__a_type(n->type));
    return;
  }
  struct dsl_pipeline *p = b->p;
  p->vars = smf_arena_alloc(&p->arena, (n->u.map.n + 1) * sizeof(*p->vars));
  for (size_t i = 0; i < n->u.map.n; i++) {
    const struct dsl_pair *pr = &n->u.map.pairs[i];
    if (!dsl__is_ident(pr->key) || strchr(pr->key, '.')) {
      dsl_diags_add(b->d, b->path, pr->key_mark,
                    "var '%s': names are Lua identifiers (letters, digits, '_')", pr->key);
    } else if (is_lua_keyword(pr->key)) {
      dsl_diags_add(b->d, b->path, pr->key_mark,
                    "var '%s': '%s' is a Lua keyword (vars.%s would not compile); choose "
                    "another name",
                    pr->key, pr->key, pr->key);
    }
    struct dsl_var *q = &p->vars[p->n_vars++];
    q->name = pr->key;
    q->mark = pr->key_mark;
    q->value = pr->value;
    char *prefix = smf_arena_printf(&p->arena, "var '%s': ", pr->key);
    b->var_cur = i;
    scan_forbidden(b, prefix, pr->value);
    b->var_cur = SIZE_MAX;
  }
}

static const struct dsl_node *check_defaults(struct build *b, const struct dsl_node *n)
{
  if (n->type != DSL_MAP) {
    dsl_diags_add(b->d, b->path, n->mark, "defaults: expected a map, got %s", dsl__a_type(n->type));
    return NULL;
  }
  for (size_t i = 0; i < n->u.map.n; i++) {
    const struct dsl_pair *pr = &n->u.map.pairs[i];
    if (in_list(pr->key, default_keys, SMF_ARRAY_LEN(default_keys))) {
      continue;
    }
    if (in_list(pr->key, step_keys, SMF_ARRAY_LEN(step_keys))) {
      dsl_diags_add(b->d, b->path, pr->key_mark,
                    "defaults: '%s' cannot have a default (only retry, timeout, cache, hooks)",
                    pr->key);
    } else {
      unknown_key(b, "defaults: ", pr, default_keys, SMF_ARRAY_LEN(default_keys));
    }
  }
  struct dsl_vctx v = b->v;
  v.scope = "defaults";
  dsl__check_step_keys(&v, n, true);
  if (dsl_map_get(n, "hooks")) {
    b->uses_hooks = true;
  }
  scan_forbidden(b, "defaults: ", n);
  return n;
}


// ---- steps ---------------------------------------------------------------------------------

static int step_kind(struct build *b, const struct dsl_step *s, const struct dsl_node *node)
{
  int kind = -1;
  const char *first = NULL;
  for (size_t i = 0; i < node->u.map.n; i++) {
    const struct dsl_pair *pr = &node->u.map.pairs[i];
    int k = dsl_kind_parse(pr->key);
    if (k < 0) {
      continue;
    }
    if (kind >= 0) {
      dsl_diags_add(b->d, b->path, pr->key_mark,
                    "step '%s': two kind keys '%s' and '%s' (a step has exactly one)", s->id, first,
                    pr->key);
      continue;
    }
    kind = k;
    first = pr->key;
  }
  if (kind < 0) {
    dsl_diags_add(b->d, b->path, s->mark,
                  "step '%s': no kind key (one of upload, fit, evaluate, register, deploy, run, lua)",
                  s->id);
  }
  return kind;
}

static void step_needs(struct build *b, struct dsl_step *s, const struct dsl_node *n)
{
  struct dsl_pipeline *p = b->p;
  const struct dsl_node *one[1] = {n};
  const struct dsl_node *const *items = one;
  size_t cnt = 1;
  if (n->type == DSL_SEQ) {
    items = (const struct dsl_node *const *)n->u.seq.items;
    cnt = n->u.seq.n;
  }
  s->needs = smf_arena_alloc(&p->arena, (cnt + 1) * sizeof(*s->needs));
  s->need_idx = smf_arena_alloc(&p->arena, (cnt + 1) * sizeof(*s->need_idx));
  for (size_t i = 0; i < cnt; i++) {
    const struct dsl_node *it = items[i];
    if (it->type != DSL_STR) {
      dsl_diags_add(b->d, b->path, it->mark, "step '%s': needs: expected a step id, got %s",
                    s->id, dsl__a_type(it->type));
      continue;
    }
    size_t idx;
    if (!dsl__keyset_get(&b->ids, it->u.str.s, &idx)) {
      const char **names = smf_xmalloc((p->n_steps + 1) * sizeof(*names));
      for (size_t k = 0; k < p->n_steps; k++) {
        names[k] = p->steps[k].id;
      }
      const char *sug = smf_str_suggest(it->u.str.s, names, p->n_steps);
      if (sug) {
        dsl_diags_add(b->d, b->path, it->mark,
                      "step '%s': needs unknown step '%s' (did you mean '%s'?)", s->id,
                      it->u.str.s, sug);
      } else {
        dsl_diags_add(b->d, b->path, it->mark, "step '%s': needs unknown step '%s'", s->id,
                      it->u.str.s);
      }
      free(names);
      continue;
    }
    s->needs[s->n_needs] = it->u.str.s;
    s->need_idx[s->n_needs++] = idx;
  }
}

static void check_step(struct build *b, struct dsl_step *s, const struct dsl_node *node,
                       const struct dsl_node *defaults)
{
  struct dsl_pipeline *p = b->p;
  s->kind = DSL_KIND__COUNT;
  s->needs = smf_arena_alloc(&p->arena, sizeof(*s->needs));
  s->need_idx = smf_arena_alloc(&p->arena, sizeof(*s->need_idx));
  s->node = node;
  if (node->type != DSL_MAP) {
    dsl_diags_add(b->d, b->path, node->mark, "step '%s': expected a map, got %s", s->id,
                  dsl__a_type(node->type));
    return;
  }
  char prefix[128];
  snprintf(prefix, sizeof(prefix), "step '%s': ", s->id);
  for (size_t i = 0; i < node->u.map.n; i++) {
    const struct dsl_pair *pr = &node->u.map.pairs[i];
    if (!in_list(pr->key, step_keys, SMF_ARRAY_LEN(step_keys))) {
      unknown_key(b, prefix, pr, step_keys, SMF_ARRAY_LEN(step_keys));
    }
  }
  int kind = step_kind(b, s, node);
  const struct dsl_node *needs = dsl_map_get(node, "needs");
  if (needs) {
    step_needs(b, s, needs);
  }
  const struct dsl_node *when = dsl_map_get(node, "when");
  if (when && when->type != DSL_STR && when->type != DSL_BOOL) {
    dsl_diags_add(b->d, b->path, when->mark, "step '%s': when: expected a Lua expression, got %s",
                  s->id, dsl__a_type(when->type));
  }
  struct dsl_vctx v = b->v;
  v.step = s->id;
  dsl__check_step_keys(&v, node, false);
  if (dsl_map_get(node, "hooks") || kind == DSL_KIND_LUA) {
    b->uses_hooks = true;
  }
  if (kind < 0) {
    return;
  }
  s->kind = (enum dsl_kind)kind;
  const char *kname = dsl_kind_name(s->kind);
  dsl_spec_validate_step(s->kind, dsl_map_get(node, kname), false, b->v.aws, s->id, b->path, b->d);
  if (defaults) {
    s->node = dsl_node_merge(&p->arena, defaults, node);
  }
  s->spec = dsl_map_get(s->node, kname);
  dsl__normalize_spec(&p->arena, s->kind, (struct dsl_node *)s->spec);
  dsl__step_fill(s, s->node);
  if (when && when->type == DSL_BOOL) {  // `when: false` is the expression "false"
    struct dsl_node *w = dsl_node_str(&p->arena, when->u.b ? "true" : "false", when->u.b ? 4 : 5);
    w->mark = when->mark;
    w->text = when->text;
    s->when = w;
  }
}

static void collect_steps(struct build *b, const struct dsl_node *steps)
{
  struct dsl_pipeline *p = b->p;
  if (steps->type != DSL_MAP) {
    dsl_diags_add(b->d, b->path, steps->mark, "steps: expected a map of step id -> step, got %s",
                  dsl__a_type(steps->type));
    return;
  }
  if (steps->u.map.n == 0) {
    dsl_diags_add(b->d, b->path, steps->mark, "steps: a pipeline needs at least one step");
  }
  p->steps = smf_arena_alloc(&p->arena, (steps->u.map.n + 1) * sizeof(*p->steps));
  for (size_t i = 0; i < steps->u.map.n; i++) {
    const struct dsl_pair *pr = &steps->u.map.pairs[i];
    if (!dsl__valid_step_id(pr->key)) {
      dsl_diags_add(b->d, b->path, pr->key_mark,
                    "step id '%s' may hold only lowercase letters, digits, '_' and '-' (1 to 63)",
                    pr->key);
    }
    struct dsl_step *s = &p->steps[p->n_steps];
    s->id = pr->key;
    s->index = p->n_steps++;
    s->mark = pr->key_mark;
    dsl__keyset_put(&b->ids, s->id, s->index, NULL);
  }
}

static void check_graph(struct build *b)
{
  struct dsl_pipeline *p = b->p;
  b->g = dag_new(p->n_steps);
  for (size_t i = 0; i < p->n_steps; i++) {
    for (size_t k = 0; k < p->steps[i].n_needs; k++) {
      dag_add_edge(b->g, p->steps[i].need_idx[k], i);
    }
  }
  size_t *cyc = NULL, n = 0;
  if (dag_finalize(b->g, &cyc, &n) != 0) {
    b->cycle = true;
    struct smf_buf m = SMF_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
      smf_buf_printf(&m, "%s%s", i ? " -> " : "", p->steps[cyc[i]].id);
    }
    dsl_diags_add(b->d, b->path, p->steps[cyc[0]].mark, "dependency cycle: %s", smf_buf_cstr(&m));
    smf_buf_free(&m);
    free(cyc);
  }
}

static void scan_step_exprs(struct build *b, size_t i, const struct dsl_node *node)
{
  struct dsl_step *s = &b->p->steps[i];
  if (node->type != DSL_MAP) {
    return;
  }
  char *prefix = smf_arena_printf(&b->p->arena, "step '%s': ", s->id);
  b->x.prefix = prefix;
  b->x.on_ref = ref_in_step;
  b->cur = i;
  for (size_t k = 0; k < node->u.map.n; k++) {
    const struct dsl_pair *pr = &node->u.map.pairs[k];
    if (strcmp(pr->key, "when") == 0) {
      if (pr->value->type == DSL_STR) {
        dsl__expr_check_bare(&b->x, pr->value);
      }
      continue;
    }
    dsl__expr_scan_tree(&b->x, pr->value);
  }
}

// ---- the document ------------------------------------------------------------------------

static void default_name(struct build *b)
{
  const char *base = strrchr(b->path, '/');
  base = base ? base + 1 : b->path;
  size_t len = strcspn(base, ".");
  char buf[41];
  size_t n = 0;
  for (size_t i = 0; i < len && n < 40; i++) {
    char c = base[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    buf[n++] = ok ? c : '-';
  }
  buf[n] = '\0';
  b->p->name = smf_arena_strdup(&b->p->arena, n ? buf : "pipeline");
}

static void top_level(struct build *b, const struct dsl_node *root, const struct dsl_node **parts)
{
  for (size_t i = 0; i < root->u.map.n; i++) {
    const struct dsl_pair *pr = &root->u.map.pairs[i];
    if (smf_str_startswith(pr->key, "x-")) {
      continue;
    }
    if (!in_list(pr->key, top_keys, SMF_ARRAY_LEN(top_keys))) {
      unknown_key(b, "", pr, top_keys, SMF_ARRAY_LEN(top_keys));
      continue;
    }
    if (strcmp(pr->key, "params") == 0) {
      parts[0] = pr->value;
    } else if (strcmp(pr->key, "vars") == 0) {
      parts[1] = pr->value;
    } else if (strcmp(pr->key, "defaults") == 0) {
      parts[2] = pr->value;
    } else if (strcmp(pr->key, "steps") == 0) {
      parts[3] = pr->value;
    } else if (pr->value->type == DSL_STR && pr->value->has_expr && strcmp(pr->key, "name") != 0) {
      // Settings of the run itself are read before any expression can be evaluated.
      size_t before = b->d->n;
      char *prefix = smf_arena_printf(&b->p->arena, "%s: ", pr->key);
      b->x.on_name = NULL;
      scan_forbidden(b, prefix, pr->value);  // `steps.X` and syntax have their own messages
      b->x.on_name = ref_name;
      if (b->d->n > before) {
        continue;
      }
      dsl_diags_add(b->d, b->path, pr->value->mark,
                    "%s: expressions are not evaluated in top-level settings; write the value "
                    "itself%s",
                    pr->key,
                    strcmp(pr->key, "target") == 0        ? " (or pass --target)"
                    : strcmp(pr->key, "concurrency") == 0 ? " (or pass --max-parallel)"
                    : strcmp(pr->key, "region") == 0      ? " (or leave it out: AWS_REGION is used)"
                                                          : "");
    } else {
      top_scalar(b, pr);
    }
  }
  b->params_node = parts[0];
  b->vars_node = parts[1];
}

void dsl__pipeline_build(struct dsl_pipeline *p, const struct dsl_node *root, const char *text,
                         size_t len, const struct dsl_param_override *ov, size_t n_ov,
                         struct dsl_diags *d)
{
  (void)ov, (void)n_ov;
  struct build b = {.p = p, .d = d, .path = p->path};
  b.v.path = p->path;
  b.v.d = d;
  b.x.path = p->path;
  b.x.d = d;
  struct smf_error serr = SMF_ERROR_INIT;
  b.x.syn = lx_syntax_new(&serr);
  if (b.x.syn == NULL) {
    dsl_diags_add(d, p->path, root->mark, "expressions cannot be checked: %s", serr.message);
  }
  b.x.text = text;
  b.x.len = len;
  size_t *lines = dsl__line_table(text, len, &b.x.n_lines);
  b.x.line_off = lines;
  b.x.ud = &b;
  b.x.on_name = ref_name;
  b.var_cur = SIZE_MAX;
  if (root->type != DSL_MAP) {
    dsl_diags_add(d, p->path, root->mark, "the top level must be a map of pipeline keys, got %s",
                  dsl__a_type(root->type));
    goto done;
  }
  const struct dsl_node *tgt = dsl_map_get(root, "target");
  b.v.aws = tgt && tgt->type == DSL_STR && strcmp(tgt->u.str.s, "aws") == 0;
  const struct dsl_node *parts[4] = {NULL, NULL, NULL, NULL};
  top_level(&b, root, parts);
  if (dsl_map_get(root, "smflow") == NULL) {
    dsl_diags_add(d, p->path, root->mark, "missing required key 'smflow' (the schema version: smflow: 1)");
  }
  if (p->name == NULL) {
    default_name(&b);
  }
  if (parts[0]) {
    build_params(&b, parts[0]);
  }
  if (parts[1]) {
    build_vars(&b, parts[1]);
  }
  const struct dsl_node *defaults = parts[2] ? check_defaults(&b, parts[2]) : NULL;
  if (parts[3] == NULL) {
    dsl_diags_add(d, p->path, root->mark, "missing required key 'steps'");
    goto done;
  }
  collect_steps(&b, parts[3]);
  for (size_t i = 0; i < p->n_steps; i++) {
    check_step(&b, &p->steps[i], parts[3]->u.map.pairs[i].value, defaults);
  }
  check_graph(&b);
  for (size_t i = 0; i < p->n_steps; i++) {
    scan_step_exprs(&b, i, parts[3]->u.map.pairs[i].value);
  }
  if (b.uses_hooks && p->hooks == NULL) {
    dsl_diags_add(d, p->path, root->mark,
                  "lua steps, step hooks and on_success/on_failure need a hooks file "
                  "(top-level 'hooks:')");
  }
done:
  lx_syntax_free(b.x.syn);
  free(lines);
  dsl__keyset_free(&b.ids);
  dag_free(b.g);
}
