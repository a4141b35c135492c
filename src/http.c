/* http.c: the blocking libcurl client (medusa.http): one transfer (transfer.c) per client,
 * reused so its connection stays alive, and one exchange per perform call. */
#include <string.h>

#include "transfer.h"

#define HTTP_CLIENT_MT "medusa.http"

typedef struct {
  medusa_transfer t;
} http_client;

static http_client *check_open(lua_State *L) {
  http_client *c = luaL_checkudata(L, 1, HTTP_CLIENT_MT);
  if (c->t.curl == NULL) luaL_error(L, "medusa: attempt to use a closed client");
  return c;
}

static int l_http_new(lua_State *L) {
  http_client *c = compat_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c); /* safe for __gc before anything below can raise */
  luaL_getmetatable(L, HTTP_CLIENT_MT);
  lua_setmetatable(L, -2);
  if (!medusa_transfer_open(&c->t)) return luaL_error(L, "medusa: libcurl cannot make a handle with the options the client needs");
  return 1;
}

/* close(), __gc and __close. */
static int l_http_close(lua_State *L) {
  http_client *c = luaL_checkudata(L, 1, HTTP_CLIENT_MT);
  medusa_transfer_close(&c->t);
  return 0;
}

static int l_http_tostring(lua_State *L) {
  http_client *c = luaL_checkudata(L, 1, HTTP_CLIENT_MT);
  lua_pushfstring(L, "medusa.http: %p%s", (void *)c, c->t.curl ? "" : " (closed)");
  return 1;
}

/* client:perform{method=, url=, headers={{name, value}, ...}, body=, timeout_ms=,
 *   connect_timeout_ms=, max_response_bytes=, ca_file=, headers_reused=, header_rules=}
 * -> {status=, headers=, body=, connects=} | nil, {type=, message=, code=, status=?, headers=?}
 * headers: with header_rules, the lower-cased map; without, the flat list. Blocking. */
static int l_http_perform(lua_State *L) {
  http_client *c = check_open(L);
  medusa_request r;
  int failed;
  medusa_read_request(L, &r);
  failed = medusa_transfer_prepare(L, &c->t, &r);
  if (failed) return failed;
  return medusa_transfer_finish(L, &c->t, curl_easy_perform(c->t.curl), r.rules);
}

static const luaL_Reg client_methods[] = {
  {"perform", l_http_perform},
  {"close", l_http_close},
  {NULL, NULL}
};

void medusa_open_http(lua_State *L) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (luaL_newmetatable(L, HTTP_CLIENT_MT)) {
    lua_newtable(L);
    compat_setfuncs(L, client_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_http_close);
    lua_setfield(L, -2, "__gc");
#if COMPAT_HAS_CLOSE
    lua_pushcfunction(L, l_http_close);
    lua_setfield(L, -2, "__close");
#endif
    lua_pushcfunction(L, l_http_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, HTTP_CLIENT_MT);
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_http_new);
  lua_setfield(L, -2, "http_new");
}
