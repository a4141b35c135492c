/* core.c: the luaopen entry of medusa.core, plus the small OS services the Lua layer
 * needs and Lua lacks: sleeping, wall-clock and monotonic time, UUID v4 from the OS's
 * random source, and HTTP-date parsing (for Retry-After). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <curl/curl.h>

#include "core.h"
#include "contract.h"

#define MEDUSA_CORE_VERSION "0.1.0"

/* sleep_ms(ms): blocks the calling thread; the libcurl transport's backoff. */
static int core_sleep_ms(lua_State *L) {
  lua_Number ms = luaL_checknumber(L, 1);
  struct timespec ts;
  if (ms <= 0) return 0;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)((ms - (lua_Number)ts.tv_sec * 1000) * 1e6);
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
  return 0;
}

/* now_ms(): milliseconds since the epoch, as a float (for Retry-After dates). */
static int core_now_ms(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000.0 + (lua_Number)ts.tv_nsec / 1e6);
  return 1;
}

/* monotonic_ms(): a clock that never jumps, for measuring elapsed time. */
static int core_monotonic_ms(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000.0 + (lua_Number)ts.tv_nsec / 1e6);
  return 1;
}

static int fill_random(unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(buf + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += (size_t)r;
  }
  if (got == n) return 0;
  { /* Kernels without getrandom(2): fall back to the device. */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    while (got < n) {
      ssize_t r = read(fd, buf + got, n - got);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        close(fd);
        return -1;
      }
      got += (size_t)r;
    }
    close(fd);
  }
  return 0;
}

/* uuid4(): a lowercase RFC 4122 version 4 UUID, as the uuid npm package makes. */
static int core_uuid4(lua_State *L) {
  static const char hex[] = "0123456789abcdef";
  unsigned char b[16];
  char out[36];
  int i, o = 0;
  if (fill_random(b, sizeof b) != 0) return luaL_error(L, "medusa: no random source available");
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  for (i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  lua_pushlstring(L, out, sizeof out);
  return 1;
}

/* parse_http_date(s): seconds since the epoch, or nil when s is not a date curl knows. */
static int core_parse_http_date(lua_State *L) {
  const char *s = luaL_checkstring(L, 1);
  time_t t = curl_getdate(s, NULL);
  if (t == (time_t)-1) {
    lua_pushnil(L);
  } else {
    lua_pushnumber(L, (lua_Number)t);
  }
  return 1;
}

static const luaL_Reg core_functions[] = {
  {"sleep_ms", core_sleep_ms},
  {"now_ms", core_now_ms},
  {"monotonic_ms", core_monotonic_ms},
  {"uuid4", core_uuid4},
  {"parse_http_date", core_parse_http_date},
  {NULL, NULL}
};

__attribute__((visibility("default"))) int luaopen_medusa_core(lua_State *L) {
  lua_newtable(L);
  compat_setfuncs(L, core_functions, 0);

  /* The array marker metatable, shared by the decoder, the encoder and the query encoder. */
  luaL_newmetatable(L, MEDUSA_ARRAY_MT);
  lua_pushliteral(L, MEDUSA_ARRAY_MT);
  lua_setfield(L, -2, "__name");
  lua_setfield(L, -2, "array_mt");

  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");

  lua_pushliteral(L, MEDUSA_CORE_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");

  medusa_open_json(L);
  medusa_open_query(L);
  medusa_open_http(L);
  medusa_open_multi(L);
  medusa_open_contract(L);
  return 1;
}
