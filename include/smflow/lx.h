// lx.h: the Lua 5.4 sandbox of a run. One lua_State per run serves `${...}`
// expressions, `when:` conditions, hooks and `lua` steps (SPEC §3), with a
// memory cap (custom allocator) and an instruction cap (count hook) that
// `pcall` cannot swallow. Nothing in here blocks the event loop.
//
// Ownership: struct lx owns its lua_State. Trees returned by lx functions are
// allocated in the arena the caller passes and borrowed from it.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smflow/dsl.h"
#include "smflow/error.h"
#include "smflow/util.h"

struct lx;

struct lx_config {
  size_t mem_limit;        ///< bytes; 0 = default (64 MiB)
  uint64_t instr_limit;    ///< VM instructions per call; 0 = default (100 million)
  const char *lua_path;    ///< directory holding smflow's Lua library (lua/), or NULL
};

/// New sandbox. Caller frees with lx_free. Returns NULL and sets *err on failure.
struct lx *lx_new(const struct lx_config *cfg, struct smf_error *err);
void lx_free(struct lx *x);

/// Load the hooks file (source text only; bytecode refused) into the sandbox.
/// Its global functions become callable hooks and are visible to expressions.
int lx_load_hooks(struct lx *x, const char *path, struct smf_error *err);

/// Set a global (params, vars, run, env, git, aws) to the Lua value of `value`
/// (maps → tables, seqs → arrays, scalars → Lua scalars). NULL value = nil.
int lx_set_global(struct lx *x, const char *name, const struct dsl_node *value,
                  struct smf_error *err);
/// steps.ID = value (the outputs of a finished upstream step).
int lx_set_step_outputs(struct lx *x, const char *step_id, const struct dsl_node *outputs,
                        struct smf_error *err);

/// Interpolate every `${...}` in a tree: a string that is exactly one `${EXPR}`
/// takes the value's type (number, boolean, table); otherwise results are spliced
/// into the string. Result tree allocated in `a`. Errors name
/// PATH:LINE:COL of the expression (from the nodes' marks) and Lua's message.
int lx_interpolate(struct lx *x, const struct dsl_node *in, const char *path,
                   struct smf_arena *a, struct dsl_node **out, struct smf_error *err);

/// Evaluate a bare Lua expression (a `when:` string node) to a boolean (Lua truthiness).
int lx_eval_bool(struct lx *x, const struct dsl_node *expr, const char *path, bool *out,
                 struct smf_error *err);

/// Check the syntax of one expression without running it (validation).
/// `chunk_name` is used in Lua's message. Returns 0 or SMF_ELUA with Lua's message.
int lx_check_syntax(const char *expr, size_t len, const char *chunk_name, struct smf_error *err);
