// pattern.c: string.find/match/gmatch/gsub with a bounded matcher cost.
//
// Lua's pattern matcher runs inside C, where the sandbox's instruction count
// hook never fires: `string.rep('a', 1e5):find('.-.-.-.-b')` would run for
// ages and nothing could stop it. The wrappers below estimate the worst-case
// work of a match before calling the library function, and refuse it when the
// estimate is above LX_PATTERN_WORK.
//
// The estimate: every variable-length item (`*`, `+`, `-` after a single-char
// class, `%b`, a back-reference `%1`..`%9`) may try each of the subject's n
// positions, nested in the ones before it: n^q for q such items; an unanchored
// pattern is tried at each of n + 1 start positions (one more factor), and each
// `?` at most doubles the work. A pattern without such items is linear. A plain
// find (4th argument true) is not a pattern and is not checked.
#include <math.h>
#include <string.h>

#include "lua/lx_internal.h"

/// Most matcher steps one call may need (about a second of C time).
#define LX_PATTERN_WORK 1e9

// Advance past one single-char class at p (`.`, `%x`, `[set]`, a character).
static const char *lx_pat_class_end(const char *p, const char *end)
{
  if (*p == '%') {
    return p + 2 <= end ? p + 2 : end;
  }
  if (*p == '[') {
    p++;
    if (p < end && *p == '^') {
      p++;
    }
    do {  // the first `]` of a set is a character
      if (p >= end) {
        return end;
      }
      if (*p == '%' && p + 1 < end) {
        p++;
      }
      p++;
    } while (p < end && *p != ']');
    return p < end ? p + 1 : end;
  }
  return p + 1;
}

// log10 of the estimated worst-case work of matching `pat` on n bytes.
static double lx_pat_log_work(const char *pat, size_t plen, size_t n)
{
  const char *p = pat, *end = pat + plen;
  double ln = log10((double)n + 1.0), work = 0.0;
  if (p < end && *p == '^') {
    p++;
  } else {
    work += ln;  // every start position
  }
  while (p < end) {
    if (*p == '(' || *p == ')') {
      p++;
      continue;
    }
    if (*p == '%' && p + 1 < end && (p[1] == 'b' || (p[1] >= '1' && p[1] <= '9'))) {
      work += ln;
      p += p[1] == 'b' ? 4 : 2;
      continue;
    }
    if (*p == '%' && p + 1 < end && p[1] == 'f') {
      p = lx_pat_class_end(p + 2, end);
      continue;
    }
    if (*p == '$' && p + 1 == end) {
      break;
    }
    p = lx_pat_class_end(p, end);
    if (p < end && (*p == '*' || *p == '+' || *p == '-')) {
      work += ln;
      p++;
    } else if (p < end && *p == '?') {
      work += log10(2.0);
      p++;
    }
  }
  return work;
}

// Upvalue 1: the library function. Arguments: subject, pattern, ...
static int lx_pat_guarded(lua_State *L)
{
  size_t n = 0, plen = 0;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *pat = luaL_checklstring(L, 2, &plen);
  (void)s;
  bool plain = lua_toboolean(L, lua_upvalueindex(2)) && lua_toboolean(L, 4);
  if (!plain && lx_pat_log_work(pat, plen, n) > log10(LX_PATTERN_WORK)) {
    return luaL_error(L,
                      "pattern '%s' is too costly for a subject of %d bytes (its worst case "
                      "exceeds the sandbox's bound on pattern matching: each '*', '+', '-', "
                      "'%%b' multiplies the work by the subject's length); use a simpler "
                      "pattern, a shorter subject, or a plain find",
                      plen > 60 ? "(long)" : pat, (int)(n > 2147483647u ? 2147483647u : n));
  }
  int top = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, top, LUA_MULTRET);
  return lua_gettop(L);
}

void lx__guard_patterns(lua_State *L, int strtab)
{
  static const char *const names[] = {"find", "match", "gmatch", "gsub"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(names); i++) {
    lua_getfield(L, strtab, names[i]);
    lua_pushboolean(L, i == 0);  // find has a `plain` argument
    lua_pushcclosure(L, lx_pat_guarded, 2);
    lua_setfield(L, strtab, names[i]);
  }
}
