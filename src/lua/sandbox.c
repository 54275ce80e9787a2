// sandbox.c: the Lua state of a run. A capped allocator and a count hook bound
// every top-level call; once a cap trips, every further allocation is refused and
// the hook raises on every instruction until control is back in C, so `pcall`
// inside Lua cannot swallow the failure (redis' script_lua.c uses the same idea).
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua/lx_internal.h"
#include "smflow/log.h"

const char lx__env_key;
const char lx__cache_key;
const char lx__mods_key;
const char lx__fail_key;

static void *lx_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
static void lx_count_hook(lua_State *L, lua_Debug *ar);
static int lx_sandbox_init(lua_State *L);
static void lx_untrip(struct lx *x);
static void lx_error_where(struct smf_error *err, const char *text);

// The configured directory, else the installed one, else (a build that was
// never installed) the source tree's lua/.
static const char *lx_default_lua_path(const struct lx_config *cfg)
{
  if (cfg != NULL && cfg->lua_path != NULL) {
    return cfg->lua_path;
  }
  if (access(SMF_LUA_DIR "/smflow", R_OK | X_OK) == 0) {
    return SMF_LUA_DIR;
  }
  return SMF_SOURCE_LUA_DIR;
}

struct lx *lx_new(const struct lx_config *cfg, struct smf_error *err)
{
  struct lx *x = smf_xcalloc(1, sizeof(*x));
  x->mem_limit = cfg != NULL && cfg->mem_limit != 0 ? cfg->mem_limit : LX_DEFAULT_MEM_LIMIT;
  x->instr_limit = cfg != NULL && cfg->instr_limit != 0 ? cfg->instr_limit : LX_DEFAULT_INSTR_LIMIT;
  x->lua_path = smf_xstrdup(lx_default_lua_path(cfg));
  x->L = lua_newstate(lx_alloc, x);
  if (x->L == NULL) {
    SMF_ERR_SET(err, SMF_ENOMEM, "cannot create the Lua state (memory limit %zu bytes)",
                x->mem_limit);
    goto fail;
  }
  lua_sethook(x->L, lx_count_hook, LUA_MASKCOUNT, LX_HOOK_STEP);
  struct lx__op op = {.x = x, .err = err};
  if (lx__protect(x, lx_sandbox_init, &op) != 0) {
    goto fail;
  }
  return x;
fail:
  lx_free(x);
  return NULL;
}

void lx_free(struct lx *x)
{
  if (x == NULL) {
    return;
  }
  if (x->L != NULL) {
    // Finalizers written in Lua may run while closing: stop them at the first tick.
    x->closing = true;
    lua_close(x->L);
  }
  free(x->lua_path);
  free(x->step_id);
  free(x);
}

size_t lx_mem_used(const struct lx *x)
{
  return x->mem_used;
}

struct lx *lx__from_L(lua_State *L)
{
  void *ud = NULL;
  lua_getallocf(L, &ud);
  return ud;
}

void lx__push_env(lua_State *L)
{
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__env_key);
}

// ---------------------------------------------------------------------------
// Caps

static void *lx_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  struct lx *x = ud;
  size_t old = ptr != NULL ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    x->mem_used -= old;
    return NULL;
  }
  if (nsize > old && (x->mem_tripped || nsize - old > x->mem_limit - x->mem_used)) {
    // Lua turns NULL into a memory error; the hook then keeps raising.
    x->mem_tripped = true;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p == NULL) {
    return NULL;
  }
  x->mem_used = x->mem_used - old + nsize;
  return p;
}

// "FILE:LINE" of the running Lua function into dst (expression chunks are
// positioned by their caller instead).
static void lx_note_where(lua_State *L, lua_Debug *ar, char *dst, size_t n)
{
  if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0 &&
      strcmp(ar->short_src, LX_EXPR_CHUNK) != 0) {
    snprintf(dst, n, "%s:%d", ar->short_src, ar->currentline);
  }
}

static void lx_count_hook(lua_State *L, lua_Debug *ar)
{
  struct lx *x = lx__from_L(L);
  int step = lua_gethookcount(L);
  if (!x->mem_tripped && !x->instr_tripped && !x->closing) {
    x->instr_used += (uint64_t)step;
    if (x->instr_used <= x->instr_limit) {
      if (step != LX_HOOK_STEP) {
        // A coroutine made while a cap was tripped inherited the 1-step count.
        lua_sethook(L, lx_count_hook, LUA_MASKCOUNT, LX_HOOK_STEP);
      }
      return;
    }
    x->instr_tripped = true;
  }
  if (x->trip_where[0] == '\0') {
    lx_note_where(L, ar, x->trip_where, sizeof(x->trip_where));
  }
  // Raise at every instruction from now on: a pcall that catches this error
  // returns into code that fails again at its next instruction.
  lua_sethook(L, lx_count_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, "%s limit exceeded", x->mem_tripped ? "memory" : "instruction");
}

static void lx_begin(struct lx *x)
{
  x->instr_used = 0;
  x->mem_tripped = false;
  x->instr_tripped = false;
  x->trip_where[0] = '\0';
  x->call_where[0] = '\0';
}

// Control is back in C after a tripped call: lift the refusal, give the memory
// back, and restore the normal hook interval.
static void lx_untrip(struct lx *x)
{
  x->mem_tripped = false;
  x->instr_tripped = false;
  lua_sethook(x->L, lx_count_hook, LUA_MASKCOUNT, LX_HOOK_STEP);
  // Finalizers run by this collection get a fresh budget of their own and stop
  // like any other runaway if they loop.
  x->instr_used = 0;
  lua_gc(x->L, LUA_GCCOLLECT);
  x->mem_tripped = false;
  x->instr_tripped = false;
}

static void lx_trip_message(struct lx *x, struct smf_error *err)
{
  // A memory cap trips in the allocator, which cannot tell where Lua was: then
  // the position is the hook tick's, else the called function's definition.
  const char *where = x->trip_where[0] != '\0' ? x->trip_where : x->call_where;
  const char *sep = where[0] != '\0' ? ": " : "";
  if (x->mem_tripped) {
    SMF_ERR_SET(err, SMF_ELUA, "%s%smemory limit of %zu bytes (%.1f MiB) exceeded", where, sep,
                x->mem_limit, (double)x->mem_limit / (1024.0 * 1024.0));
  } else {
    SMF_ERR_SET(err, SMF_ELUA, "%s%sinstruction limit of %llu exceeded", where, sep,
                (unsigned long long)x->instr_limit);
  }
  lx_error_where(err, where);
}

// ---------------------------------------------------------------------------
// Protected calls

// Message handler: keep smflow.fail objects as they are, turn anything else
// into a string, with a traceback when asked.
static int lx_msgh(lua_State *L, bool traceback)
{
  if (lua_getmetatable(L, 1)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__fail_key);
    bool is_fail = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (is_fail) {
      return 1;
    }
  }
  const char *msg = lua_tostring(L, 1);
  struct lx *x = lx__from_L(L);
  bool tripped = x->mem_tripped || x->instr_tripped;
  if (msg == NULL) {
    // No __tostring once tripped: this handler may run with hooks off.
    if (!tripped && luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
      msg = lua_tostring(L, -1);
    } else {
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
  }
  if (traceback) {
    luaL_traceback(L, L, msg, 1);
  } else {
    lua_pushstring(L, msg);
  }
  return 1;
}

static int lx_msgh_traceback(lua_State *L)
{
  return lx_msgh(L, true);
}

static int lx_msgh_plain(lua_State *L)
{
  return lx_msgh(L, false);
}

// err->path and err->line from a leading "FILE:LINE:" of `text`, if it has one.
static void lx_error_where(struct smf_error *err, const char *text)
{
  if (err == NULL || text == NULL) {
    return;
  }
  for (const char *p = text; *p != '\0' && *p != '\n'; p++) {
    if (p[0] != ':' || p[1] < '0' || p[1] > '9' || p == text) {
      continue;
    }
    const char *q = p + 1;
    unsigned line = 0;
    while (*q >= '0' && *q <= '9' && line < 100000000u) {
      line = line * 10 + (unsigned)(*q++ - '0');
    }
    if (*q == ':' || *q == '\0') {
      snprintf(err->path, sizeof(err->path), "%.*s", (int)(p - text), text);
      err->line = line;
      err->col = 0;
      return;
    }
  }
}

// The error object on top of the stack into err.
static void lx_error_object(lua_State *L, int status, struct smf_error *err)
{
  if (lua_type(L, -1) == LUA_TTABLE) {
    // smflow.fail: exactly its message; the caller's position on the side.
    lua_getfield(L, -1, "message");
    SMF_ERR_SET(err, SMF_ELUA, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "failed");
    lua_getfield(L, -2, "where");
    lx_error_where(err, lua_tostring(L, -1));
    lua_pop(L, 2);
    if (err != NULL) {
      err->klass = SMF_CLASS_HOOK;
    }
    return;
  }
  const char *msg = lua_tostring(L, -1);
  if (status == LUA_ERRMEM) {
    SMF_ERR_SET(err, SMF_ELUA, "not enough memory");
  } else {
    SMF_ERR_SET(err, SMF_ELUA, "%s", msg != NULL ? msg : "unknown Lua error");
    lx_error_where(err, msg);
  }
}

int lx__pcall_user(struct lx *x, int nargs, int nres, bool traceback, struct smf_error *err)
{
  lua_State *L = x->L;
  int base = lua_gettop(L) - nargs;  // index of the function
  lua_Debug ar;
  lua_pushvalue(L, base);
  if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0 && strcmp(ar.short_src, LX_EXPR_CHUNK) != 0) {
    snprintf(x->call_where, sizeof(x->call_where), "%s:%d", ar.short_src, ar.linedefined);
  }
  lua_pushcfunction(L, traceback ? lx_msgh_traceback : lx_msgh_plain);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nres, base);
  if (x->mem_tripped || x->instr_tripped) {
    // Whatever Lua reports (even success after a pcall caught it), a tripped cap fails the call.
    lua_settop(L, base - 1);
    lx_trip_message(x, err);
    lx_untrip(x);
    return SMF_ELUA;
  }
  if (status != LUA_OK) {
    lx_error_object(L, status, err);
    lua_settop(L, base - 1);
    return SMF_ELUA;
  }
  lua_remove(L, base);
  return 0;
}

int lx__protect(struct lx *x, lua_CFunction fn, struct lx__op *op)
{
  lua_State *L = x->L;
  if (x->busy) {
    // E.g. a log callback calling back into the sandbox: the running call owns
    // the stack and the budget.
    return op->rc = SMF_ERR_SET(op->err, SMF_EINVAL,
                                "the Lua sandbox is already running a call (re-entrant use)");
  }
  x->busy = true;
  int top = lua_gettop(L);
  lx_begin(x);
  op->rc = 0;
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, op);
  int status = lua_pcall(L, 1, 0, 0);
  if (status != LUA_OK) {
    if (x->mem_tripped || x->instr_tripped) {
      lx_trip_message(x, op->err);
    } else {
      lx_error_object(L, status, op->err);
    }
    op->rc = op->err != NULL && op->err->code != 0 ? op->err->code : SMF_ELUA;
  }
  lua_settop(L, top);
  if (x->mem_tripped || x->instr_tripped) {
    lx_untrip(x);
  }
  x->busy = false;
  return op->rc;
}

// ---------------------------------------------------------------------------
// The sandbox environment

// load(chunk [, chunkname [, mode [, env]]]): text chunks only, in the sandbox env.
static int lhook_load(lua_State *L)
{
  bool has_env = !lua_isnone(L, 4);
  lua_settop(L, 4);
  lua_pushvalue(L, lua_upvalueindex(1));  // the real load
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushliteral(L, "t");
  if (has_env) {
    lua_pushvalue(L, 4);
  } else {
    lx__push_env(L);
  }
  lua_call(L, 4, 2);
  return 2;
}

static int lhook_collectgarbage(lua_State *L)
{
  static const char *const allowed[] = {"collect", "count", "step", "isrunning"};
  const char *opt = luaL_optstring(L, 1, "collect");
  for (size_t i = 0; i < SMF_ARRAY_LEN(allowed); i++) {
    if (strcmp(opt, allowed[i]) == 0) {
      lua_pushvalue(L, lua_upvalueindex(1));
      lua_insert(L, 1);
      lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
      return lua_gettop(L);
    }
  }
  return luaL_error(L, "collectgarbage(\"%s\") is not allowed in the sandbox", opt);
}

// The message handler given to xpcall: a cap raises its error from inside the
// count hook, where Lua runs handlers with hooks off, so a looping handler could
// not be stopped; once a cap tripped the user's handler is skipped.
static int lhook_xpcall_handler(lua_State *L)
{
  struct lx *x = lx__from_L(L);
  if (x->mem_tripped || x->instr_tripped || x->closing) {
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

static int lx_finish_pcall(lua_State *L, int status, lua_KContext extra)
{
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - (int)extra;
}

// xpcall(f, msgh, ...) with msgh wrapped by lhook_xpcall_handler; yieldable
// like the standard one.
static int lhook_xpcall(lua_State *L)
{
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, lhook_xpcall_handler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1);  // first result on success
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2);  // below f's arguments: msgh stays at 2
  int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, lx_finish_pcall);
  return lx_finish_pcall(L, status, 2);
}

// setmetatable refuses `__gc`: Lua runs finalizers with hooks off, out of the caps' reach.
static int lhook_setmetatable(lua_State *L)
{
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) {
      return luaL_error(L, "__gc metamethods are not allowed in the sandbox");
    }
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

static int lhook_print(lua_State *L)
{
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) {
      luaL_addchar(&b, '\t');
    }
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  lx__log(lx__from_L(L), lua_tostring(L, -1));
  return 0;
}

static bool lx_module_name_ok(const char *s)
{
  if (*s == '\0') {
    return false;
  }
  for (; *s != '\0'; s++) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) {
      return false;
    }
  }
  return true;
}

// require(name): "smflow" and the text helpers lua_path/smflow/NAME.lua only.
static int lhook_require(lua_State *L)
{
  const char *name = luaL_checkstring(L, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__mods_key);
  if (lua_getfield(L, -1, name) != LUA_TNIL) {
    return 1;
  }
  lua_pop(L, 1);
  if (!smf_str_startswith(name, "smflow.") || !lx_module_name_ok(name + 7)) {
    return luaL_error(L,
                      "module '%s' is not available in the sandbox (only \"smflow\" and "
                      "\"smflow.NAME\" helpers can be required)",
                      name);
  }
  struct lx *x = lx__from_L(L);
  const char *path = lua_pushfstring(L, "%s/smflow/%s.lua", x->lua_path, name + 7);
  int st = luaL_loadfilex(L, path, "t");
  if (st == LUA_ERRFILE) {
    return luaL_error(L, "module '%s' not found (no %s)", name, path);
  }
  if (st != LUA_OK) {
    return lua_error(L);
  }
  lx__push_env(L);
  lua_setupvalue(L, -2, 1);
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, name);  // the modules table
  return 1;
}

static void lx_copy_fields(lua_State *L, int from, int to, const char *const *names, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    lua_getfield(L, from, names[i]);
    lua_setfield(L, to, names[i]);
  }
}

static void lx_open_libs(lua_State *L)
{
  static const luaL_Reg libs[] = {
      {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
      {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
      {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
      {LUA_OSLIBNAME, luaopen_os},
  };
  for (size_t i = 0; i < SMF_ARRAY_LEN(libs); i++) {
    luaL_requiref(L, libs[i].name, libs[i].func, 1);
    lua_pop(L, 1);
  }
  // The string table is also the strings' metatable __index: drop dump there.
  lua_getglobal(L, LUA_STRLIBNAME);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lx__guard_patterns(L, lua_gettop(L));
  lua_pop(L, 1);
}

static void lx_fill_env(lua_State *L, int env)
{
  static const char *const base[] = {
      "assert",        "error",         "ipairs",      "next",     "pairs",        "pcall",
      "rawequal",      "rawget",        "rawlen",      "rawset",   "select",       "getmetatable",
      "tonumber",      "tostring",      "type",        "_VERSION", LUA_STRLIBNAME, LUA_TABLIBNAME,
      LUA_MATHLIBNAME, LUA_UTF8LIBNAME, LUA_COLIBNAME,
  };
  static const char *const os_ok[] = {"time", "clock", "date"};
  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  lx_copy_fields(L, g, env, base, SMF_ARRAY_LEN(base));
  lua_newtable(L);
  lua_getfield(L, g, LUA_OSLIBNAME);
  lx_copy_fields(L, lua_gettop(L), lua_gettop(L) - 1, os_ok, SMF_ARRAY_LEN(os_ok));
  lua_pop(L, 1);
  lua_setfield(L, env, LUA_OSLIBNAME);
  lua_getfield(L, g, "load");
  lua_pushcclosure(L, lhook_load, 1);
  lua_setfield(L, env, "load");
  lua_getfield(L, g, "collectgarbage");
  lua_pushcclosure(L, lhook_collectgarbage, 1);
  lua_setfield(L, env, "collectgarbage");
  lua_getfield(L, g, "setmetatable");
  lua_pushcclosure(L, lhook_setmetatable, 1);
  lua_setfield(L, env, "setmetatable");
  lua_pushcfunction(L, lhook_xpcall);
  lua_setfield(L, env, "xpcall");
  lua_pushcfunction(L, lhook_print);
  lua_setfield(L, env, "print");
  lua_pushcfunction(L, lhook_require);
  lua_setfield(L, env, "require");
  lua_pushvalue(L, env);
  lua_setfield(L, env, LUA_GNAME);
  lua_pop(L, 1);  // the real globals, never reachable from the sandbox
}

static int lx_sandbox_init(lua_State *L)
{
  lx_open_libs(L);
  lua_newtable(L);
  int env = lua_gettop(L);
  lx_fill_env(L, env);
  lua_pushvalue(L, env);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx__env_key);
  lx__protect_env(L, env);
  // Tracebacks name functions by searching the loaded modules: let them find
  // the sandbox's globals ("function 'before'") instead of the real ones.
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, env);
  lua_setfield(L, -2, LUA_GNAME);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx__cache_key);
  lua_newtable(L);  // metatable of smflow.fail objects
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx__fail_key);
  lua_newtable(L);  // required modules
  lx__open_smflow(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, env, "smflow");
  lua_setfield(L, -2, "smflow");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx__mods_key);
  return 0;
}

// ---------------------------------------------------------------------------
// Hooks file

struct load_op {
  struct lx__op op;
  const char *path;
};

static int lx_load_hooks_protected(lua_State *L)
{
  struct load_op *o = lua_touserdata(L, 1);
  int st = luaL_loadfilex(L, o->path, "t");
  if (st != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg != NULL && strstr(msg, "binary chunk") != NULL) {
      o->op.rc = SMF_ERR_SET(o->op.err, SMF_ELUA,
                             "%s: precompiled Lua (bytecode) is refused; the hooks file must "
                             "be Lua source text",
                             o->path);
    } else {
      o->op.rc = SMF_ERR_SET(o->op.err, st == LUA_ERRFILE ? SMF_EIO : SMF_ELUA, "%s",
                             msg != NULL ? msg : "cannot load the hooks file");
    }
    return 0;
  }
  lx__push_env(L);
  lua_setupvalue(L, -2, 1);
  o->op.rc = lx__pcall_user(o->op.x, 0, 0, true, o->op.err);
  return 0;
}

int lx_load_hooks(struct lx *x, const char *path, struct smf_error *err)
{
  struct load_op o = {.op = {.x = x, .err = err}, .path = path};
  int rc = lx__protect(x, lx_load_hooks_protected, &o.op);
  if (rc != 0 && err != NULL) {
    err->klass = SMF_CLASS_HOOK;
  }
  return rc;
}

// ---------------------------------------------------------------------------
// Logging

void lx_set_log_fn(struct lx *x, lx_log_fn *fn, void *ud)
{
  x->log_fn = fn;
  x->log_ud = ud;
}

void lx_set_current_step(struct lx *x, const char *step_id)
{
  free(x->step_id);
  x->step_id = step_id != NULL ? smf_xstrdup(step_id) : NULL;
}

void lx__log(struct lx *x, const char *msg)
{
  if (x->log_fn != NULL) {
    x->log_fn(x->log_ud, x->step_id, msg);
  } else if (x->step_id != NULL) {
    smf_log_step(SMF_LOG_INFO, x->step_id, "%s", msg);
  } else {
    smf_log(SMF_LOG_INFO, "%s", msg);
  }
}
