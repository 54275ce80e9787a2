// internal.h: declarations shared by the files of src/dsl/ (not public).
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "smflow/dsl.h"

struct lx_syntax;

// ---- yaml.c ----------------------------------------------------------------

/// Parse `text` (checked to be UTF-8 first) into a value tree allocated in `a`.
/// Every problem goes to `d`; returns 0, or SMF_EPARSE when no usable tree exists
/// (*root is then NULL). A tree with duplicate keys is still returned (with diags).
int dsl__yaml_parse(struct smf_arena *a, const char *path, const char *text, size_t len,
                    struct dsl_node **root, struct dsl_diags *d);

/// Type a plain scalar's text by the YAML 1.2 core schema into `n` (n->text set by caller).
void dsl__type_plain(struct dsl_node *n, const char *s);

// ---- keyset.c: a small string hash set used for duplicate checks and lookups ----

struct dsl_keyset {
  const char **keys;
  size_t *vals;
  size_t cap;  ///< power of two, 0 before the first insert
  size_t n;
};

/// Insert key -> val unless present. Returns the index stored for the key
/// (the new `val`, or the existing one). Keys are borrowed.
size_t dsl__keyset_put(struct dsl_keyset *s, const char *key, size_t val, bool *found);
/// Look up; returns true and sets *val when present.
bool dsl__keyset_get(const struct dsl_keyset *s, const char *key, size_t *val);
void dsl__keyset_free(struct dsl_keyset *s);

// ---- diag.c ------------------------------------------------------------------

/// "a string", "an integer", ... for messages.
const char *dsl__a_type(enum dsl_type t);
/// Count of diagnostics, for "did this check add any?" tests.
static inline size_t dsl__ndiags(const struct dsl_diags *d)
{
  return d->n;
}

// ---- schema.c: validation context and the table-driven checker --------------

struct dsl_vctx {
  const char *path;       ///< file name for diagnostics
  struct dsl_diags *d;
  bool resolved;          ///< no `${...}` left: check every type strictly
  const char *step;       ///< step id for the message prefix, or NULL
  const char *scope;      ///< prefix when there is no step ("defaults"), or NULL
  bool aws;               ///< the file says `target: aws`
};

/// Report a problem: "step 'ID': WHERE: MESSAGE" (parts omitted when empty).
void dsl__verr(struct dsl_vctx *v, const char *where, struct dsl_mark m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/// Value types of schema fields.
enum dsl_vt {
  VT_ANY,         ///< any value (e.g. Lua args)
  VT_STR,         ///< non-empty string
  VT_INT,         ///< any integer
  VT_POSINT,      ///< integer >= 1
  VT_BOOL,
  VT_DURATION,    ///< "90s", "10m", "2h", "1d" or seconds
  VT_LOCATION,    ///< s3://bucket/key, file://..., or a path
  VT_S3URI,       ///< s3://bucket[/key] only
  VT_ROLE_ARN,    ///< arn:PARTITION:iam::ACCOUNT:role/NAME
  VT_KMS,         ///< KMS key id, alias or ARN
  VT_ITYPE,       ///< ml.* instance type, local or local_gpu
  VT_ITYPE_LIST,  ///< list of VT_ITYPE
  VT_JOBBASE,     ///< base job name (see DSL_JOB_BASE_MAX)
  VT_AWSNAME,     ///< SageMaker resource name [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
  VT_ENUM,        ///< arg: NULL-terminated list of accepted strings
  VT_STRMAP,      ///< map of string values (unquoted scalars taken as text)
  VT_STRLIST,     ///< list of strings
  VT_CMD,         ///< a command: string or list of strings
  VT_VERSION,     ///< version-like string that must be quoted
  VT_MAP,         ///< any map
  VT_PERCENT,     ///< number 0..100
  VT_HTTP_STATUS, ///< integer 100..599
  VT_IDENT,       ///< Lua function name
  VT_SCHEMA,      ///< arg: const struct dsl_schema *, a nested map
  VT_SCHEMA_LIST, ///< arg: const struct dsl_schema *, a list of such maps
  VT_FN,          ///< arg: const struct dsl_fnref *, custom check
};

typedef void (*dsl_check_fn)(struct dsl_vctx *v, const char *where, const struct dsl_node *n);
/// Argument of a VT_FN field (a function pointer cannot travel as `const void *`).
struct dsl_fnref {
  dsl_check_fn fn;
};

struct dsl_field {
  const char *key;
  enum dsl_vt vt;
  bool required;
  const void *arg;
};

struct dsl_schema {
  const struct dsl_field *fields;
  size_t n;
  /// Cross-field rules, run after the per-key checks (may be NULL).
  void (*cross)(struct dsl_vctx *v, const char *where, const struct dsl_node *map);
};

/// Longest base job name: smflow appends "-RUNID-STEP-N" and SageMaker allows 63.
#define DSL_JOB_BASE_MAX 24

/// Check a map against a schema. `where` is the key path for messages ("" at a spec's root).
void dsl__schema_check(struct dsl_vctx *v, const char *where, const struct dsl_node *map,
                       const struct dsl_schema *s);
/// A duration value (number of seconds, or "90s"/"10m"/...) in ms; false when not one
/// or out of range (more than 9e12 seconds).
bool dsl__duration_ms(const struct dsl_node *n, int64_t *ms);
/// Check one value against one field type.
void dsl__value_check(struct dsl_vctx *v, const char *where, const struct dsl_node *n,
                      enum dsl_vt vt, const void *arg);
/// True when `n` is a string whose value cannot be known before run time.
bool dsl__deferred(const struct dsl_vctx *v, const struct dsl_node *n);
/// Join key paths: "a" + "b" -> "a.b" (into buf).
const char *dsl__where(char *buf, size_t n, const char *where, const char *key);

// Value predicates (return NULL when fine, else a static reason).
const char *dsl__check_s3uri(const char *s);
const char *dsl__check_arn(const char *s, const char *service, const char *resource_prefix);
const char *dsl__check_itype(const char *s);
const char *dsl__check_awsname(const char *s, size_t max);
bool dsl__is_ident(const char *s);
bool dsl__valid_step_id(const char *s);
bool dsl__valid_pipeline_name(const char *s);

// ---- spec_*.c: one schema per kind ---------------------------------------------

void dsl__spec_upload(struct dsl_vctx *v, const struct dsl_node *spec);
void dsl__spec_fit(struct dsl_vctx *v, const struct dsl_node *spec);
void dsl__spec_evaluate(struct dsl_vctx *v, const struct dsl_node *spec);
void dsl__spec_register(struct dsl_vctx *v, const struct dsl_node *spec);
void dsl__spec_deploy(struct dsl_vctx *v, const struct dsl_node *spec);
void dsl__spec_run(struct dsl_vctx *v, const struct dsl_node *spec);
void dsl__spec_lua(struct dsl_vctx *v, const struct dsl_node *spec);
/// `tags` check (string map, reserved prefixes), shared by several kinds.
extern const struct dsl_fnref dsl__tags_fn;
/// Shared by fit and evaluate: `inputs`.
void dsl__check_inputs(struct dsl_vctx *v, const char *where, const struct dsl_node *n);
/// Exactly-one / at-most-one of image_uri and framework (+ framework_version).
void dsl__check_image(struct dsl_vctx *v, const struct dsl_node *map, bool required);

// ---- expr.c ----------------------------------------------------------------------

/// Called for each `steps.X` / `steps["X"]` reference found in an expression.
typedef void (*dsl_ref_fn)(void *ud, const char *step, size_t len, struct dsl_mark m);
/// Called for each `params.X` / `vars.X` / `run.X` / `git.X` / `aws.X` (or bracket
/// form) reference; `root` is that global's name.
typedef void (*dsl_name_ref_fn)(void *ud, const char *root, const char *name, size_t len,
                                struct dsl_mark m);

struct dsl_expr_ctx {
  const char *path;
  struct dsl_diags *d;
  struct lx_syntax *syn;    ///< reused to compile every expression; NULL: not compiled
  const char *text;         ///< the file's bytes, to find `${` columns; may be NULL
  size_t len;
  const size_t *line_off;   ///< byte offset of each line start (index 0 = line 1)
  size_t n_lines;
  const char *prefix;       ///< "step 'x': " or "vars: " etc.
  dsl_ref_fn on_ref;
  dsl_name_ref_fn on_name;  ///< may be NULL
  void *ud;
};

/// Scan a string for `${...}`: check balance, compile each expression, report
/// `steps` references through on_ref and `params`/`vars` ones through on_name. `n` must be a DSL_STR.
void dsl__expr_scan_string(struct dsl_expr_ctx *x, const struct dsl_node *n);
/// The same for a bare expression (`when:`).
void dsl__expr_check_bare(struct dsl_expr_ctx *x, const struct dsl_node *n);
/// Walk a whole tree, scanning every string that holds `${`.
void dsl__expr_scan_tree(struct dsl_expr_ctx *x, const struct dsl_node *n);
/// The string holds at least one `${...}` (an escaped `$${` does not count).
bool dsl__has_expr(const char *s, size_t len);
/// Line start table of a text (malloc'd, caller frees).
size_t *dsl__line_table(const char *text, size_t len, size_t *n_lines);

// ---- validate.c / model.c ------------------------------------------------------------------

/// Check the whole document and fill `p` (steps, params, vars, ...). Problems go to `d`.
void dsl__pipeline_build(struct dsl_pipeline *p, const struct dsl_node *root, const char *text,
                         size_t len, const struct dsl_param_override *ov, size_t n_ov,
                         struct dsl_diags *d);
/// Step-level keys other than the kind key.
void dsl__check_step_keys(struct dsl_vctx *v, const struct dsl_node *step, bool in_defaults);
/// Fill a step's retry/timeout/cache/hooks from its (merged) node.
void dsl__step_fill(struct dsl_step *s, const struct dsl_node *node);
/// Turn unquoted scalars of string maps (environment, tags, ...) into strings.
void dsl__normalize_spec(struct smf_arena *a, enum dsl_kind k, struct dsl_node *spec);
