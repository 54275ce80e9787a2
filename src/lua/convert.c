// convert.c: value trees (dsl.h) to Lua values and back. Maps become tables
// with string keys, sequences 1-based arrays; back from Lua, a table whose keys
// are exactly 1..n is a sequence, anything else a map with sorted string keys.
// Conversion reads tables raw: no metamethod (no sandbox code) runs here.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lx_internal.h"

const char lx__json_null;

struct dsl_node *lx__node_new(struct smf_arena *a, enum dsl_type t)
{
  struct dsl_node *n = smf_arena_alloc(a, sizeof(*n));
  n->type = t;
  return n;
}

static void lx_push_node_depth(lua_State *L, const struct dsl_node *n, int depth)
{
  if (depth > LX_MAX_DEPTH) {
    luaL_error(L, "value nested more than %d levels deep", LX_MAX_DEPTH);
  }
  luaL_checkstack(L, 4, "value nested too deeply");
  if (n == NULL) {
    lua_pushnil(L);
    return;
  }
  switch (n->type) {
  case DSL_NULL:
    lua_pushnil(L);
    break;
  case DSL_BOOL:
    lua_pushboolean(L, n->u.b);
    break;
  case DSL_INT:
    lua_pushinteger(L, (lua_Integer)n->u.i);
    break;
  case DSL_FLOAT:
    lua_pushnumber(L, n->u.f);
    break;
  case DSL_STR:
    lua_pushlstring(L, n->u.str.s, n->u.str.len);
    break;
  case DSL_SEQ:
    lua_createtable(L, (int)n->u.seq.n, 0);
    for (size_t i = 0; i < n->u.seq.n; i++) {
      lx_push_node_depth(L, n->u.seq.items[i], depth + 1);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    break;
  case DSL_MAP:
    lua_createtable(L, 0, (int)n->u.map.n);
    for (size_t i = 0; i < n->u.map.n; i++) {
      lua_pushstring(L, n->u.map.pairs[i].key);
      lx_push_node_depth(L, n->u.map.pairs[i].value, depth + 1);
      lua_rawset(L, -3);
    }
    break;
  }
}

void lx__push_node(lua_State *L, const struct dsl_node *n)
{
  lx_push_node_depth(L, n, 0);
}

// ---------------------------------------------------------------------------
// Lua -> tree

static int lx_to_node_depth(lua_State *L, int idx, struct smf_arena *a, int depth,
                            struct dsl_node **out, struct smf_error *err);

static int lx_pair_cmp(const void *pa, const void *pb)
{
  const struct dsl_pair *a = pa, *b = pb;
  return strcmp(a->key, b->key);
}

// The key at the top of the stack (a copy of lua_next's key, which must stay
// unchanged) as a string in `a`, or NULL for keys that have no string form.
static const char *lx_key_string(lua_State *L, struct smf_arena *a)
{
  switch (lua_type(L, -1)) {
  case LUA_TSTRING: {
    size_t len = 0;
    const char *s = lua_tolstring(L, -1, &len);
    return memchr(s, '\0', len) == NULL ? smf_arena_strndup(a, s, len) : NULL;
  }
  case LUA_TNUMBER:
    return smf_arena_strdup(a, lua_tostring(L, -1));
  default:
    return NULL;
  }
}

// Count the entries of the table at idx; *is_seq when the keys are exactly 1..n.
static size_t lx_table_shape(lua_State *L, int idx, bool *is_seq)
{
  size_t count = 0;
  bool ints = true;
  lua_Integer max = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    count++;
    if (lua_isinteger(L, -2)) {
      lua_Integer k = lua_tointeger(L, -2);
      if (k < 1) {
        ints = false;
      } else if (k > max) {
        max = k;
      }
    } else {
      ints = false;
    }
    lua_pop(L, 1);
  }
  *is_seq = count > 0 && ints && (size_t)max == count;
  return count;
}

static int lx_table_to_node(lua_State *L, int idx, struct smf_arena *a, int depth,
                            struct dsl_node **out, struct smf_error *err)
{
  bool is_seq = false;
  size_t count = lx_table_shape(L, idx, &is_seq);
  struct dsl_node *n = lx__node_new(a, is_seq ? DSL_SEQ : DSL_MAP);
  if (is_seq) {
    n->u.seq.items = smf_arena_alloc(a, count * sizeof(*n->u.seq.items));
    n->u.seq.n = count;
    for (size_t i = 0; i < count; i++) {
      lua_rawgeti(L, idx, (lua_Integer)i + 1);
      int rc = lx_to_node_depth(L, lua_gettop(L), a, depth + 1, &n->u.seq.items[i], err);
      lua_pop(L, 1);
      if (rc != 0) {
        return rc;
      }
    }
    *out = n;
    return 0;
  }
  n->u.map.pairs = smf_arena_alloc(a, (count > 0 ? count : 1) * sizeof(*n->u.map.pairs));
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pushvalue(L, -2);
    const char *key = lx_key_string(L, a);
    if (key == NULL) {
      SMF_ERR_SET(err, SMF_EINVAL, "a table key of type %s has no string form%s",
                  luaL_typename(L, -1),
                  lua_type(L, -1) == LUA_TSTRING ? " (it contains a NUL byte)" : "");
      lua_pop(L, 3);
      return SMF_EINVAL;
    }
    lua_pop(L, 1);
    struct dsl_pair *p = &n->u.map.pairs[i++];
    p->key = key;
    int rc = lx_to_node_depth(L, lua_gettop(L), a, depth + 1, &p->value, err);
    lua_pop(L, 1);
    if (rc != 0) {
      lua_pop(L, 1);
      return rc;
    }
  }
  n->u.map.n = i;
  qsort(n->u.map.pairs, i, sizeof(*n->u.map.pairs), lx_pair_cmp);
  for (size_t j = 1; j < i; j++) {
    if (strcmp(n->u.map.pairs[j - 1].key, n->u.map.pairs[j].key) == 0) {
      return SMF_ERR_SET(err, SMF_EINVAL, "table has the key '%s' both as a number and a string",
                         n->u.map.pairs[j].key);
    }
  }
  *out = n;
  return 0;
}

static int lx_to_node_depth(lua_State *L, int idx, struct smf_arena *a, int depth,
                            struct dsl_node **out, struct smf_error *err)
{
  if (depth > LX_MAX_DEPTH) {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "table nested more than %d levels deep (does it contain itself?)",
                       LX_MAX_DEPTH);
  }
  luaL_checkstack(L, 6, "value nested too deeply");
  struct dsl_node *n = NULL;
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    n = lx__node_new(a, DSL_NULL);
    break;
  case LUA_TBOOLEAN:
    n = lx__node_new(a, DSL_BOOL);
    n->u.b = lua_toboolean(L, idx);
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      n = lx__node_new(a, DSL_INT);
      n->u.i = (int64_t)lua_tointeger(L, idx);
    } else {
      n = lx__node_new(a, DSL_FLOAT);
      n->u.f = (double)lua_tonumber(L, idx);
    }
    break;
  case LUA_TSTRING: {
    size_t len = 0;
    const char *s = lua_tolstring(L, idx, &len);
    if (memchr(s, '\0', len) != NULL) {
      // Pipeline strings are C strings.
      return SMF_ERR_SET(err, SMF_EINVAL, "a string containing a NUL byte cannot be converted");
    }
    n = lx__node_new(a, DSL_STR);
    n->u.str.s = smf_arena_strndup(a, s, len);
    n->u.str.len = len;
    break;
  }
  case LUA_TTABLE: {
    int real = lx__push_real(L, idx);  // a read-only view: its real table
    int rc = lx_table_to_node(L, real ? lua_gettop(L) : idx, a, depth, out, err);
    lua_pop(L, real);
    return rc;
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == &lx__json_null) {
      n = lx__node_new(a, DSL_NULL);
      break;
    }
    // fall through
  default:
    return SMF_ERR_SET(err, SMF_EINVAL, "a %s value cannot be converted to data",
                       luaL_typename(L, idx));
  }
  *out = n;
  return 0;
}

int lx__to_node(lua_State *L, int idx, struct smf_arena *a, struct dsl_node **out,
                struct smf_error *err)
{
  return lx_to_node_depth(L, lua_absindex(L, idx), a, 0, out, err);
}
