/* canary.c: the negative control of `make check-asan`. Built with the same sanitizer flags
 * as the core and run under the same environment, each function here must make the
 * process fail; if one does not, the sanitizers are not really watching the suite. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>

static void *volatile sink;

static int canary_leak(lua_State *L) {
  sink = malloc(64);
  sink = NULL; /* the only pointer is gone: a definite leak at exit */
  (void)L;
  return 0;
}

static int canary_overflow(lua_State *L) {
  static const char src[17] = "sixteen bytes+1";
  volatile size_t n = sizeof src;
  char *p = malloc(16);
  memcpy(p, src, n); /* one byte past the block */
  lua_pushinteger(L, p[0]);
  free(p);
  return 1;
}

static int canary_signed_overflow(lua_State *L) {
  volatile int big = INT_MAX;
  lua_pushinteger(L, big + 1);
  return 1;
}

__attribute__((visibility("default"))) int luaopen_canary(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"leak", canary_leak},
    {"overflow", canary_overflow},
    {"signed_overflow", canary_signed_overflow},
    {NULL, NULL}
  };
  luaL_newlib(L, fns);
  return 1;
}
