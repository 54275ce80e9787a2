// lx_internal.h: what the files of src/lua share: the sandbox record, the
// protected-call plumbing and the value conversions. Not part of the public API.
#pragma once

#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smflow/dsl.h"
#include "smflow/error.h"
#include "smflow/lx.h"
#include "smflow/util.h"

#define LX_DEFAULT_MEM_LIMIT ((size_t)64 * 1024 * 1024)
#define LX_DEFAULT_INSTR_LIMIT ((uint64_t)100 * 1000 * 1000)
/// The count hook fires every LX_HOOK_STEP VM instructions (1 once a cap tripped).
#define LX_HOOK_STEP 1000
/// Deepest table nesting converted either way (also stops cycles).
#define LX_MAX_DEPTH 100
/// Chunk name of compiled `${...}` expressions; stripped from Lua's messages.
#define LX_EXPR_CHUNK "expression"

struct lx {
  lua_State *L;
  size_t mem_used, mem_limit;
  uint64_t instr_used, instr_limit;
  uint64_t env_reads;    ///< reads of the `env` global (lx_env_reads)
  bool mem_tripped;      ///< an allocation was refused by the cap since lx__begin
  bool instr_tripped;    ///< the instruction budget ran out since lx__begin
  bool closing;          ///< lx_free: stop any finalizer at once
  bool busy;             ///< inside lx__protect: public entry points are not re-entrant
  char trip_where[256];  ///< "FILE:LINE" of the Lua code running when a cap tripped
  char call_where[256];  ///< "FILE:LINE" defining the function of the running call
  char *lua_path;        ///< directory of lua/smflow/*.lua; owned
  char *step_id;         ///< current step or NULL; owned
  lx_log_fn *log_fn;
  void *log_ud;
};

/// Registry keys (their addresses are the keys).
extern const char lx__env_key;    ///< the sandbox environment table
extern const char lx__cache_key;  ///< compiled expressions by source text
extern const char lx__mods_key;   ///< required helper modules by name
extern const char lx__fail_key;   ///< metatable of smflow.fail error objects
/// smflow.json.null, a light userdata.
extern const char lx__json_null;

// Design note for `lua` steps (later): a step's coroutine is a lua_newthread kept
// by a luaL_ref; each resume from a uv callback is one top-level call like
// lx__protect (reset the caps, lua_resume, then check the tripped flags) and the
// hook, allocator and tripped flags above apply to it unchanged.

/// Common head of the argument record of a protected operation.
struct lx__op {
  struct lx *x;
  struct smf_error *err;
  int rc;
};

/// The sandbox owning L (the allocator's user data).
struct lx *lx__from_L(lua_State *L);

/// Run fn(L) under lua_pcall with `op` as its only (light userdata) argument and
/// the caps reset; fn reports through op->rc/op->err. A Lua error escaping fn (out of
/// memory while converting, ...) becomes op->err. Returns op->rc.
int lx__protect(struct lx *x, lua_CFunction fn, struct lx__op *op);

/// Call the function below the `nargs` arguments on top of the stack under the
/// caps. On success leaves `nres` results and returns 0. On failure pops everything,
/// fills err (message: traceback when `traceback`, else Lua's message; exactly the
/// message of smflow.fail) and returns SMF_ELUA.
int lx__pcall_user(struct lx *x, int nargs, int nres, bool traceback, struct smf_error *err);

/// Push the sandbox environment table.
void lx__push_env(lua_State *L);

/// Push the Lua value of `n` (NULL or DSL_NULL: nil). Raises on excessive depth.
void lx__push_node(lua_State *L, const struct dsl_node *n);
/// Convert the value at `idx` into a tree allocated in `a`. Returns 0, or
/// SMF_EINVAL with err set for values that have no tree form (functions, cycles, ...).
int lx__to_node(lua_State *L, int idx, struct smf_arena *a, struct dsl_node **out,
                struct smf_error *err);
/// A fresh node of type t in `a`.
struct dsl_node *lx__node_new(struct smf_arena *a, enum dsl_type t);

/// True when s[0, len) holds only spaces, tabs and line breaks (template.c).
bool lx__blank(const char *s, size_t len);
/// Lua's message without the "expression:LINE: " chunk prefix (a pointer into msg).
const char *lx__strip_chunk(const char *msg);
/// Push "return (EXPR\n)" (the newline keeps a trailing `--` comment off the paren).
void lx__push_code(lua_State *L, const char *expr, size_t len);

/// Push the `smflow` library table (lib.c).
void lx__open_smflow(lua_State *L);
/// Add sleep, http.request and aws.call to the `smflow` table on top (async.c).
void lx__open_async(lua_State *L);
/// Push the `smflow.json` table (json.c).
void lx__open_json(lua_State *L);
/// Emit a log line through the sandbox's log callback.
void lx__log(struct lx *x, const char *msg);

/// Replace find, match, gmatch and gsub of the string table at `strtab` by
/// versions that refuse a match whose worst-case work is too large (pattern.c).
void lx__guard_patterns(lua_State *L, int strtab);

/// Read-only views (readonly.c). Registry keys: the protected globals' table and
/// the real `steps` table.
extern const char lx__globals_key;
extern const char lx__steps_key;
/// Push a read-only view of the table at idx; `counting`: reads count in env_reads.
void lx__push_ro_view(lua_State *L, int idx, bool counting);
/// If the value at idx is a view, push its real table and return 1; else 0.
int lx__push_real(lua_State *L, int idx);
/// Pop a value and make it the protected global `name` (a table becomes a view).
void lx__set_protected(lua_State *L, const char *name);
/// Move the library tables of the environment at `env` behind views, and make
/// the protected names, rawset on them and the strings' metatable unchangeable.
void lx__protect_env(lua_State *L, int env);
