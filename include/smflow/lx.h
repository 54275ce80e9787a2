// lx.h: the Lua 5.4 sandbox of a run. One lua_State per run serves `${...}`
// expressions, `when:` conditions, hooks and `lua` steps (SPEC §3), with a
// memory cap (custom allocator) and an instruction cap (count hook) that
// `pcall` cannot swallow. Nothing in here blocks the event loop.
//
// Ownership: struct lx owns its lua_State. Trees returned by lx functions are
// allocated in the arena the caller passes and borrowed from it.
//
// Every function below is one synchronous top-level call: call them between
// event-loop callbacks, never from inside a callback of the sandbox itself (a log
// callback calling back in gets SMF_EINVAL). Each call gets a fresh instruction
// budget. Exceeding a cap fails the call with "FILE:LINE: instruction limit of N
// exceeded" / "memory limit of N bytes (X MiB) exceeded", and the state stays usable.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smflow/dsl.h"
#include "smflow/error.h"
#include "smflow/util.h"

struct lx;

struct lx_config {
  size_t mem_limit;      ///< bytes; 0 = default (64 MiB)
  uint64_t instr_limit;  ///< VM instructions per call; 0 = default (100 million)
  const char *lua_path;  ///< directory holding smflow/*.lua; NULL = installed, else source lua/
};

/// New sandbox (cfg may be NULL for the defaults). Caller frees with lx_free.
/// Returns NULL and sets *err on failure.
struct lx *lx_new(const struct lx_config *cfg, struct smf_error *err);
/// Close the state and free everything (NULL is fine).
void lx_free(struct lx *x);

/// Load the hooks file (source text only; bytecode refused) into the sandbox and
/// run it. Its global functions become callable hooks and are visible to
/// expressions. Errors: SMF_EIO (unreadable), SMF_ELUA with "FILE:LINE: message"
/// (syntax, runtime error or a cap while running it), err->klass = SMF_CLASS_HOOK.
int lx_load_hooks(struct lx *x, const char *path, struct smf_error *err);

/// Set a global (params, vars, run, env, git, aws) to the Lua value of `value`
/// (maps → tables with string keys, seqs → 1-based arrays, scalars → Lua scalars,
/// DSL_NULL → nil). NULL value = nil. The tree is copied; nothing is kept.
int lx_set_global(struct lx *x, const char *name, const struct dsl_node *value,
                  struct smf_error *err);
/// How many times Lua code has read the `env` global (a field, or pairs) so far.
/// `env` is read-only to Lua. The engine compares two values around an
/// evaluation to tell whether its result may derive from the environment.
uint64_t lx_env_reads(const struct lx *x);
/// steps.ID = value (the outputs of a finished upstream step).
int lx_set_step_outputs(struct lx *x, const char *step_id, const struct dsl_node *outputs,
                        struct smf_error *err);

/// Interpolate every `${...}` in a tree: a string that is exactly one `${EXPR}`
/// takes the value's type (integer, float, boolean, table → map/seq, nil → DSL_NULL);
/// otherwise results are spliced into the string (strings as they are, numbers
/// and booleans as Lua's tostring writes them; a nil, table or function is an
/// error). `$${` writes a literal `${`. Map keys are not interpolated. The whole
/// tree is one top-level call (one instruction budget). Result tree allocated in
/// `a` (nothing in it is borrowed from `in`); *out is NULL on failure.
/// Errors: err->message is "PATH:LINE:COL: in ${EXPR}: LUA MESSAGE" where LINE:COL
/// is the `${` (the scalar's mark, +1 for a quoted scalar, + the characters before it as
/// written — node->src for quoted scalars with escapes; the mark itself for multi-line
/// scalars); err->path/line/col hold the same position.
int lx_interpolate(struct lx *x, const struct dsl_node *in, const char *path, struct smf_arena *a,
                   struct dsl_node **out, struct smf_error *err);

/// Evaluate a bare Lua expression (a `when:` string node) to a boolean (Lua truthiness:
/// only false and nil are false). A DSL_BOOL node is taken as it is; a string that is
/// exactly `${EXPR}` means EXPR. Errors as for lx_interpolate.
int lx_eval_bool(struct lx *x, const struct dsl_node *expr, const char *path, bool *out,
                 struct smf_error *err);

/// The template scanner, shared by lx_interpolate and the validator (one tokenizer,
/// so that what validates is exactly what runs). Index of the next `${` at or after
/// byte `i` of s, skipping `$${` (a literal `${`); SIZE_MAX if none.
size_t lx_template_next(const char *s, size_t len, size_t i);
/// Index of the `}` closing the `${` at s[open] (Lua strings, long brackets and
/// comments inside are skipped; braces nest), or SIZE_MAX when unterminated.
size_t lx_template_close(const char *s, size_t len, size_t open);
/// If a Lua string literal, long bracket or comment starts at s[i], the index just
/// after it (a line comment ends before its newline; an unterminated one at len); else i.
size_t lx_skip_lua_token(const char *s, size_t len, size_t i);

/// A bare Lua state for syntax checks (nothing runs in it), reusable for any number
/// of expressions: create one per file to validate. Free with lx_syntax_free.
struct lx_syntax;
/// NULL with *err set when no Lua state can be created.
struct lx_syntax *lx_syntax_new(struct smf_error *err);
/// Close the state (NULL is fine).
void lx_syntax_free(struct lx_syntax *c);
/// Compile `return (EXPR)` (text only) without running it. Returns 0, or SMF_ELUA with
/// Lua's message without its "chunk:LINE: " prefix ("empty expression" when blank).
int lx_syntax_check(struct lx_syntax *c, const char *expr, size_t len, struct smf_error *err);

/// Check the syntax of one expression without running it (validation).
/// `chunk_name` is used in Lua's message. Returns 0 or SMF_ELUA with Lua's message.
int lx_check_syntax(const char *expr, size_t len, const char *chunk_name, struct smf_error *err);

/// Check the syntax of every `${...}` of a template string without running them
/// (validation of pipeline scalars). On a problem returns SMF_ELUA (or SMF_EPARSE for
/// an unterminated `${`), sets *err_off to the byte offset of the offending `${`
/// in `s`, and puts the problem into err->message.
int lx_check_template(const char *s, size_t len, const char *chunk_name, size_t *err_off,
                      struct smf_error *err);

/// Receiver of `smflow.log(msg)` and `print(...)` lines. `step_id` is the current
/// step (lx_set_current_step) or NULL; `msg` is borrowed for the call only.
typedef void lx_log_fn(void *ud, const char *step_id, const char *msg);

/// Route log lines to `fn(ud, ...)`; fn NULL restores the default, which writes
/// with smf_log_step at INFO level (smf_log when no step is current).
void lx_set_log_fn(struct lx *x, lx_log_fn *fn, void *ud);
/// The step whose hooks or expressions run next (copied), or NULL for none.
void lx_set_current_step(struct lx *x, const char *step_id);

/// Call the global function `fn_name` (of the hooks file) with `nargs` arguments
/// converted to Lua values (a NULL argument is nil), under both caps. On success
/// *ret (when ret is not NULL) is its first result converted into `a`, or NULL when it
/// returned nil or nothing. Lua → tree: a table with keys exactly 1..n is a seq,
/// any other table a map (sorted keys; number keys as strings; {} is an empty map),
/// smflow.json.null is DSL_NULL; functions, threads and cycles are errors. On failure returns
/// SMF_ELUA with err->klass = SMF_CLASS_HOOK and the Lua traceback (FILE:LINE) in err->message; a
/// call of `smflow.fail(msg)` gives exactly `msg`. SMF_ENOENT if no such function exists.
int lx_call(struct lx *x, const char *fn_name, const struct dsl_node *const *args, size_t nargs,
            struct smf_arena *a, struct dsl_node **ret, struct smf_error *err);
/// True if the sandbox has a global function named `name`.
bool lx_has_function(struct lx *x, const char *name);

/// Bytes currently allocated by the sandbox's Lua state (for statistics and tests).
size_t lx_mem_used(const struct lx *x);

// ---------------------------------------------------------------------------
// Coroutines of `lua` steps (async.c). A `lua` step's function runs as a Lua
// thread of the run's state, resumed from event-loop callbacks. Inside it (and
// only there) `smflow.sleep`, `smflow.http.request`, `smflow.aws.call` and
// `smflow.registry.latest` yield; the host (src/steps/lua.c) performs what they ask on the loop, hands
// the answer back with lx_co_answer / lx_co_raise and resumes the thread.

struct lx_co;

/// What a suspended coroutine waits for.
enum lx_wait_kind { LX_WAIT_SLEEP, LX_WAIT_HTTP, LX_WAIT_AWS, LX_WAIT_REGISTRY };

/// The request of a yield. Trees are allocated in the arena given to lx_co_resume.
struct lx_wait {
  enum lx_wait_kind kind;
  double seconds;  ///< SLEEP: >= 0
  /// HTTP: {method, url, headers (map of strings), body (string), timeout (seconds)};
  /// AWS: {service, operation, params (map)}; REGISTRY: {group, approval}.
  const struct dsl_node *request;
};

/// LX_CO_YIELDED: lx_co_resume stopped at a yield; *wait says what for.
#define LX_CO_YIELDED 1

/// A coroutine calling the hooks file's global `fn_name` with `nargs` arguments
/// (converted to Lua values; NULL = nil). Nothing runs yet. Caller frees with
/// lx_co_free. SMF_ENOENT when no such function exists.
int lx_co_new(struct lx *x, const char *fn_name, const struct dsl_node *const *args, size_t nargs,
              struct lx_co **out, struct smf_error *err);
/// Instruction caps: `slice` per resume (0 = the sandbox's per-call limit) and
/// `total` over the coroutine's life (0 = 10 x slice).
void lx_co_set_limits(struct lx_co *co, uint64_t slice, uint64_t total);
/// Run until the next yield or the end. Returns LX_CO_YIELDED with *wait filled,
/// or 0 when the function returned: lx_co_result() is then its first result
/// converted into `a` (NULL for nil). On failure SMF_ELUA with err->klass =
/// SMF_CLASS_HOOK and the traceback in err->message; the coroutine is then dead. Must not be called
/// while another sandbox call runs; before the first resume or after a yield only.
int lx_co_resume(struct lx_co *co, struct smf_arena *a, struct lx_wait *wait,
                 struct smf_error *err);
/// The result of a finished coroutine (valid after lx_co_resume returned 0).
struct dsl_node *lx_co_result(struct lx_co *co);
/// The value the waiting call returns at the next resume (borrowed until then;
/// NULL = nil).
void lx_co_answer(struct lx_co *co, const struct dsl_node *value);
/// Make the waiting call raise at the next resume: with `table` (a map, e.g.
/// {code, message, request_id}; its tostring is "code: message") when not NULL,
/// else with the string `message` prefixed by the caller's FILE:LINE. Both borrowed
/// until the next resume.
void lx_co_raise(struct lx_co *co, const struct dsl_node *table, const char *message);
/// Instructions the coroutine used so far (all slices).
uint64_t lx_co_instructions(const struct lx_co *co);
/// Release the coroutine (it may be suspended: it is simply dropped). NULL-safe.
void lx_co_free(struct lx_co *co);
