// call.c: calling the hooks file's functions from the engine. Each call is a
// synchronous, capped top-level call made between event-loop callbacks; its
// failure carries the Lua traceback and the class HookError.
#include <string.h>

#include "lua/lx_internal.h"

struct call_op {
  struct lx__op op;
  const char *fn_name;
  const struct dsl_node *const *args;
  size_t nargs;
  struct smf_arena *a;
  struct dsl_node **ret;
  bool found;
};

static int lx_call_protected(lua_State *L)
{
  struct call_op *o = lua_touserdata(L, 1);
  lx__push_env(L);
  int t = lua_getfield(L, -1, o->fn_name);
  if (t != LUA_TFUNCTION) {
    o->op.rc =
        t == LUA_TNIL
            ? SMF_ERR_SET(o->op.err, SMF_ENOENT, "hook function '%s' is not defined", o->fn_name)
            : SMF_ERR_SET(o->op.err, SMF_EINVAL, "hook '%s' is a %s, not a function", o->fn_name,
                          luaL_typename(L, -1));
    return 0;
  }
  luaL_checkstack(L, (int)o->nargs + 4, "too many hook arguments");
  for (size_t i = 0; i < o->nargs; i++) {
    lx__push_node(L, o->args[i]);
  }
  if ((o->op.rc = lx__pcall_user(o->op.x, (int)o->nargs, 1, true, o->op.err)) != 0) {
    if (o->op.err != NULL) {
      o->op.err->klass = SMF_CLASS_HOOK;
    }
    return 0;
  }
  if (o->ret != NULL && !lua_isnil(L, -1)) {
    struct smf_error cerr = SMF_ERROR_INIT;
    if (lx__to_node(L, -1, o->a, o->ret, &cerr) != 0) {
      o->op.rc = SMF_ERR_SET(o->op.err, SMF_ELUA, "hook '%s' returned a value that is not data: %s",
                             o->fn_name, cerr.message);
      if (o->op.err != NULL) {
        o->op.err->klass = SMF_CLASS_HOOK;
      }
    }
  }
  return 0;
}

int lx_call(struct lx *x, const char *fn_name, const struct dsl_node *const *args, size_t nargs,
            struct smf_arena *a, struct dsl_node **ret, struct smf_error *err)
{
  struct call_op o = {.op = {.x = x, .err = err},
                      .fn_name = fn_name,
                      .args = args,
                      .nargs = nargs,
                      .a = a,
                      .ret = ret};
  if (ret != NULL) {
    *ret = NULL;
  }
  int rc = lx__protect(x, lx_call_protected, &o.op);
  if (rc != 0 && ret != NULL) {
    *ret = NULL;
  }
  if (rc != 0 && rc != SMF_ENOENT && rc != SMF_EINVAL && err != NULL) {
    err->klass = SMF_CLASS_HOOK;
  }
  return rc;
}

struct has_op {
  struct lx__op op;
  const char *name;
  bool yes;
};

static int lx_has_function_protected(lua_State *L)
{
  struct has_op *o = lua_touserdata(L, 1);
  lx__push_env(L);
  o->yes = lua_getfield(L, -1, o->name) == LUA_TFUNCTION;
  return 0;
}

bool lx_has_function(struct lx *x, const char *name)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct has_op o = {.op = {.x = x, .err = &err}, .name = name};
  return lx__protect(x, lx_has_function_protected, &o.op) == 0 && o.yes;
}
