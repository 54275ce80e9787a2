// common.c: helpers shared by the step kinds: the target, paths, deterministic
// job names, spec values as strings, JSON to value trees.
#include "steps/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smflow/hash.h"

struct target *step_target(struct step_ctx *ctx, struct smf_error *err)
{
  if (ctx->target == NULL) {
    SMF_ERR_SET(err, SMF_EUNSUPPORTED, "no target for step kind '%s': %s",
                dsl_kind_name(ctx->def->kind),
                ctx->target_error && *ctx->target_error ? ctx->target_error : "not configured");
    err->klass = SMF_CLASS_CLIENT;
  }
  return ctx->target;
}

const char *step_default_bucket_uri(struct step_ctx *ctx)
{
  const char *region = ctx->target && ctx->target->region ? ctx->target->region : "us-east-1";
  const char *account = ctx->target && ctx->target->account_id ? ctx->target->account_id
                                                              : STEP_LOCAL_ACCOUNT;
  return smf_arena_printf(ctx->arena, "s3://sagemaker-%s-%s/", region, account);
}

const char *step_path(struct step_ctx *ctx, const char *p)
{
  if (p == NULL || p[0] == '/' || strstr(p, "://") != NULL) {
    return p;
  }
  return smf_arena_printf(ctx->arena, "%s/%s", ctx->pipeline_dir, p);
}

static void step__sanitize(char *s)
{
  for (char *p = s; *p; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
    if (!ok) {
      *p = '-';
    }
  }
}

// Job names: BASE-RUNID-STEP-ATTEMPT, at most 63 characters of [a-zA-Z0-9-].
// RUNID, STEP and ATTEMPT make the name unique; BASE only helps a reader, so it
// is what gets cut. STEP is the step id when it is already a valid name part of
// at most 24 characters; otherwise (an `_`, or longer) its first 15 characters,
// made valid, then `-` and 8 hex digits of the SHA-256 of the id, so that two ids
// that differ only in `_`/`-` or after the 15th character still differ. BASE is
// cut to what is left (trailing `-` dropped) and left out when nothing is.
const char *step_job_name(struct step_ctx *ctx, const char *base)
{
  char step[40];
  size_t idlen = strlen(ctx->step_id);
  bool plain = idlen <= 24 && strchr(ctx->step_id, '_') == NULL;
  if (plain) {
    snprintf(step, sizeof(step), "%s", ctx->step_id);
  } else {
    char hex[SMF_HASH_HEX_SIZE];
    smf_hash_hex(SMF_HASH_SHA256, ctx->step_id, idlen, hex);
    snprintf(step, sizeof(step), "%.15s-%.8s", ctx->step_id, hex);
  }
  step__sanitize(step);
  char suffix[96];
  snprintf(suffix, sizeof(suffix), "%s-%s-%d", ctx->run_id, step, ctx->attempt);
  step__sanitize(suffix);
  size_t room = strlen(suffix) + 1 < 63 ? 63 - strlen(suffix) - 1 : 0;
  char b[64] = "";
  if (base && room > 0) {
    snprintf(b, sizeof(b), "%.*s", (int)room, base);
    step__sanitize(b);
    size_t bl = strlen(b);
    while (bl > 0 && b[bl - 1] == '-') {
      b[--bl] = '\0';
    }
    size_t lead = strspn(b, "-");
    memmove(b, b + lead, strlen(b + lead) + 1);
  }
  if (b[0] == '\0') {
    return smf_arena_printf(ctx->arena, "%.63s", suffix);
  }
  return smf_arena_printf(ctx->arena, "%s-%s", b, suffix);
}

const char *step_job_base(struct step_ctx *ctx)
{
  const char *b = dsl_map_str(ctx->spec, "base_job_name", NULL);
  if (b) {
    return b;
  }
  const char *img = dsl_map_str(ctx->spec, "image_uri", NULL);
  if (img && strcmp(img, "local") != 0) {
    // The SDK's base_name_from_image: the repository name, without registry and tag.
    const char *slash = strrchr(img, '/');
    const char *repo = slash ? slash + 1 : img;
    size_t n = strcspn(repo, ":@");
    if (n > 0) {
      return smf_arena_strndup(ctx->arena, repo, n);
    }
  }
  const char *fw = dsl_map_str(ctx->spec, "framework", NULL);
  return fw ? fw : ctx->step_id;
}

const char *step_scalar(struct step_ctx *ctx, const struct dsl_node *v)
{
  switch (v->type) {
  case DSL_STR:
    return v->u.str.s;
  case DSL_INT:
    return smf_arena_printf(ctx->arena, "%lld", (long long)v->u.i);
  case DSL_FLOAT: {
    if (v->text) {
      return v->text;
    }
    // A computed value (`${params.lr}`): Python's repr, as the hyperparameters
    // write it (0.1, not 0.10000000000000001).
    char *j = dsl_node_to_json_flags(v, DSL_JSON_PYTHON);
    const char *s = smf_arena_strdup(ctx->arena, j);
    free(j);
    return s;
  }
  case DSL_BOOL:
    return v->u.b ? "true" : "false";
  case DSL_NULL:
    return "";
  default: {
    char *j = dsl_node_to_json(v);
    const char *s = smf_arena_strdup(ctx->arena, j);
    free(j);
    return s;
  }
  }
}

struct target_kv *step_kvs(struct step_ctx *ctx, const struct dsl_node *map, size_t *n)
{
  *n = map && map->type == DSL_MAP ? map->u.map.n : 0;
  struct target_kv *kv = smf_arena_alloc(ctx->arena, (*n + 1) * sizeof(*kv));
  for (size_t i = 0; i < *n; i++) {
    kv[i].key = map->u.map.pairs[i].key;
    kv[i].value = step_scalar(ctx, map->u.map.pairs[i].value);
  }
  return kv;
}

const char *const *step_argv(struct step_ctx *ctx, const struct dsl_node *cmd, size_t *n)
{
  *n = 0;
  if (cmd == NULL) {
    return NULL;
  }
  size_t cap = cmd->type == DSL_SEQ ? cmd->u.seq.n + 1 : 32;
  const char **v = smf_arena_alloc(ctx->arena, cap * sizeof(*v));
  if (cmd->type == DSL_SEQ) {
    for (size_t i = 0; i < cmd->u.seq.n; i++) {
      v[(*n)++] = step_scalar(ctx, cmd->u.seq.items[i]);
    }
    return v;
  }
  char *s = smf_arena_strdup(ctx->arena, step_scalar(ctx, cmd));
  char *save = NULL;
  for (char *tok = strtok_r(s, " \t", &save); tok && *n + 1 < cap;
       tok = strtok_r(NULL, " \t", &save)) {
    v[(*n)++] = tok;
  }
  return v;
}

struct dsl_node *step_json_node(struct step_ctx *ctx, const json_t *j)
{
  return dsl_node_from_jansson(ctx->arena, j);
}

void step_fail(struct step_ctx *ctx, int code, enum smf_errclass klass, const char *fmt, ...)
{
  struct smf_error err = SMF_ERROR_INIT;
  va_list ap;
  va_start(ap, fmt);
  smf_error_vset_at(&err, code, __FILE__, __LINE__, __func__, fmt, ap);
  va_end(ap);
  err.klass = klass;
  step_ctx_done(ctx, code, &err, NULL);
}

json_t *step_intent_parse(const char *text)
{
  json_t *j = text ? json_loads(text, 0, NULL) : NULL;
  if (j && !json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  return j;
}
