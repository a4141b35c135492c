/* lua_rusage.c: bench_rusage, getrusage(RUSAGE_SELF) for the Lua contenders of the
 * `concurrent` group. A batch of 100 calls costs a few tens of ms of CPU, below the 10 ms
 * ticks bench/lua/cpu_split.lua splits os.clock by; this gives user and system time apart,
 * as the raw C loop and node get them. One source for Lua 5.4 and LuaJIT (5.1 API).
 *
 *   local ru = require "bench_rusage"; local user_ms, sys_ms = ru.cpu_ms() */
#define _POSIX_C_SOURCE 200809L
#include <sys/resource.h>
#include <lua.h>
#include <lauxlib.h>

static int cpu_ms(lua_State *L) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return luaL_error(L, "getrusage failed");
  lua_pushnumber(L, (lua_Number)ru.ru_utime.tv_sec * 1e3 + (lua_Number)ru.ru_utime.tv_usec / 1e3);
  lua_pushnumber(L, (lua_Number)ru.ru_stime.tv_sec * 1e3 + (lua_Number)ru.ru_stime.tv_usec / 1e3);
  return 2;
}

__attribute__((visibility("default"))) int luaopen_bench_rusage(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, cpu_ms);
  lua_setfield(L, -2, "cpu_ms");
  return 1;
}
