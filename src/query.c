/* query.c: query-string (qs.stringify) and path-segment encoding. To be written. */
#include "core.h"

void medusa_open_query(lua_State *L) {
  (void)L;
}
