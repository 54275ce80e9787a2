// async.c: coroutines of `lua` steps and the smflow functions that suspend
// them (smflow.sleep, smflow.http.request, smflow.aws.call,
// smflow.registry.latest).
//
// A step's function runs in a Lua thread of the run's state (lua_newthread, kept
// by a luaL_ref). The suspending functions are C functions that check their
// arguments and yield (lua_yieldk) a marker plus the request; the host reads the
// request, does the work on the event loop and resumes with (ok, value): the
// continuation returns the value or raises it. Each resume is one top-level call
// under the caps (lx__protect), with the instruction limit of that slice lowered
// to what is left of the coroutine's total budget.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lx_internal.h"

/// Registry key of the table thread -> true of the running step coroutines.
static const char lx__co_key;
/// The first value yielded by the smflow functions (its address).
static const char lx__yield_marker;
/// Metatable of the error tables raised by smflow.aws.call.
static const char lx__awserr_key;

enum lx_pending { LX_PENDING_NONE, LX_PENDING_VALUE, LX_PENDING_TABLE, LX_PENDING_MESSAGE };

struct lx_co {
  struct lx *x;
  lua_State *T;  ///< the thread; anchored by ref
  int ref;
  int nargs;  ///< arguments on T before the first resume
  bool started, dead;
  uint64_t slice_limit, total_limit, total_used;
  char where[256];  ///< "FILE:LINE" defining the function (memory-cap messages)
  enum lx_pending pending;
  const struct dsl_node *answer;  ///< borrowed until the next resume
  const char *message;            ///< borrowed until the next resume
  struct dsl_node *result;
};

// ---------------------------------------------------------------------------
// The suspending functions

// Raise unless the running thread is a step coroutine that may yield here.
static void lx_async_check(lua_State *L, const char *fname)
{
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__co_key);
  lua_pushthread(L);
  bool ours = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  if (!ours) {
    luaL_error(L,
               "%s is only available inside a lua step (it suspends the step's coroutine on the "
               "event loop); not in hooks, expressions or coroutines the step created",
               fname);
  }
  if (!lua_isyieldable(L)) {
    luaL_error(L, "%s cannot be called here (inside a metamethod or a function called from C)",
               fname);
  }
}

// Continuation: the host resumed with (ok, value).
static int lx_async_k(lua_State *L, int status, lua_KContext ctx)
{
  (void)status;
  (void)ctx;
  int top = lua_gettop(L);
  if (top >= 2 && !lua_toboolean(L, top - 1)) {
    if (lua_type(L, top) == LUA_TSTRING) {
      luaL_where(L, 1);
      lua_pushvalue(L, top);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  return 1;
}

static int lx_async_yield(lua_State *L, const char *what, int nvalues)
{
  // Stack: ... v1..vn; yield (marker, what, v1..vn).
  lua_pushlightuserdata(L, (void *)&lx__yield_marker);
  lua_pushstring(L, what);
  lua_rotate(L, -(nvalues + 2), 2);
  return lua_yieldk(L, nvalues + 2, 0, lx_async_k);
}

// smflow.sleep(seconds)
static int lhook_sleep(lua_State *L)
{
  lx_async_check(L, "smflow.sleep");
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s <= 31 * 86400.0 && !isnan(s), 1, "seconds out of range");
  lua_settop(L, 0);
  lua_pushnumber(L, s);
  return lx_async_yield(L, "sleep", 1);
}

// smflow.http.request{method, url, headers, body, timeout}
static int lhook_http_request(lua_State *L)
{
  lx_async_check(L, "smflow.http.request");
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "url");
  luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "'url' (a string) is required");
  lua_pop(L, 1);
  lua_settop(L, 1);
  return lx_async_yield(L, "http", 1);
}

// smflow.aws.call(service, operation, params)
static int lhook_aws_call(lua_State *L)
{
  lx_async_check(L, "smflow.aws.call");
  luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
  }
  lua_settop(L, 3);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "service");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "operation");
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, "params");
  lua_replace(L, 1);
  lua_settop(L, 1);
  return lx_async_yield(L, "aws", 1);
}

// smflow.registry.latest(group [, approval])
static int lhook_registry_latest(lua_State *L)
{
  lx_async_check(L, "smflow.registry.latest");
  luaL_checkstring(L, 1);
  const char *approval = luaL_optstring(L, 2, "Approved");
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "group");
  lua_pushstring(L, approval);
  lua_setfield(L, -2, "approval");
  lua_replace(L, 1);
  lua_settop(L, 1);
  return lx_async_yield(L, "registry", 1);
}

static int lhook_awserr_tostring(lua_State *L)
{
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_pushfstring(L, "%s: %s", lua_isstring(L, -2) ? lua_tostring(L, -2) : "AwsError",
                  lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
  return 1;
}

void lx__open_async(lua_State *L)
{
  lua_newtable(L);  // running coroutines, weak keys
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx__co_key);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, lhook_awserr_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "smflow.aws.error");
  lua_setfield(L, -2, "__name");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx__awserr_key);
  // The smflow table is on top.
  lua_pushcfunction(L, lhook_sleep);
  lua_setfield(L, -2, "sleep");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, lhook_http_request);
  lua_setfield(L, -2, "request");
  lua_setfield(L, -2, "http");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, lhook_aws_call);
  lua_setfield(L, -2, "call");
  lua_setfield(L, -2, "aws");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, lhook_registry_latest);
  lua_setfield(L, -2, "latest");
  lua_setfield(L, -2, "registry");
}

// ---------------------------------------------------------------------------
// Creating and freeing

struct co_new_op {
  struct lx__op op;
  struct lx_co *co;
  const char *fn_name;
  const struct dsl_node *const *args;
  size_t nargs;
};

static int lx_co_new_protected(lua_State *L)
{
  struct co_new_op *o = lua_touserdata(L, 1);
  lx__push_env(L);
  int t = lua_getfield(L, -1, o->fn_name);
  if (t != LUA_TFUNCTION) {
    o->op.rc = SMF_ERR_SET(o->op.err, t == LUA_TNIL ? SMF_ENOENT : SMF_EINVAL,
                           "lua step function '%s' is %s", o->fn_name,
                           t == LUA_TNIL ? "not defined in the hooks file" : "not a function");
    return 0;
  }
  lua_Debug ar;
  lua_pushvalue(L, -1);
  if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0) {
    snprintf(o->co->where, sizeof(o->co->where), "%s:%d", ar.short_src, ar.linedefined);
  }
  lua_State *T = lua_newthread(L);
  lua_pushvalue(L, -2);
  lua_xmove(L, T, 1);
  for (size_t i = 0; i < o->nargs; i++) {
    lx__push_node(L, o->args[i]);
    lua_xmove(L, T, 1);
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__co_key);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  o->co->T = T;
  o->co->ref = luaL_ref(L, LUA_REGISTRYINDEX);  // pops the thread
  return 0;
}

int lx_co_new(struct lx *x, const char *fn_name, const struct dsl_node *const *args, size_t nargs,
              struct lx_co **out, struct smf_error *err)
{
  struct lx_co *co = smf_xcalloc(1, sizeof(*co));
  co->x = x;
  co->ref = LUA_NOREF;
  co->nargs = (int)nargs;
  lx_co_set_limits(co, 0, 0);
  struct co_new_op o = {
      .op = {.x = x, .err = err}, .co = co, .fn_name = fn_name, .args = args, .nargs = nargs};
  int rc = lx__protect(x, lx_co_new_protected, &o.op);
  if (rc != 0 || co->T == NULL) {
    lx_co_free(co);
    *out = NULL;
    if (err != NULL && rc != SMF_ENOENT && rc != SMF_EINVAL) {
      err->klass = SMF_CLASS_HOOK;
    }
    return rc != 0 ? rc : SMF_ELUA;
  }
  *out = co;
  return 0;
}

void lx_co_set_limits(struct lx_co *co, uint64_t slice, uint64_t total)
{
  co->slice_limit = slice != 0 ? slice : co->x->instr_limit;
  co->total_limit = total != 0 ? total : co->slice_limit * 10;
}

void lx_co_free(struct lx_co *co)
{
  if (co == NULL) {
    return;
  }
  if (co->ref != LUA_NOREF) {
    // Reuses the slot of the reference: no allocation, nothing can raise. The
    // weak table forgets the thread once it is collected.
    luaL_unref(co->x->L, LUA_REGISTRYINDEX, co->ref);
  }
  free(co);
}

uint64_t lx_co_instructions(const struct lx_co *co)
{
  return co->total_used;
}

struct dsl_node *lx_co_result(struct lx_co *co)
{
  return co->result;
}

void lx_co_answer(struct lx_co *co, const struct dsl_node *value)
{
  co->pending = LX_PENDING_VALUE;
  co->answer = value;
  co->message = NULL;
}

void lx_co_raise(struct lx_co *co, const struct dsl_node *table, const char *message)
{
  co->pending = table != NULL ? LX_PENDING_TABLE : LX_PENDING_MESSAGE;
  co->answer = table;
  co->message = message;
}

// ---------------------------------------------------------------------------
// Resuming

struct co_resume_op {
  struct lx__op op;
  struct lx_co *co;
  struct smf_arena *a;
  struct lx_wait *wait;
  int status;  ///< of lua_resume
  int nres;
};

// Push (ok, value) of the pending answer onto L.
static void lx_co_push_answer(lua_State *L, struct lx_co *co)
{
  lua_pushboolean(L, co->pending == LX_PENDING_VALUE);
  switch (co->pending) {
  case LX_PENDING_TABLE:
    lx__push_node(L, co->answer);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__awserr_key);
    lua_setmetatable(L, -2);
    break;
  case LX_PENDING_MESSAGE:
    lua_pushstring(L, co->message != NULL ? co->message : "failed");
    break;
  case LX_PENDING_VALUE:
    lx__push_node(L, co->answer);
    break;
  default:
    lua_pushnil(L);
    break;
  }
}

// The request yielded on T (nres values, the marker first) into o->wait.
static int lx_co_read_wait(lua_State *L, struct co_resume_op *o)
{
  lua_State *T = o->co->T;
  int base = lua_gettop(T) - o->nres + 1;
  if (o->nres < 3 || lua_touserdata(T, base) != &lx__yield_marker) {
    return SMF_ERR_SET(o->op.err, SMF_ELUA,
                       "a lua step's function yielded with coroutine.yield: use smflow.sleep, "
                       "smflow.http.request or smflow.aws.call to wait");
  }
  const char *what = lua_tostring(T, base + 1);
  struct lx_wait *w = o->wait;
  memset(w, 0, sizeof(*w));
  if (strcmp(what, "sleep") == 0) {
    w->kind = LX_WAIT_SLEEP;
    w->seconds = (double)lua_tonumber(T, base + 2);
  } else {
    w->kind = strcmp(what, "http") == 0       ? LX_WAIT_HTTP
              : strcmp(what, "registry") == 0 ? LX_WAIT_REGISTRY
                                              : LX_WAIT_AWS;
    lua_pushvalue(T, base + 2);
    lua_xmove(T, L, 1);
    struct dsl_node *req = NULL;
    int rc = lx__to_node(L, -1, o->a, &req, o->op.err);
    lua_pop(L, 1);
    if (rc != 0) {
      return rc;
    }
    w->request = req;
  }
  lua_settop(T, base - 1);
  return 0;
}

// The error left on the dead thread T, with T's traceback, into err.
static void lx_co_error(lua_State *L, struct lx_co *co, struct smf_error *err)
{
  lua_State *T = co->T;
  if (lua_type(T, -1) == LUA_TTABLE && lua_getmetatable(T, -1)) {
    lua_rawgetp(T, LUA_REGISTRYINDEX, &lx__fail_key);
    bool is_fail = lua_rawequal(T, -1, -2);
    lua_pop(T, 2);
    if (is_fail) {
      lua_getfield(T, -1, "message");
      lua_getfield(T, -2, "where");
      const char *where = lua_tostring(T, -1);
      SMF_ERR_SET(err, SMF_ELUA, "%s", lua_isstring(T, -2) ? lua_tostring(T, -2) : "failed");
      if (err != NULL && where != NULL) {
        snprintf(err->path, sizeof(err->path), "%s", where);
      }
      lua_pop(T, 2);
      return;
    }
  }
  const char *msg = luaL_tolstring(T, -1, NULL);  // __tostring of aws error tables
  luaL_traceback(L, T, msg, 0);
  SMF_ERR_SET(err, SMF_ELUA, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pop(T, 1);
}

static int lx_co_resume_protected(lua_State *L)
{
  struct co_resume_op *o = lua_touserdata(L, 1);
  struct lx_co *co = o->co;
  int nargs = 0;
  if (!co->started) {
    co->started = true;
    nargs = co->nargs;
  } else {
    lx_co_push_answer(L, co);
    lua_xmove(L, co->T, 2);
    nargs = 2;
  }
  co->pending = LX_PENDING_NONE;
  memcpy(o->op.x->call_where, co->where, sizeof(co->where));
  o->status = lua_resume(co->T, L, nargs, &o->nres);
  struct lx *x = o->op.x;
  if (x->mem_tripped || x->instr_tripped) {
    // lx__protect reports the cap with the position it tripped at.
    lua_pushlightuserdata(L, (void *)&lx__yield_marker);
    return lua_error(L);
  }
  if (o->status == LUA_YIELD) {
    o->op.rc = lx_co_read_wait(L, o);
    return 0;
  }
  if (o->status != LUA_OK) {
    lx_co_error(L, co, o->op.err);
    o->op.rc = SMF_ELUA;
    return 0;
  }
  co->result = NULL;
  if (o->nres > 0 && !lua_isnil(co->T, -o->nres)) {
    lua_pushvalue(co->T, -o->nres);
    lua_xmove(co->T, L, 1);
    struct smf_error cerr = SMF_ERROR_INIT;
    if (lx__to_node(L, -1, o->a, &co->result, &cerr) != 0) {
      o->op.rc = SMF_ERR_SET(o->op.err, SMF_ELUA,
                             "the lua step returned a value that is not data: %s", cerr.message);
    }
  }
  return 0;
}

int lx_co_resume(struct lx_co *co, struct smf_arena *a, struct lx_wait *wait, struct smf_error *err)
{
  struct lx *x = co->x;
  if (co->dead) {
    return SMF_ERR_SET(err, SMF_EINVAL, "the lua step's coroutine has ended");
  }
  uint64_t left = co->total_limit > co->total_used ? co->total_limit - co->total_used : 0;
  bool total_cap = left < co->slice_limit;
  uint64_t saved = x->instr_limit;
  x->instr_limit = total_cap ? left : co->slice_limit;
  struct co_resume_op o = {.op = {.x = x, .err = err}, .co = co, .a = a, .wait = wait};
  int rc = lx__protect(x, lx_co_resume_protected, &o.op);
  co->total_used += x->instr_used;
  x->instr_limit = saved;
  if (rc == 0 && o.status == LUA_YIELD) {
    return LX_CO_YIELDED;
  }
  co->dead = true;
  if (rc != 0 && err != NULL) {
    err->klass = SMF_CLASS_HOOK;
    if (total_cap && strstr(err->message, "instruction limit") != NULL) {
      char where[256];
      const char *colon = strstr(err->message, ": instruction limit");
      snprintf(where, sizeof(where), "%.*s", colon ? (int)(colon - err->message) : 0, err->message);
      SMF_ERR_SET(err, SMF_ELUA, "%s%stotal instruction limit of %llu for the lua step exceeded",
                  where, where[0] ? ": " : "", (unsigned long long)co->total_limit);
      err->klass = SMF_CLASS_HOOK;
    }
  }
  return rc;
}
