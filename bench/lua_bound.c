/* bench/lua_bound.c: bench_bound, the least a result of plain Lua tables can cost, for
 * `make bench-profile`'s lower bound. bound.record(value) walks a result once (the body's
 * tables, `response`, its header map) and keeps it as a tape in C memory: every table with
 * its sizes, every string's bytes, every number. bound.build() then makes the same tables
 * again from the tape with the fewest Lua C API calls any C decoder must make: one
 * lua_createtable at the final size, one lua_pushlstring per string value (the bytes a
 * server sends must become strings), keys pushed from a table of kept strings (as a key
 * cache would), one raw set per field. No parsing, no checks, no metatables: whatever reads
 * JSON and a response head into plain tables through this API costs at least this, the
 * garbage collector's share included (the loop around build() drops the last result).
 * build(true) takes every string from the kept table instead, as if a cache of strings by
 * their bytes hit on every one at no cost for the comparison: less than any decoder can do,
 * for a bound that holds even against a perfect string cache.
 * One source for Lua 5.4 and LuaJIT (5.1 API).
 *
 *   local bound = require "bench_bound"; bound.record(result); local copy = bound.build(cached) */
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM >= 502
#define lua_objlen lua_rawlen
#endif

enum { OP_TABLE, OP_KEY, OP_SET, OP_SETI, OP_STRING, OP_NUMBER, OP_INTEGER, OP_CONST };

typedef struct {
  int op;
  int a, b;        /* OP_TABLE: array and hash sizes; OP_KEY/OP_CONST: index in the kept
                      table; OP_SETI: the index; OP_STRING: offset and length in bytes */
  int kept;        /* OP_STRING: the string's index in the kept table too */
  lua_Number number;
  long long integer;
} step;

static step *tape;
static size_t tape_len, tape_cap;
static char *bytes;
static size_t bytes_len, bytes_cap;
static int kept_ref = LUA_NOREF; /* keys and constants (true, false, the null sentinel) */
static int kept_count;

static void emit(lua_State *L, step s) {
  if (tape_len == tape_cap) {
    size_t cap = tape_cap ? 2 * tape_cap : 256;
    step *grown = realloc(tape, cap * sizeof *grown);
    if (grown == NULL) luaL_error(L, "bench_bound: out of memory");
    tape = grown;
    tape_cap = cap;
  }
  tape[tape_len++] = s;
}

static int keep_bytes(lua_State *L, const char *s, size_t n) {
  int at = (int)bytes_len;
  if (bytes_len + n > bytes_cap) {
    size_t cap = bytes_cap ? 2 * bytes_cap : 4096;
    char *grown;
    while (cap < bytes_len + n) cap *= 2;
    grown = realloc(bytes, cap);
    if (grown == NULL) luaL_error(L, "bench_bound: out of memory");
    bytes = grown;
    bytes_cap = cap;
  }
  memcpy(bytes + bytes_len, s, n);
  bytes_len += n;
  return at;
}

/* The value on top joins the kept table; returns its index there. */
static int keep_value(lua_State *L, int kept) {
  lua_rawseti(L, kept, ++kept_count);
  return kept_count;
}

static void record_value(lua_State *L, int kept);

static void record_table(lua_State *L, int kept) {
  int t = lua_gettop(L), narr = (int)lua_objlen(L, t), nhash = 0, i;
  size_t at = tape_len;
  step s = {OP_TABLE, 0, 0, 0, 0, 0};
  emit(L, s);
  for (i = 1; i <= narr; i++) {
    step set = {OP_SETI, i, 0, 0, 0, 0};
    lua_rawgeti(L, t, i);
    record_value(L, kept);
    emit(L, set);
  }
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TNUMBER) {
      lua_Number k = lua_tonumber(L, -2);
      if (k >= 1 && k <= narr && k == (int)k) { lua_pop(L, 1); continue; }
      luaL_error(L, "bench_bound: a number key outside the array part");
    }
    {
      step key = {OP_KEY, 0, 0, 0, 0, 0}, set = {OP_SET, 0, 0, 0, 0, 0};
      lua_pushvalue(L, -2);
      key.a = keep_value(L, kept);
      emit(L, key);
      record_value(L, kept);
      emit(L, set);
      nhash++;
    }
  }
  tape[at].a = narr;
  tape[at].b = nhash;
}

/* Records the value on top and pops it. */
static void record_value(lua_State *L, int kept) {
  step s = {OP_CONST, 0, 0, 0, 0, 0};
  switch (lua_type(L, -1)) {
    case LUA_TTABLE: record_table(L, kept); break;
    case LUA_TSTRING: {
      size_t n;
      const char *str = lua_tolstring(L, -1, &n);
      s.op = OP_STRING;
      s.a = keep_bytes(L, str, n);
      s.b = (int)n;
      lua_pushvalue(L, -1);
      s.kept = keep_value(L, kept);
      emit(L, s);
      break;
    }
    case LUA_TNUMBER:
#if LUA_VERSION_NUM >= 503
      if (lua_isinteger(L, -1)) {
        s.op = OP_INTEGER;
        s.integer = (long long)lua_tointeger(L, -1);
        emit(L, s);
        break;
      }
#endif
      s.op = OP_NUMBER;
      s.number = lua_tonumber(L, -1);
      emit(L, s);
      break;
    default: /* booleans, the null sentinel: kept as they are */
      lua_pushvalue(L, -1);
      s.a = keep_value(L, kept);
      emit(L, s);
  }
  lua_pop(L, 1);
}

static int l_record(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  tape_len = bytes_len = 0;
  kept_count = 0;
  luaL_unref(L, LUA_REGISTRYINDEX, kept_ref);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  kept_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, 1);
  record_value(L, 2);
  lua_pushinteger(L, (lua_Integer)tape_len);
  return 1;
}

/* The tables again, from the tape: a step per Lua C API call a decoder cannot avoid. */
static int l_build(lua_State *L) {
  size_t i;
  int kept, cached = lua_toboolean(L, 1);
  if (tape_len == 0) return luaL_error(L, "bench_bound: nothing recorded");
  lua_rawgeti(L, LUA_REGISTRYINDEX, kept_ref);
  kept = lua_gettop(L);
  luaL_checkstack(L, 64, "bench_bound");
  for (i = 0; i < tape_len; i++) {
    const step *s = &tape[i];
    switch (s->op) {
      case OP_TABLE: lua_createtable(L, s->a, s->b); break;
      case OP_KEY: lua_rawgeti(L, kept, s->a); break;
      case OP_SET: lua_rawset(L, -3); break;
      case OP_SETI: lua_rawseti(L, -2, s->a); break;
      case OP_STRING:
        if (cached) lua_rawgeti(L, kept, s->kept);
        else lua_pushlstring(L, bytes + s->a, (size_t)s->b);
        break;
      case OP_NUMBER: lua_pushnumber(L, s->number); break;
#if LUA_VERSION_NUM >= 503
      case OP_INTEGER: lua_pushinteger(L, (lua_Integer)s->integer); break;
#endif
      default: lua_rawgeti(L, kept, s->a);
    }
  }
  return 1;
}

__attribute__((visibility("default"))) int luaopen_bench_bound(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_record);
  lua_setfield(L, -2, "record");
  lua_pushcfunction(L, l_build);
  lua_setfield(L, -2, "build");
  return 1;
}
