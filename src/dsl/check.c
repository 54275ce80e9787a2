// check.c: value checks by field type, and the schema walker that applies a
// per-kind key table to a map (unknown keys with suggestions, required keys,
// types, cross-field rules).
#include <math.h>
#include <string.h>

#include "dsl/internal.h"
#include "smflow/lx.h"

// A string that is exactly one `${...}`: its result keeps the expression's type.
static bool whole_expr(const struct dsl_node *n)
{
  const char *s = n->u.str.s;
  size_t len = n->u.str.len;
  return len >= 3 && lx_template_next(s, len, 0) == 0 && lx_template_close(s, len, 0) == len - 1;
}

static bool type_is(struct dsl_vctx *v, const char *where, const struct dsl_node *n,
                    enum dsl_type t, const char *want)
{
  if (n->type == t) {
    return true;
  }
  if (!v->resolved && n->type == DSL_STR && n->has_expr && (t == DSL_STR || whole_expr(n))) {
    return false;  // decided at run time
  }
  dsl__verr(v, where, n->mark, "expected %s, got %s", want, dsl__a_type(n->type));
  return false;
}

// The string of a string-valued field, or NULL (reported, or deferred).
static const char *want_str(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  if (!type_is(v, where, n, DSL_STR, "a string")) {
    return NULL;
  }
  if (dsl__deferred(v, n)) {
    return NULL;
  }
  if (n->u.str.len == 0) {
    dsl__verr(v, where, n->mark, "must not be empty");
    return NULL;
  }
  return n->u.str.s;
}

static void check_enum(struct dsl_vctx *v, const char *where, const struct dsl_node *n,
                       const char *const *list)
{
  const char *s = want_str(v, where, n);
  if (s == NULL) {
    return;
  }
  size_t cnt = 0;
  for (; list[cnt]; cnt++) {
    if (strcmp(list[cnt], s) == 0) {
      return;
    }
  }
  struct smf_buf b = SMF_BUF_INIT;
  for (size_t i = 0; i < cnt; i++) {
    smf_buf_printf(&b, "%s%s", i ? ", " : "", list[i]);
  }
  const char *sug = smf_str_suggest(s, list, cnt);
  if (sug) {
    dsl__verr(v, where, n->mark, "expected one of %s, got '%s' (did you mean '%s'?)",
              smf_buf_cstr(&b), s, sug);
  } else {
    dsl__verr(v, where, n->mark, "expected one of %s, got '%s'", smf_buf_cstr(&b), s);
  }
  smf_buf_free(&b);
}

bool dsl__duration_ms(const struct dsl_node *n, int64_t *ms)
{
  if (n == NULL) {
    return false;
  }
  switch (n->type) {
    case DSL_INT:
      if (n->u.i < 0 || n->u.i > 9000000000000LL) {
        return false;
      }
      *ms = n->u.i * 1000;
      return true;
    case DSL_FLOAT:
      if (!(n->u.f >= 0 && n->u.f <= 9e12)) {
        return false;
      }
      *ms = llround(n->u.f * 1000);
      return true;
    case DSL_STR:
      return smf_duration_parse(n->u.str.s, ms) == 0;
    default:
      return false;
  }
}

static void check_duration(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  int64_t ms;
  if (dsl__deferred(v, n) || dsl__duration_ms(n, &ms)) {
    return;
  }
  if (n->type == DSL_STR || n->type == DSL_INT || n->type == DSL_FLOAT) {
    dsl__verr(v, where, n->mark, "expected a duration (90s, 10m, 2h, 1d or seconds), got '%s'",
              n->text ? n->text : n->u.str.s);
  } else {
    dsl__verr(v, where, n->mark, "expected a duration (90s, 10m, 2h, 1d or seconds), got %s",
              dsl__a_type(n->type));
  }
}

static void check_location(struct dsl_vctx *v, const char *where, const struct dsl_node *n,
                           bool s3_only)
{
  const char *s = want_str(v, where, n);
  if (s == NULL) {
    return;
  }
  const char *why = NULL;
  if (strncmp(s, "s3://", 5) == 0 || s3_only) {
    why = dsl__check_s3uri(s);
  } else if (strstr(s, "://") != NULL && strncmp(s, "file://", 7) != 0) {
    why = "expected an S3 URI (s3://bucket/key), a file:// URI or a path";
  }
  if (why) {
    dsl__verr(v, where, n->mark, "%s, got '%s'", why, s);
  }
}

static void check_list(struct dsl_vctx *v, const char *where, const struct dsl_node *n,
                       enum dsl_vt item_vt, const void *arg)
{
  if (!type_is(v, where, n, DSL_SEQ, "a list")) {
    return;
  }
  char w[256];
  for (size_t i = 0; i < n->u.seq.n; i++) {
    snprintf(w, sizeof(w), "%s[%zu]", where, i);
    dsl__value_check(v, w, n->u.seq.items[i], item_vt, arg);
  }
}

static void check_scalar_str(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  if (n->type == DSL_SEQ || n->type == DSL_MAP || n->type == DSL_NULL) {
    dsl__verr(v, where, n->mark, "expected a string, got %s", dsl__a_type(n->type));
  }
}

static void check_strmap(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  if (!type_is(v, where, n, DSL_MAP, "a map of strings")) {
    return;
  }
  char w[256];
  for (size_t i = 0; i < n->u.map.n; i++) {
    const struct dsl_pair *p = &n->u.map.pairs[i];
    // Keys are not interpolated: a `${` there would reach the process or the
    // request as is (and is no valid variable, tag or metadata name).
    if (!v->resolved && strstr(p->key, "${") != NULL) {
      dsl__verr(v, where, p->key_mark,
                "the key '%s' holds an expression, but keys are not evaluated", p->key);
    }
    check_scalar_str(v, dsl__where(w, sizeof(w), where, p->key), p->value);
  }
}

static void check_version(struct dsl_vctx *v, const char *where, const struct dsl_node *n)
{
  if ((n->type == DSL_FLOAT || n->type == DSL_INT) && n->text) {
    dsl__verr(v, where, n->mark, "expected a string, got a number: write \"%s\" with quotes",
              n->text);
    return;
  }
  want_str(v, where, n);
}

static void check_num_range(struct dsl_vctx *v, const char *where, const struct dsl_node *n,
                            double lo, double hi, const char *what)
{
  double x;
  if (n->type == DSL_INT) {
    x = (double)n->u.i;
  } else if (n->type == DSL_FLOAT) {
    x = n->u.f;
  } else {
    type_is(v, where, n, DSL_INT, what);
    return;
  }
  if (!(x >= lo && x <= hi)) {
    dsl__verr(v, where, n->mark, "expected %s, got %s", what, n->text ? n->text : "?");
  }
}

static void check_str_fn(struct dsl_vctx *v, const char *where, const struct dsl_node *n,
                         enum dsl_vt vt)
{
  const char *s = want_str(v, where, n);
  if (s == NULL) {
    return;
  }
  const char *why = NULL;
  switch (vt) {
    case VT_ROLE_ARN: why = dsl__check_arn(s, "iam", "role/"); break;
    case VT_KMS: why = strncmp(s, "arn:", 4) == 0 ? dsl__check_arn(s, "kms", NULL) : NULL; break;
    case VT_ITYPE: why = dsl__check_itype(s); break;
    case VT_AWSNAME: why = dsl__check_awsname(s, 63); break;
    case VT_JOBBASE:
      why = dsl__check_awsname(s, 63);
      if (why == NULL && strlen(s) > DSL_JOB_BASE_MAX) {
        dsl__verr(v, where, n->mark,
                  "'%s' is longer than %d characters (smflow appends -RUNID-STEP-N and "
                  "SageMaker allows 63)",
                  s, DSL_JOB_BASE_MAX);
        return;
      }
      break;
    case VT_IDENT:
      why = dsl__is_ident(s) ? NULL : "expected a Lua function name";
      break;
    default: break;
  }
  if (why) {
    if (vt == VT_AWSNAME || vt == VT_JOBBASE) {
      dsl__verr(v, where, n->mark, "'%s' %s", s, why);
    } else {
      dsl__verr(v, where, n->mark, "%s, got '%s'", why, s);
    }
  }
}

void dsl__value_check(struct dsl_vctx *v, const char *where, const struct dsl_node *n,
                      enum dsl_vt vt, const void *arg)
{
  switch (vt) {
    case VT_ANY: break;
    case VT_STR: want_str(v, where, n); break;
    case VT_INT: type_is(v, where, n, DSL_INT, "an integer"); break;
    case VT_POSINT:
      if (type_is(v, where, n, DSL_INT, "an integer") && n->u.i < 1) {
        dsl__verr(v, where, n->mark, "must be at least 1, got %lld", (long long)n->u.i);
      }
      break;
    case VT_BOOL: type_is(v, where, n, DSL_BOOL, "a boolean (true or false)"); break;
    case VT_DURATION: check_duration(v, where, n); break;
    case VT_LOCATION: check_location(v, where, n, false); break;
    case VT_S3URI: check_location(v, where, n, true); break;
    case VT_ROLE_ARN:
    case VT_KMS:
    case VT_ITYPE:
    case VT_JOBBASE:
    case VT_AWSNAME:
    case VT_IDENT: check_str_fn(v, where, n, vt); break;
    case VT_ITYPE_LIST: check_list(v, where, n, VT_ITYPE, NULL); break;
    case VT_ENUM: check_enum(v, where, n, arg); break;
    case VT_STRMAP: check_strmap(v, where, n); break;
    case VT_STRLIST: check_list(v, where, n, VT_STR, NULL); break;
    case VT_CMD:
      if (n->type == DSL_SEQ) {
        // Arguments are text: a number or boolean (unquoted, or a typed `${...}`)
        // is taken as its text, as in a string map.
        char w[256];
        for (size_t i = 0; i < n->u.seq.n; i++) {
          snprintf(w, sizeof(w), "%s[%zu]", where, i);
          check_scalar_str(v, w, n->u.seq.items[i]);
        }
        if (n->u.seq.n == 0) {
          dsl__verr(v, where, n->mark, "the command must not be empty");
        }
      } else {
        want_str(v, where, n);
      }
      break;
    case VT_VERSION: check_version(v, where, n); break;
    case VT_MAP: type_is(v, where, n, DSL_MAP, "a map"); break;
    case VT_PERCENT: check_num_range(v, where, n, 0, 100, "a percentage from 0 to 100"); break;
    case VT_HTTP_STATUS:
      if (type_is(v, where, n, DSL_INT, "an HTTP status") && (n->u.i < 100 || n->u.i > 599)) {
        dsl__verr(v, where, n->mark, "expected an HTTP status from 100 to 599, got %lld",
                  (long long)n->u.i);
      }
      break;
    case VT_SCHEMA: dsl__schema_check(v, where, n, arg); break;
    case VT_SCHEMA_LIST: check_list(v, where, n, VT_SCHEMA, arg); break;
    case VT_FN: ((const struct dsl_fnref *)arg)->fn(v, where, n); break;
  }
}

void dsl__schema_check(struct dsl_vctx *v, const char *where, const struct dsl_node *map,
                       const struct dsl_schema *s)
{
  if (!type_is(v, where, map, DSL_MAP, "a map")) {
    return;
  }
  const char *names[96];
  size_t nn = s->n < SMF_ARRAY_LEN(names) ? s->n : SMF_ARRAY_LEN(names);
  for (size_t i = 0; i < nn; i++) {
    names[i] = s->fields[i].key;
  }
  char w[256];
  for (size_t i = 0; i < map->u.map.n; i++) {
    const struct dsl_pair *p = &map->u.map.pairs[i];
    const struct dsl_field *f = NULL;
    for (size_t k = 0; k < s->n; k++) {
      if (strcmp(s->fields[k].key, p->key) == 0) {
        f = &s->fields[k];
        break;
      }
    }
    if (f == NULL) {
      const char *sug = smf_str_suggest(p->key, names, nn);
      if (sug) {
        dsl__verr(v, where, p->key_mark, "unknown key '%s' (did you mean '%s'?)", p->key, sug);
      } else {
        dsl__verr(v, where, p->key_mark, "unknown key '%s'", p->key);
      }
      continue;
    }
    dsl__value_check(v, dsl__where(w, sizeof(w), where, p->key), p->value, f->vt, f->arg);
  }
  for (size_t k = 0; k < s->n; k++) {
    if (s->fields[k].required && dsl_map_get(map, s->fields[k].key) == NULL) {
      dsl__verr(v, where, map->mark, "missing required key '%s'", s->fields[k].key);
    }
  }
  if (s->cross) {
    s->cross(v, where, map);
  }
}
