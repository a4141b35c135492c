/* contract.c: core.contract and core.header_problem, the Lua face of contract.h. */
#include <string.h>

#include "contract.h"

/* RFC 9110 token characters: ! # $ % & ' * + - . ^ _ ` | ~ and alphanumerics. */
static int is_tchar(unsigned char ch) {
  if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) return 1;
  return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

const char *medusa_header_problem(const char *name, size_t nlen, const char *value, size_t vlen) {
  size_t i;
  if (nlen == 0) return "is not an HTTP token";
  for (i = 0; i < nlen; i++)
    if (!is_tchar((unsigned char)name[i])) return "is not an HTTP token";
  for (i = 0; i < vlen; i++)
    if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0') return "contains CR, LF or NUL";
  return NULL;
}

/* header_problem(name, value) -> nil | "is not an HTTP token" | "contains CR, LF or NUL" */
static int l_header_problem(lua_State *L) {
  size_t nlen, vlen;
  const char *name = luaL_checklstring(L, 1, &nlen);
  const char *value = luaL_checklstring(L, 2, &vlen);
  const char *why = medusa_header_problem(name, nlen, value, vlen);
  if (why == NULL) return 0;
  lua_pushstring(L, why);
  return 1;
}

void medusa_open_contract(lua_State *L) {
  lua_createtable(L, 0, 16);
#define PUSH_NUMBER(cname, lname, value) \
  lua_pushinteger(L, (lua_Integer)(value)); \
  lua_setfield(L, -2, #lname);
  MEDUSA_CONTRACT_NUMBERS(PUSH_NUMBER)
#undef PUSH_NUMBER
  lua_createtable(L, 0, 8);
#define PUSH_TYPE(cname, text) \
  lua_pushliteral(L, text); \
  lua_setfield(L, -2, text);
  MEDUSA_FAILURE_TYPES(PUSH_TYPE)
#undef PUSH_TYPE
  lua_setfield(L, -2, "types");
  lua_createtable(L, 0, 8);
#define PUSH_MESSAGE(cname, lname, text) \
  lua_pushliteral(L, text); \
  lua_setfield(L, -2, #lname);
  MEDUSA_FAILURE_MESSAGES(PUSH_MESSAGE)
#undef PUSH_MESSAGE
  lua_setfield(L, -2, "messages");
  lua_setfield(L, -2, "contract");
  lua_pushcfunction(L, l_header_problem);
  lua_setfield(L, -2, "header_problem");
}
