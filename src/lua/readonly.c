// readonly.c: read-only views of the sandbox's globals.
//
// params, vars, run, env, git, aws, steps and the standard library tables are
// not fields of the sandbox environment: they live in a table the environment
// falls back to (__index), and assigning one of those names fails. Each value is
// an empty view table whose metamethods read the real table (kept in the
// view's metatable, which Lua cannot reach: __metatable is false): fields,
// pairs, # and ipairs work, writes fail. Nested tables come out as views too.
// C code converting values back reads the real table (lx__push_real).
#include <string.h>

#include "lua/lx_internal.h"

const char lx__real_key = 0;
const char lx__globals_key = 0;
const char lx__steps_key = 0;

static void lx_ro_wrap_top(lua_State *L)
{
  if (lua_type(L, -1) == LUA_TTABLE) {
    lx__push_ro_view(L, lua_gettop(L), false);
    lua_remove(L, -2);
  }
}

// Upvalues: the real table, counting (boolean).
static int lx_ro_index(lua_State *L)
{
  if (lua_toboolean(L, lua_upvalueindex(2))) {
    lx__from_L(L)->env_reads++;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  lx_ro_wrap_top(L);
  return 1;
}

static int lx_ro_next(lua_State *L)
{
  lua_settop(L, 2);
  if (lua_next(L, lua_upvalueindex(1)) == 0) {
    lua_pushnil(L);
    return 1;
  }
  lx_ro_wrap_top(L);
  return 2;
}

static int lx_ro_pairs(lua_State *L)
{
  if (lua_toboolean(L, lua_upvalueindex(2))) {
    lx__from_L(L)->env_reads++;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, lx_ro_next, 1);
  lua_pushnil(L);
  lua_pushnil(L);
  return 3;
}

static int lx_ro_len(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
  return 1;
}

static int lx_ro_newindex(lua_State *L)
{
  return luaL_error(L, "this table is read-only (a global of the pipeline or a library)");
}

void lx__push_ro_view(lua_State *L, int idx, bool counting)
{
  idx = lua_absindex(L, idx);
  lua_newtable(L);  // the view
  lua_createtable(L, 0, 6);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, counting);
  lua_pushcclosure(L, lx_ro_index, 2);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, idx);
  lua_pushboolean(L, counting);
  lua_pushcclosure(L, lx_ro_pairs, 2);
  lua_setfield(L, -2, "__pairs");
  lua_pushvalue(L, idx);
  lua_pushcclosure(L, lx_ro_len, 1);
  lua_setfield(L, -2, "__len");
  lua_pushcfunction(L, lx_ro_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pushvalue(L, idx);
  lua_rawsetp(L, -2, &lx__real_key);
  lua_setmetatable(L, -2);
}

int lx__push_real(lua_State *L, int idx)
{
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) {
    return 0;
  }
  if (lua_rawgetp(L, -1, &lx__real_key) != LUA_TTABLE) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  return 1;
}

// The environment's __newindex: a protected name cannot be assigned.
static int lx_env_newindex(lua_State *L)
{
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__globals_key);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TNIL) {
    return luaL_error(L, "'%s' is read-only", lua_tostring(L, 2));
  }
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 0;
}

// rawset(env, NAME, v) would shadow a protected global: refused too.
static int lx_rawset_guard(lua_State *L)
{
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__env_key);
  bool is_env = lua_rawequal(L, 1, -1);
  lua_pop(L, 1);
  if (is_env && lua_type(L, 2) == LUA_TSTRING) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__globals_key);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) {
      return luaL_error(L, "'%s' is read-only", lua_tostring(L, 2));
    }
    lua_pop(L, 2);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

void lx__set_protected(lua_State *L, const char *name)
{
  if (lua_type(L, -1) == LUA_TTABLE) {
    lx__push_ro_view(L, -1, strcmp(name, "env") == 0);
    lua_remove(L, -2);
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__globals_key);
  lua_insert(L, -2);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

void lx__protect_env(lua_State *L, int env)
{
  static const char *const libs[] = {"string", "table", "math", "utf8", "coroutine", "os"};
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx__globals_key);
  for (size_t i = 0; i < SMF_ARRAY_LEN(libs); i++) {
    lua_getfield(L, env, libs[i]);
    lua_pushnil(L);
    lua_setfield(L, env, libs[i]);
    lx__set_protected(L, libs[i]);
  }
  lua_newtable(L);  // steps: filled by lx_set_step_outputs
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx__steps_key);
  lx__set_protected(L, "steps");
  lua_getfield(L, env, "rawset");
  lua_pushcclosure(L, lx_rawset_guard, 1);
  lua_setfield(L, env, "rawset");
  lua_createtable(L, 0, 2);  // the environment's metatable
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__globals_key);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, lx_env_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, env);
  // The strings' metatable: getmetatable("") is false, its __index stays the library.
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
