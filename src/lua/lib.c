// lib.c: the `smflow` table of the sandbox (global, and `require "smflow"`):
// log, fail, uri.join/parse, time.format, and json (json.c).
#include <string.h>
#include <time.h>

#include "lua/lx_internal.h"

// smflow.log(...): the arguments, tostring'd and joined by spaces, as one line.
static int lhook_log(lua_State *L)
{
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) {
      luaL_addchar(&b, ' ');
    }
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  lx__log(lx__from_L(L), lua_tostring(L, -1));
  return 0;
}

// smflow.fail(msg): raise an error object marked as a deliberate failure.
static int lhook_fail(lua_State *L)
{
  luaL_tolstring(L, 1, NULL);
  lua_createtable(L, 0, 2);
  lua_insert(L, -2);
  lua_setfield(L, -2, "message");
  luaL_where(L, 1);  // "FILE:LINE: " of the caller
  lua_setfield(L, -2, "where");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__fail_key);
  lua_setmetatable(L, -2);
  return lua_error(L);
}

static int lhook_fail_tostring(lua_State *L)
{
  lua_getfield(L, 1, "message");
  return 1;
}

// ---------------------------------------------------------------------------
// smflow.uri

static bool lx_buf_endswith(luaL_Buffer *b, const char *suffix)
{
  size_t n = strlen(suffix), len = luaL_bufflen(b);
  return len >= n && memcmp(luaL_buffaddr(b) + len - n, suffix, n) == 0;
}

// smflow.uri.join(base, ...): exactly one '/' between the parts; the last part's
// trailing '/' (a prefix) is kept; empty parts are skipped.
static int lhook_uri_join(lua_State *L)
{
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    size_t len = 0;
    const char *s = luaL_checklstring(L, i, &len);
    if (luaL_bufflen(&b) > 0) {
      while (len > 0 && *s == '/') {
        s++;
        len--;
      }
      if (len == 0) {
        continue;
      }
      while (lx_buf_endswith(&b, "/") && !lx_buf_endswith(&b, "://")) {
        luaL_buffsub(&b, 1);
      }
      if (!lx_buf_endswith(&b, "://")) {
        luaL_addchar(&b, '/');
      }
    }
    luaL_addlstring(&b, s, len);
  }
  luaL_pushresult(&b);
  return 1;
}

static void lx_setfield_l(lua_State *L, const char *k, const char *s, size_t len)
{
  lua_pushlstring(L, s, len);
  lua_setfield(L, -2, k);
}

// smflow.uri.parse(uri): {scheme, bucket, key} for s3://, {scheme, host, path}
// for other URIs, {scheme = "file", path} for a plain path.
static int lhook_uri_parse(lua_State *L)
{
  size_t len = 0;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *sep = strstr(s, "://");
  lua_createtable(L, 0, 3);
  if (sep == NULL) {
    lua_pushliteral(L, "file");
    lua_setfield(L, -2, "scheme");
    lx_setfield_l(L, "path", s, len);
    return 1;
  }
  for (const char *p = s; p < sep; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (p > s && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'));
    if (!ok) {
      return luaL_error(L, "smflow.uri.parse: '%s' has no valid scheme", s);
    }
  }
  lx_setfield_l(L, "scheme", s, (size_t)(sep - s));
  const char *auth = sep + 3;
  const char *slash = strchr(auth, '/');
  size_t alen = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
  bool s3 = sep - s == 2 && memcmp(s, "s3", 2) == 0;
  if (s3) {
    if (alen == 0) {
      return luaL_error(L, "smflow.uri.parse: '%s' has no bucket", s);
    }
    lx_setfield_l(L, "bucket", auth, alen);
    const char *key = slash != NULL ? slash + 1 : "";
    lx_setfield_l(L, "key", key, strlen(key));
  } else {
    lx_setfield_l(L, "host", auth, alen);
    const char *path = slash != NULL ? slash : "";
    lx_setfield_l(L, "path", path, strlen(path));
  }
  return 1;
}

// ---------------------------------------------------------------------------
// smflow.time

// smflow.time.format(fmt [, t]): strftime in UTC; t defaults to now.
static int lhook_time_format(lua_State *L)
{
  const char *fmt = luaL_checkstring(L, 1);
  time_t t = lua_isnoneornil(L, 2) ? time(NULL) : (time_t)luaL_checknumber(L, 2);
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL) {
    return luaL_error(L, "smflow.time.format: time %f out of range", (double)t);
  }
  char out[512];
  // The format is the caller's by design (like os.date); strftime only reads it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  size_t n = strftime(out, sizeof(out), fmt, &tm);
#pragma GCC diagnostic pop
  if (n == 0 && fmt[0] != '\0') {
    return luaL_error(L, "smflow.time.format: result longer than %d bytes", (int)sizeof(out));
  }
  lua_pushlstring(L, out, n);
  return 1;
}

void lx__open_smflow(lua_State *L)
{
  static const luaL_Reg top[] = {{"log", lhook_log}, {"fail", lhook_fail}, {NULL, NULL}};
  static const luaL_Reg uri[] = {
      {"join", lhook_uri_join}, {"parse", lhook_uri_parse}, {NULL, NULL}};
  static const luaL_Reg tm[] = {{"format", lhook_time_format}, {NULL, NULL}};
  lua_rawgetp(L, LUA_REGISTRYINDEX, &lx__fail_key);
  lua_pushcfunction(L, lhook_fail_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "smflow.failure");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_newlib(L, top);
  luaL_newlib(L, uri);
  lua_setfield(L, -2, "uri");
  luaL_newlib(L, tm);
  lua_setfield(L, -2, "time");
  lx__open_json(L);
  lua_setfield(L, -2, "json");
  lx__open_async(L);
}
