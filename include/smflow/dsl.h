// dsl.h: the pipeline model. dsl/ reads a pipeline file with libyaml, keeps the
// source mark of every node, checks it against the language of SPEC §3–4 and
// yields an immutable, typed model. It knows nothing of the engine.
//
// Ownership: a struct dsl_pipeline owns every node, string and array reachable
// from it (one arena); dsl_pipeline_free releases them all. Nodes handed out by
// accessors are borrowed from their pipeline (or from the arena they were built in).
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "smflow/error.h"
#include "smflow/util.h"

// ---------------------------------------------------------------------------
// Value tree: the YAML document after anchors, aliases and merge keys are
// resolved, with YAML 1.2 core-schema typing of plain scalars.

enum dsl_type { DSL_NULL, DSL_BOOL, DSL_INT, DSL_FLOAT, DSL_STR, DSL_SEQ, DSL_MAP };

/// 1-based line and column, as editors show them. {0,0} = no position (built at run time).
struct dsl_mark {
  unsigned line, col;
};

struct dsl_node;
struct json_t;  // jansson

struct dsl_pair {
  const char *key;
  struct dsl_mark key_mark;
  struct dsl_node *value;
};

struct dsl_node {
  enum dsl_type type;
  struct dsl_mark mark;
  bool quoted;        ///< scalar written quoted or as a block scalar (not plain)
  bool has_expr;      ///< DSL_STR containing at least one `${...}`
  const char *text;   ///< scalar's source text (for every scalar type), else NULL
  /// A one-line quoted scalar whose value differs from what is written between its
  /// quotes (escapes such as `\t` or `''`): that written text, so that positions
  /// inside the value can be mapped back to columns. Else NULL.
  const char *src;
  union {
    bool b;
    int64_t i;
    double f;
    struct {
      const char *s;  ///< NUL-terminated; may contain no NUL
      size_t len;
    } str;
    struct {
      struct dsl_node **items;
      size_t n;
    } seq;
    struct {
      struct dsl_pair *pairs;  ///< in document order; keys unique
      size_t n;
    } map;
  } u;
};

/// Value for `key` in a DSL_MAP, or NULL (also NULL if `map` is not a map). Borrowed.
const struct dsl_node *dsl_map_get(const struct dsl_node *map, const char *key);
/// Convenience accessors; return `dflt` when missing or of another type.
const char *dsl_map_str(const struct dsl_node *map, const char *key, const char *dflt);
int64_t dsl_map_int(const struct dsl_node *map, const char *key, int64_t dflt);
bool dsl_map_bool(const struct dsl_node *map, const char *key, bool dflt);
const char *dsl_type_name(enum dsl_type t);

// Builders, for code that makes trees at run time (Lua results, hooks' merges).
// All memory comes from `a`.
struct dsl_node *dsl_node_new(struct smf_arena *a, enum dsl_type t);
struct dsl_node *dsl_node_str(struct smf_arena *a, const char *s, size_t len);
struct dsl_node *dsl_node_int(struct smf_arena *a, int64_t v);
struct dsl_node *dsl_node_float(struct smf_arena *a, double v);
struct dsl_node *dsl_node_bool(struct smf_arena *a, bool v);
/// Append to a seq / set a key of a map (replacing an existing key). Amortised O(1) append.
void dsl_seq_push(struct smf_arena *a, struct dsl_node *seq, struct dsl_node *item);
void dsl_map_set(struct smf_arena *a, struct dsl_node *map, const char *key, struct dsl_node *value);
/// Deep copy into `a`.
struct dsl_node *dsl_node_clone(struct smf_arena *a, const struct dsl_node *n);
/// Deep merge (maps merge recursively, anything else: `over` wins). New tree in `a`.
struct dsl_node *dsl_node_merge(struct smf_arena *a, const struct dsl_node *base,
                                const struct dsl_node *over);
/// Canonical JSON text of a tree (keys in document order, compact, UTF-8 kept,
/// floats in their shortest round-trip form, NaN/Infinity as null). Caller frees.
char *dsl_node_to_json(const struct dsl_node *n);
/// Output like Python's `json.dumps` defaults: ", " and ": " separators, non-ASCII
/// escaped as \uXXXX, NaN/Infinity spelled out (SageMaker hyperparameter encoding).
#define DSL_JSON_PYTHON 1u
/// dsl_node_to_json with DSL_JSON_* flags. Caller frees.
char *dsl_node_to_json_flags(const struct dsl_node *n, unsigned flags);
/// A value tree from a jansson value (objects → maps in their key order, arrays → seqs,
/// integers/reals/strings/booleans/null → scalars). New tree in `a`; `j` is borrowed.
struct dsl_node *dsl_node_from_jansson(struct smf_arena *a, const struct json_t *j);

// ---------------------------------------------------------------------------
// Diagnostics: every problem of a file, reported in one pass, sorted by position.

struct dsl_diag {
  char *path;       ///< file the position refers to (pipeline or hooks file)
  unsigned line, col;
  char *message;    ///< without the "path:line:col: " prefix
};

struct dsl_diags {
  struct dsl_diag *items;
  size_t n, cap;
};

void dsl_diags_add(struct dsl_diags *d, const char *path, struct dsl_mark m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/// Sort by (path, line, col) and drop exact duplicates.
void dsl_diags_sort(struct dsl_diags *d);
/// One line per diagnostic: "PATH:LINE:COL: MESSAGE\n".
void dsl_diags_print(const struct dsl_diags *d, FILE *f);
void dsl_diags_free(struct dsl_diags *d);

// ---------------------------------------------------------------------------
// The pipeline model.

enum dsl_kind {
  DSL_KIND_UPLOAD,
  DSL_KIND_FIT,
  DSL_KIND_EVALUATE,
  DSL_KIND_REGISTER,
  DSL_KIND_DEPLOY,
  DSL_KIND_RUN,
  DSL_KIND_LUA,
  DSL_KIND__COUNT
};
const char *dsl_kind_name(enum dsl_kind k);  ///< "upload", "fit", ...

struct dsl_retry {
  int max_attempts;        ///< >= 1; 1 when no retry is configured
  int64_t backoff_ms;      ///< base delay of the exponential backoff
  int64_t max_backoff_ms;  ///< cap of one delay
  uint32_t on_mask;        ///< bit (1u << enum smf_errclass) per class; 0 = every failure
};

enum dsl_cache { DSL_CACHE_OFF, DSL_CACHE_ON, DSL_CACHE_TTL };

struct dsl_step {
  const char *id;            ///< [a-z0-9_-]+
  size_t index;              ///< position in dsl_pipeline.steps (document order)
  struct dsl_mark mark;      ///< of the step's key
  enum dsl_kind kind;
  const struct dsl_node *spec;  ///< value of the kind key, after `defaults` were merged in
  const struct dsl_node *node;  ///< the whole step map, after `defaults`
  const char **needs;        ///< step ids, as written
  size_t *need_idx;          ///< the same, as indexes into dsl_pipeline.steps
  size_t n_needs;
  const struct dsl_node *when;  ///< DSL_STR holding a bare Lua expression, or NULL
  struct dsl_retry retry;
  int64_t timeout_ms;        ///< 0 = none
  enum dsl_cache cache;
  int64_t cache_ttl_ms;      ///< for DSL_CACHE_TTL
  const char *hook_before, *hook_after, *hook_on_failure;  ///< Lua function names or NULL
};

struct dsl_param {
  const char *name;
  struct dsl_mark mark;
  const struct dsl_node *value;  ///< the default, or the --param override converted to its type
  bool overridden;
};

struct dsl_var {
  const char *name;
  struct dsl_mark mark;
  const struct dsl_node *value;  ///< unevaluated; may contain ${...}
};

struct dsl_pipeline {
  struct smf_arena arena;     ///< owns everything below
  const char *path;           ///< the file as named by the user
  const char *dir;            ///< absolute directory of the file
  const char *source;         ///< the file's bytes as read (dsl_pipeline_sha256)
  size_t source_len;
  int version;                ///< `smflow:` (1)
  const char *name;
  const char *target;         ///< "local" | "aws" | NULL (= local)
  const char *region, *role;  ///< NULL when absent
  const char *hooks;          ///< hooks file path, relative to dir; NULL when absent
  int concurrency;            ///< 0 = not set
  struct dsl_param *params;
  size_t n_params;
  struct dsl_var *vars;
  size_t n_vars;
  struct dsl_step *steps;     ///< document order
  size_t n_steps;
  const char *on_success, *on_failure;  ///< Lua function names or NULL
  const struct dsl_node *root;
};

struct dsl_param_override {
  const char *name;
  const char *value;  ///< text from `--param NAME=VALUE`, converted to the default's type
};

/// Load, resolve and validate a pipeline file. On success *out is set and 0 is
/// returned (diagnostics may still hold warnings: none today). On failure returns
/// SMF_EVALIDATE (or SMF_EIO/SMF_ENOENT for an unreadable file, also reported as a
/// diagnostic), *out is NULL, and `diags` holds every problem, sorted.
int dsl_load(const char *path, const struct dsl_param_override *ov, size_t n_ov,
             struct dsl_pipeline **out, struct dsl_diags *diags);
/// Hex SHA-256 of the file's bytes (the run's record, resume's change check).
/// Computed on request, not at load: the first digest of a process needs
/// libcrypto loaded (smf_hash_warm_start does that meanwhile on a thread of its own).
void dsl_pipeline_sha256(const struct dsl_pipeline *p, char out[65]);
/// The same for text in memory; `path` is used in messages and to resolve `dir`.
int dsl_load_buffer(const char *path, const char *text, size_t len,
                    const struct dsl_param_override *ov, size_t n_ov, struct dsl_pipeline **out,
                    struct dsl_diags *diags);
void dsl_pipeline_free(struct dsl_pipeline *p);

/// Step by id, or NULL.
const struct dsl_step *dsl_pipeline_step(const struct dsl_pipeline *p, const char *id);

/// Check one kind's spec against the language. `resolved` = the tree has been
/// interpolated (no `${...}` left), so every type is checked strictly; without it,
/// a string holding an expression is accepted wherever its result could fit.
/// Used at load time, and again on a step's spec after interpolation and after a
/// hook's `before` result was merged. Returns 0 or SMF_EVALIDATE.
int dsl_spec_validate(enum dsl_kind kind, const struct dsl_node *spec, bool resolved,
                      const char *path, struct dsl_diags *diags);
/// dsl_spec_validate with the message prefix "step 'STEP': " (STEP may be NULL) and
/// the target's rules (`aws` = true: an image is required where SageMaker needs one).
int dsl_spec_validate_step(enum dsl_kind kind, const struct dsl_node *spec, bool resolved,
                           bool aws, const char *step, const char *path, struct dsl_diags *diags);
/// Kind by name ("fit" -> DSL_KIND_FIT); -1 when unknown.
int dsl_kind_parse(const char *name);
