/* compat.h: the few Lua C API differences between Lua 5.4 and LuaJIT 2.1 (5.1 ABI).
 * LuaJIT reports LUA_VERSION_NUM 501 yet already declares several 5.2 functions
 * (luaL_setfuncs, luaL_testudata, ...), so every shim here has its own name. */
#ifndef MEDUSA_COMPAT_H
#define MEDUSA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM >= 503
#define compat_isinteger(L, i) lua_isinteger((L), (i))
#define compat_rawlen(L, i) lua_rawlen((L), (i))
#define compat_newuserdata(L, sz) lua_newuserdatauv((L), (sz), 0)
#else
/* Numbers are doubles in LuaJIT: an integer is a number with no fraction. */
#define compat_isinteger(L, i) 0
#define compat_rawlen(L, i) lua_objlen((L), (i))
#define compat_newuserdata(L, sz) lua_newuserdata((L), (sz))
#endif

#define compat_absindex(L, i) \
  (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)

/* luaL_setfuncs with upvalues, under its own name for LuaJIT's sake. */
static inline void compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

/* A userdata type check that works the same on both (luaL_testudata exists on both,
 * but spelled out here to keep one code path). */
static inline void *compat_testudata(lua_State *L, int idx, const char *tname) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx)) return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}

#endif
