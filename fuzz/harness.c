/* harness.c: the libFuzzer entry of every target in fuzz/targets/. It embeds a Lua 5.4 state
 * holding medusa.core (src/ built with the fuzzer's instrumentation) and hands each input to
 * the target's check, fuzz/targets/FUZZ_TARGET.lua, a Lua function that raises when a
 * property fails: a raise is reported as a crash. The checks are Lua so that
 * spec/fuzz_regressions_spec.lua can replay the same properties against the normal build.
 * src/transfer.c is included, not linked, so that its static head parser (on_header,
 * push_headers and push_header_map) can be driven without a socket; the production file
 * stays as it is. http.c comes with it; multi.c, which needs only transfer.h, is linked
 * (mk/fuzz.mk). */
#include "../src/transfer.c"
#include "../src/http.c"

#include <stdint.h>
#include <lualib.h>

int luaopen_medusa_core(lua_State *L);

static lua_State *fuzz_L;

/* internals.head(bytes, max_body, rules) -> status, too_large, headers, head_len, map: the
 * bytes go to on_header one line at a time, each with its '\n', as libcurl delivers a
 * response head, until the callback refuses one; then push_headers builds the flat list
 * and push_header_map, with the rules table, the map the pipeline gets. */
static int fuzz_head(lua_State *L) {
  size_t len, off = 0;
  const char *bytes = luaL_checklstring(L, 1, &len);
  medusa_transfer c;
  memset(&c, 0, sizeof c);
  c.max_body = (size_t)luaL_checkinteger(L, 2);
  while (off < len) {
    const char *nl = memchr(bytes + off, '\n', len - off);
    size_t n = nl != NULL ? (size_t)(nl - (bytes + off)) + 1 : len - off;
    /* a private copy, so that ASan sees a read past the line libcurl would hand over */
    char *line = malloc(n);
    size_t taken;
    if (line == NULL) abort();
    memcpy(line, bytes + off, n);
    taken = on_header(line, 1, n, &c);
    free(line);
    if (taken != n) break;
    off += n;
  }
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_pushinteger(L, (lua_Integer)c.status);
  lua_pushinteger(L, c.too_large);
  push_headers(L, &c.head);
  lua_pushinteger(L, (lua_Integer)c.head.len);
  push_header_map(L, &c.head, 3);
  membuf_free(&c.head);
  membuf_free(&c.body);
  return 5;
}

static int fuzz_fail(lua_State *L) {
  luaL_traceback(L, L, luaL_tolstring(L, 1, NULL), 1);
  fprintf(stderr, "\n%s: property failed: %s\n", FUZZ_TARGET, lua_tostring(L, -1));
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  lua_State *L = luaL_newstate();
  (void)argc;
  (void)argv;
  luaL_openlibs(L);
  luaL_requiref(L, "medusa.core", luaopen_medusa_core, 0);
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, fuzz_head);
  lua_setfield(L, -2, "head");
  lua_setfield(L, -2, "fuzz.internals");
  lua_pop(L, 1);
  /* the checks are the modules fuzz.targets.*; they may use the library's Lua modules */
  lua_pushliteral(L, FUZZ_ROOT "/?.lua;" FUZZ_ROOT "/lua/?.lua");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "fuzz.targets." FUZZ_TARGET);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isfunction(L, -1)) {
    fprintf(stderr, "%s: cannot load the check: %s\n", FUZZ_TARGET, lua_tostring(L, -1));
    abort();
  }
  lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.check");
  fuzz_L = L;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_L;
  lua_settop(L, 0);
  lua_pushcfunction(L, fuzz_fail);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.check");
  lua_pushlstring(L, (const char *)data, size);
  /* the message handler aborts where the check raised, so the stack trace points there */
  lua_pcall(L, 1, 0, 1);
  lua_settop(L, 0);
  /* Each input frees what it allocated, so libFuzzer's leak check (run when an input
   * mallocs more than it frees) looks only at inputs that really keep memory. */
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
