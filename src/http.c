/* http.c: the libcurl transport. To be written. */
#include <curl/curl.h>
#include "core.h"

void medusa_open_http(lua_State *L) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)L;
}
