// json.c: smflow.json.encode/decode with jansson. Objects are written with
// sorted keys; a table whose keys are exactly 1..n is an array, any other table
// (the empty one too) an object; smflow.json.null stands for JSON null.
//
// jansson allocates with malloc while Lua errors longjmp: every jansson tree is
// owned by a Lua userdata box whose __gc releases it, and is attached to its
// parent before anything that may raise runs.
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "lua/lx_internal.h"

static const char lx_json_box_key;

struct lx_json_box {
  json_t *root;
};

static int lx_json_box_gc(lua_State *L)
{
  struct lx_json_box *b = lua_touserdata(L, 1);
  json_decref(b->root);
  b->root = NULL;
  return 0;
}

static struct lx_json_box *lx_json_box_new(lua_State *L)
{
  struct lx_json_box *b = lua_newuserdatauv(L, sizeof(*b), 0);
  b->root = NULL;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx_json_box_key);
  lua_setmetatable(L, -2);
  return b;
}

// ---------------------------------------------------------------------------
// encode

static void lx_json_fill(lua_State *L, int idx, json_t *j, int depth);

// A scalar, or an empty container to be filled once attached. Never raises
// after allocating: a failure is reported as NULL with *why set.
static json_t *lx_json_make(lua_State *L, int idx, const char **why)
{
  size_t len = 0;
  const char *s = NULL;
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN:
    return json_boolean(lua_toboolean(L, idx));
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      return json_integer((json_int_t)lua_tointeger(L, idx));
    }
    if (!isfinite(lua_tonumber(L, idx))) {
      *why = "NaN and infinities have no JSON form";
      return NULL;
    }
    return json_real(lua_tonumber(L, idx));
  case LUA_TSTRING:
    s = lua_tolstring(L, idx, &len);
    *why = "string is not valid UTF-8";
    return json_stringn(s, len);
  case LUA_TTABLE: {
    // Distinct integer keys >= 1 whose largest is their count: exactly 1..count.
    lua_Integer count = 0, max = 0;
    bool seq = true;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      count++;
      if (seq && lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1) {
        max = lua_tointeger(L, -2) > max ? lua_tointeger(L, -2) : max;
      } else {
        seq = false;
      }
      lua_pop(L, 1);
    }
    return seq && count > 0 && max == count ? json_array() : json_object();
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == &lx__json_null) {
      return json_null();
    }
    // fall through
  default:
    // Left on the stack (alive) for the caller's error, which drops it.
    *why = lua_pushfstring(L, "a %s value has no JSON form", luaL_typename(L, idx));
    return NULL;
  }
}

static void lx_json_add(lua_State *L, int idx, json_t *parent, const char *key, size_t klen,
                        int depth)
{
  const char *why = "out of memory";
  if (lx__push_real(L, idx)) {
    lua_replace(L, idx);  // a read-only view: encode its real table
  }
  json_t *v = lx_json_make(L, idx, &why);
  if (v == NULL) {
    luaL_error(L, "smflow.json.encode: %s", why);
  }
  int rc = json_is_array(parent) ? json_array_append_new(parent, v)
                                 : json_object_setn_new(parent, key, klen, v);
  if (rc != 0) {
    luaL_error(L, "smflow.json.encode: cannot add key (not valid UTF-8?)");
  }
  if (json_is_array(v) || json_is_object(v)) {
    lx_json_fill(L, idx, v, depth + 1);
  }
}

static void lx_json_fill(lua_State *L, int idx, json_t *j, int depth)
{
  if (depth > LX_MAX_DEPTH) {
    luaL_error(L, "smflow.json.encode: nested more than %d levels (a cycle?)", LX_MAX_DEPTH);
  }
  luaL_checkstack(L, 6, "nesting too deep");
  if (json_is_array(j)) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      lx_json_add(L, lua_gettop(L), j, NULL, 0, depth);
      lua_pop(L, 1);
    }
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int kt = lua_type(L, -2);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
      luaL_error(L, "smflow.json.encode: a %s key has no JSON form", lua_typename(L, kt));
    }
    lua_pushvalue(L, -2);  // tostring a copy: lua_next needs the key unchanged
    size_t klen = 0;
    const char *key = lua_tolstring(L, -1, &klen);
    lx_json_add(L, lua_gettop(L) - 1, j, key, klen, depth);
    lua_pop(L, 2);
  }
}

// smflow.json.encode(value): compact JSON text with sorted object keys.
static int lhook_json_encode(lua_State *L)
{
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  if (lx__push_real(L, 1)) {
    lua_replace(L, 1);
  }
  struct lx_json_box *box = lx_json_box_new(L);
  const char *why = "out of memory";
  if (lua_isnil(L, 1)) {
    box->root = json_null();
  } else if ((box->root = lx_json_make(L, 1, &why)) == NULL) {
    return luaL_error(L, "smflow.json.encode: %s", why);
  }
  if (json_is_array(box->root) || json_is_object(box->root)) {
    lx_json_fill(L, 1, box->root, 0);
  }
  size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);
  size_t need = json_dumpb(box->root, NULL, 0, flags);
  if (need == 0) {
    return luaL_error(L, "smflow.json.encode: cannot encode");
  }
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, need);
  size_t got = json_dumpb(box->root, p, need, flags);
  luaL_pushresultsize(&b, got);
  json_decref(box->root);
  box->root = NULL;
  return 1;
}

// ---------------------------------------------------------------------------
// decode

static void lx_json_push(lua_State *L, json_t *j, int depth)
{
  luaL_checkstack(L, 4, "JSON nested too deeply");
  if (depth > 2 * LX_MAX_DEPTH) {
    luaL_error(L, "smflow.json.decode: nested more than %d levels", 2 * LX_MAX_DEPTH);
  }
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    const char *key;
    json_t *v;
    lua_createtable(L, 0, (int)json_object_size(j));
    json_object_foreach(j, key, v)
    {
      lua_pushstring(L, key);
      lx_json_push(L, v, depth + 1);
      lua_rawset(L, -3);
    }
    break;
  }
  case JSON_ARRAY: {
    size_t i;
    json_t *v;
    lua_createtable(L, (int)json_array_size(j), 0);
    json_array_foreach(j, i, v)
    {
      lx_json_push(L, v, depth + 1);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    break;
  }
  case JSON_STRING:
    lua_pushlstring(L, json_string_value(j), json_string_length(j));
    break;
  case JSON_INTEGER:
    lua_pushinteger(L, (lua_Integer)json_integer_value(j));
    break;
  case JSON_REAL:
    lua_pushnumber(L, json_real_value(j));
    break;
  case JSON_TRUE:
  case JSON_FALSE:
    lua_pushboolean(L, json_is_true(j));
    break;
  case JSON_NULL:
    lua_pushlightuserdata(L, (void *)&lx__json_null);
    break;
  }
}

// smflow.json.decode(text): the Lua value; null becomes smflow.json.null.
static int lhook_json_decode(lua_State *L)
{
  size_t len = 0;
  const char *s = luaL_checklstring(L, 1, &len);
  struct lx_json_box *box = lx_json_box_new(L);
  json_error_t jerr;
  box->root = json_loadb(s, len, JSON_DECODE_ANY, &jerr);
  if (box->root == NULL) {
    return luaL_error(L, "smflow.json.decode: %s at line %d, column %d", jerr.text, jerr.line,
                      jerr.column);
  }
  lx_json_push(L, box->root, 0);
  json_decref(box->root);
  box->root = NULL;
  return 1;
}

void lx__open_json(lua_State *L)
{
  static const luaL_Reg fns[] = {
      {"encode", lhook_json_encode}, {"decode", lhook_json_decode}, {NULL, NULL}};
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, lx_json_box_gc);
  lua_setfield(L, -2, "__gc");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &lx_json_box_key);
  luaL_newlib(L, fns);
  lua_pushlightuserdata(L, (void *)&lx__json_null);
  lua_setfield(L, -2, "null");
}
