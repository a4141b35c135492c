/* compat.h: the Lua C API differences between the Luas the rockspec promises: PUC Lua 5.1,
 * 5.2, 5.3, 5.4 and LuaJIT 2.1. LuaJIT reports LUA_VERSION_NUM 501 like PUC 5.1 (same ABI)
 * yet already declares several 5.2 functions (luaL_setfuncs, luaL_testudata, ...) that PUC
 * 5.1 lacks, so every shim here has its own compat_ name and never redefines a Lua one.
 *
 *   what                          5.1 / LuaJIT    5.2            5.3              5.4
 *   integer subtype               no              no             yes              yes
 *   raw length                    lua_objlen      lua_rawlen     lua_rawlen       lua_rawlen
 *   new userdata                  lua_newuserdata lua_newuserdata lua_newuserdata lua_newuserdatauv
 *   lua_rawgeti's index           int             int            lua_Integer      lua_Integer
 *   lua_rawseti's index           int             int            lua_Integer      lua_Integer
 *   __close metamethod            no              no             no               yes
 */
#ifndef MEDUSA_COMPAT_H
#define MEDUSA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

/* 1 where numbers have an integer subtype (math.type, lua_isinteger, LUA_MAXINTEGER): 5.3
 * and 5.4. Elsewhere every number is a double and lua_Integer is only a C type. */
#if LUA_VERSION_NUM >= 503
#define COMPAT_HAS_INTEGERS 1
#else
#define COMPAT_HAS_INTEGERS 0
#endif

/* 1 where the __close metamethod (to-be-closed variables) exists: 5.4. */
#if LUA_VERSION_NUM >= 504
#define COMPAT_HAS_CLOSE 1
#else
#define COMPAT_HAS_CLOSE 0
#endif

#if COMPAT_HAS_INTEGERS
#define compat_isinteger(L, i) lua_isinteger((L), (i))
/* lua_rawgeti takes a lua_Integer index. */
#define compat_rawgeti(L, t, i) lua_rawgeti((L), (t), (lua_Integer)(i))
#define compat_rawseti(L, t, i) lua_rawseti((L), (t), (lua_Integer)(i))
#else
#define compat_isinteger(L, i) 0
/* lua_rawgeti takes an int index. */
#define compat_rawgeti(L, t, i) lua_rawgeti((L), (t), (int)(i))
#define compat_rawseti(L, t, i) lua_rawseti((L), (t), (int)(i))
#endif

/* The length of a string, table or userdata without metamethods. */
#if LUA_VERSION_NUM >= 502
#define compat_rawlen(L, i) lua_rawlen((L), (i))
#else
#define compat_rawlen(L, i) lua_objlen((L), (i))
#endif

/* A full userdata with no user values (5.4 has several; before it, one environment). */
#if LUA_VERSION_NUM >= 504
#define compat_newuserdata(L, sz) lua_newuserdatauv((L), (sz), 0)
#else
#define compat_newuserdata(L, sz) lua_newuserdata((L), (sz))
#endif

#define compat_absindex(L, i) \
  (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)

/* luaL_setfuncs with upvalues (5.2+; LuaJIT has it, PUC 5.1 does not). */
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

/* luaL_testudata (5.2+; LuaJIT has it, PUC 5.1 does not): the userdata at idx if its
 * metatable is the registry's tname, else NULL. */
static inline void *compat_testudata(lua_State *L, int idx, const char *tname) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx)) return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}

#endif
