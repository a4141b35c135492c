/* bench/header_map.c: the response header map alone, for callgrind (make bench-header-map).
 * src/transfer.c is included, not linked, so that its static push_header_map can be called
 * on a kept head without a socket: the head the benchmark's upstream sends (nginx with
 * Express's recorded headers, bench/nginx/upstream.conf; ten fields), with the pipeline's
 * rules (medusa.headers RULES). `header_map N` builds the map N times after one warm-up;
 * (Ir with N - Ir with 0) / N is the cost of one map, the garbage collector's share included.
 * `header_map N print` also prints the last map. */
#include "../src/transfer.c"

#include <lualib.h>

static const char HEAD[] =
  "HTTP/1.1 200 OK\r\n"
  "Server: nginx\r\n"
  "Date: Tue, 02 Dec 2025 01:00:00 GMT\r\n"
  "Content-Type: application/json; charset=utf-8\r\n"
  "Content-Length: 1375\r\n"
  "Connection: keep-alive\r\n"
  "Access-Control-Allow-Credentials: true\r\n"
  "ETag: W/\"55f-5ZkZ4b8l0FQ4mOUvHc0j0wQ2Rbg\"\r\n"
  "Set-Cookie: connect.sid=s%3AVx1kq3f9o3r0ux4cWq.Zk1E3mQd8y9N0nE5o2u3zq; Path=/; "
  "Expires=Wed, 03 Dec 2025 01:00:00 GMT; HttpOnly\r\n"
  "Vary: Origin\r\n"
  "X-Powered-By: Express\r\n"
  "\r\n";

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000, i, rules;
  lua_State *L = luaL_newstate();
  membuf head = {NULL, 0, 0};
  luaL_openlibs(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "medusa.headers");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "header_map: %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_getfield(L, -1, "RULES");
  rules = lua_gettop(L);
  if (membuf_append(&head, HEAD, sizeof HEAD - 1) != 0) return 1;
  push_header_map(L, &head, rules); /* warm-up: whatever a first map sets up */
  lua_pop(L, 1);
  for (i = 0; i < n; i++) {
    push_header_map(L, &head, rules);
    lua_pop(L, 1);
  }
  if (argc > 2) {
    push_header_map(L, &head, rules);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -1) == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        printf("%s = {%s}\n", lua_tostring(L, -3), lua_tostring(L, -1));
        lua_pop(L, 1);
      } else {
        printf("%s = %s\n", lua_tostring(L, -2), lua_tostring(L, -1));
      }
      lua_pop(L, 1);
    }
  }
  membuf_free(&head);
  lua_close(L);
  return 0;
}
