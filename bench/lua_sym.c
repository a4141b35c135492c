/* lua_sym.c: a minimal lua5.4 for `make bench-profile`. Debian's /usr/bin/lua5.4 is stripped,
 * so callgrind can only show addresses inside it; this links the same static liblua5.4.a,
 * whose symbols survive, so the profile names the VM, table, string and GC functions.
 * Exports its symbols (-Wl,-E) so C modules such as medusa.core load as under lua5.4.
 *
 *   lua_sym SCRIPT [ARGS...]      (arg[0] = SCRIPT, arg[1..] = ARGS, as lua5.4 sets them) */
#include <stdio.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

int main(int argc, char **argv) {
  lua_State *L;
  int i;
  if (argc < 2) {
    fprintf(stderr, "usage: lua_sym SCRIPT [ARGS...]\n");
    return 2;
  }
  L = luaL_newstate();
  if (L == NULL) return 1;
  luaL_openlibs(L);
  lua_createtable(L, argc, 0);
  for (i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  if (luaL_dofile(L, argv[1]) != LUA_OK) {
    fprintf(stderr, "lua_sym: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  lua_close(L);
  return 0;
}
