/* core.h: what the files of the C core share: registry names, the null sentinel,
 * number formatting, and each file's "open" function called from core.c. */
#ifndef MEDUSA_CORE_H
#define MEDUSA_CORE_H

#include <stddef.h>
#include "compat.h"

/* Registry key of the metatable that marks a Lua table as a JSON array. */
#define MEDUSA_ARRAY_MT "medusa.array"

/* JSON null is a NULL light userdata, the same value as cjson.null. */
#define medusa_isnull(L, i) (lua_type((L), (i)) == LUA_TLIGHTUSERDATA && lua_touserdata((L), (i)) == NULL)

/* Formats a double as JavaScript's Number.prototype.toString does (shortest round-trip
 * digits; "5000", "1.5", "1e+21", "1e-7", "-0" -> "0"). The caller checks finiteness.
 * `out` needs 32 bytes. Returns the length. Implemented in json.c. */
size_t medusa_format_double(double d, char *out);

/* Each registers its functions into the table at the top of the stack. */
void medusa_open_json(lua_State *L);
void medusa_open_query(lua_State *L);
void medusa_open_http(lua_State *L);
void medusa_open_multi(lua_State *L);

#endif
