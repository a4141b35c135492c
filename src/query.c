/* query.c: owns query_encode (the query string medusa-js builds with qs.stringify's
 * defaults, spec §2 / A16, but with object keys in byte order since Lua tables have no
 * insertion order) and path_segment (one percent-encoded URL path segment). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "core.h"

/* At most this many nested tables, the query table included. */
#define Q_MAX_DEPTH 32
#define Q_STATE_MT "medusa.query.state"
/* Buffers grown past this are released after the call instead of kept for reuse. */
#define Q_KEEP_MAX (64 * 1024)
/* Objects up to this many keys are insertion-sorted; qsort's call overhead loses below. */
#define Q_INSERTION_MAX 12

/* RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~): the only ones qs leaves as they are. */
static const unsigned char q_unreserved[256] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static const char q_hex[] = "0123456789ABCDEF";

/* Writes the percent-encoding of s[0..n) at d, which has room for 3n bytes. */
static char *q_pct(char *d, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *e = p + n;
  for (; p < e; p++) {
    unsigned char c = *p;
    if (q_unreserved[c]) {
      *d++ = (char)c;
    } else {
      d[0] = '%';
      d[1] = q_hex[c >> 4];
      d[2] = q_hex[c & 15];
      d += 3;
    }
  }
  return d;
}

/* Decimal digits of v into out[0..21); returns the length. */
static size_t q_itoa(long long v, char *out) {
  char tmp[24];
  size_t n = 0, len = 0;
  /* Through unsigned so that LLONG_MIN negates without overflow. */
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  if (v < 0) out[len++] = '-';
  while (n) out[len++] = tmp[--n];
  return len;
}

/* ---- query_encode ---------------------------------------------------------------- */

/* One string key of the object being encoded; its value waits on the Lua stack at vidx.
 * k stays valid because the table (on the stack) holds the key and no Lua code runs
 * while we walk it. */
typedef struct q_entry {
  const char *k;
  size_t klen;
  int vidx;
} q_entry;

/* One segment of the key path, kept only to name it in error messages. k == NULL: idx. */
typedef struct q_frame {
  const char *k;
  size_t klen;
  long long idx;
} q_frame;

/* Scratch memory reused across calls: a userdata upvalue, freed by __gc, so an error
 * raised half-way (longjmp) leaks nothing and the common call mallocs nothing. */
typedef struct q_state {
  char *out;
  size_t olen, ocap;
  char *key; /* the percent-encoded key path of the value being encoded */
  size_t klen, kcap;
  q_entry *ent; /* a stack of per-level key segments */
  size_t nent, entcap;
  /* Set while a call uses this state. A __gc finalizer run by an allocation (LuaJIT's
   * lua_pushlstring collects before copying) may call query_encode again; it must not
   * share our buffers, so it gets a fresh state. */
  int busy;
  const void *seen[Q_MAX_DEPTH]; /* the tables on the current path, for cycles */
  q_frame frames[Q_MAX_DEPTH];
} q_state;

static int q_state_gc(lua_State *L) {
  q_state *st = (q_state *)lua_touserdata(L, 1);
  if (st != NULL) {
    free(st->out);
    free(st->key);
    free(st->ent);
    st->out = st->key = NULL;
    st->ent = NULL;
    st->ocap = st->kcap = st->entcap = 0;
  }
  return 0;
}

/* Renders frames[0..plen) as a readable path (a[b][0]) into out[0..cap). Plain C only:
 * it runs before anything that could let Lua code touch st. */
static void q_path_text(const q_state *st, int plen, char *out, size_t cap) {
  size_t o = 0, i;
  int f;
  for (f = 0; f < plen && o + 8 < cap; f++) {
    const q_frame *fr = &st->frames[f];
    if (f > 0) out[o++] = '[';
    if (fr->k == NULL) {
      char num[24];
      size_t n = q_itoa(fr->idx, num);
      for (i = 0; i < n && o + 8 < cap; i++) out[o++] = num[i];
    } else {
      for (i = 0; i < fr->klen && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)fr->k[i];
        out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c; /* keep the message one line */
      }
    }
    if (f > 0) out[o++] = ']';
  }
  if (f < plen || o + 8 >= cap) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

/* Raises "medusa.query: <what> at '<path>'" (plen > 0), "... in the query table" (0),
 * or just "medusa.query: <what>" (-1). lua_error, not luaL_error: luaL_error would
 * prefix the caller's file:line whenever a Lua function calls us directly, and the message
 * is meant to start with "medusa.query: " however it is called. */
static int q_fail(lua_State *L, q_state *st, int plen, const char *what) {
  char path[256];
  if (plen < 0) { /* the message needs no place */
    st->busy = 0;
    lua_pushfstring(L, "medusa.query: %s", what);
    return lua_error(L);
  }
  if (plen > 0) {
    q_path_text(st, plen, path, sizeof path);
  }
  st->busy = 0;
  if (plen > 0) {
    lua_pushfstring(L, "medusa.query: %s at '%s'", what, path);
  } else {
    lua_pushfstring(L, "medusa.query: %s in the query table", what);
  }
  return lua_error(L);
}

static void q_grow(lua_State *L, q_state *st, void **buf, size_t *cap, size_t need, size_t elem) {
  size_t ncap = *cap ? *cap : 256;
  void *p;
  while (ncap < need) {
    if (ncap > ((size_t)-1) / 2 / elem) q_fail(L, st, -1, "out of memory");
    ncap *= 2;
  }
  p = realloc(*buf, ncap * elem);
  if (p == NULL) q_fail(L, st, -1, "out of memory");
  *buf = p;
  *cap = ncap;
}

/* Makes room for `more` bytes after len in a char buffer. */
#define Q_RESERVE(L, st, buf, len, cap, more)                                              \
  do {                                                                                     \
    if ((more) > (size_t)-1 - (len)) q_fail((L), (st), -1, "out of memory");                \
    if ((len) + (more) > (cap)) {                                                          \
      void *q_p_ = (buf);                                                                  \
      q_grow((L), (st), &q_p_, &(cap), (len) + (more), 1);                                 \
      (buf) = (char *)q_p_;                                                                \
    }                                                                                      \
  } while (0)

static size_t q_times3(lua_State *L, q_state *st, size_t n) {
  if (n > ((size_t)-1 - 8) / 3) q_fail(L, st, -1, "out of memory");
  return 3 * n + 8;
}

/* Appends one key[=]value pair; the key path is already encoded in st->key. */
static void q_emit(lua_State *L, q_state *st, const char *v, size_t vlen) {
  size_t need = q_times3(L, st, vlen);
  char *d;
  if (need > (size_t)-1 - st->klen) q_fail(L, st, -1, "out of memory");
  need += st->klen;
  Q_RESERVE(L, st, st->out, st->olen, st->ocap, need);
  d = st->out + st->olen;
  if (st->olen > 0) *d++ = '&';
  memcpy(d, st->key, st->klen);
  d += st->klen;
  *d++ = '=';
  d = q_pct(d, v, vlen);
  st->olen = (size_t)(d - st->out);
}

/* Appends a path segment to st->key: the bare key at the top, [key] below it. */
static void q_push_key(lua_State *L, q_state *st, const char *k, size_t klen, int bracket) {
  size_t need = q_times3(L, st, klen);
  char *d;
  Q_RESERVE(L, st, st->key, st->klen, st->kcap, need);
  d = st->key + st->klen;
  if (bracket) {
    memcpy(d, "%5B", 3);
    d += 3;
  }
  d = q_pct(d, k, klen);
  if (bracket) {
    memcpy(d, "%5D", 3);
    d += 3;
  }
  st->klen = (size_t)(d - st->key);
}

static int q_key_less(const q_entry *a, const q_entry *b) {
  size_t n = a->klen < b->klen ? a->klen : b->klen;
  int c = memcmp(a->k, b->k, n); /* memcmp compares as unsigned char: byte order */
  return c < 0 || (c == 0 && a->klen < b->klen);
}

static int q_key_cmp(const void *pa, const void *pb) {
  const q_entry *a = (const q_entry *)pa, *b = (const q_entry *)pb;
  return q_key_less(a, b) ? -1 : q_key_less(b, a) ? 1 : 0;
}

static void q_sort(q_entry *e, size_t n) {
  size_t i, j;
  if (n > Q_INSERTION_MAX) {
    qsort(e, n, sizeof *e, q_key_cmp);
    return;
  }
  for (i = 1; i < n; i++) {
    q_entry x = e[i];
    for (j = i; j > 0 && q_key_less(&x, &e[j - 1]); j--) e[j] = e[j - 1];
    e[j] = x;
  }
}

/* Whether the number at idx is an integer, as JS and qs would print it without a point.
 * Doubles are checked by value: 5.1, 5.2 and LuaJIT have no integer subtype. */
static int q_as_integer(lua_State *L, int idx, long long *out) {
  lua_Number d;
#if COMPAT_HAS_INTEGERS
  if (lua_isinteger(L, idx)) {
    *out = (long long)lua_tointeger(L, idx);
    return 1;
  }
#endif
  d = lua_tonumber(L, idx);
  /* Below 2^53 every integral double prints as its plain digits in JS too. */
  if (d > -9007199254740992.0 && d < 9007199254740992.0 && (lua_Number)(long long)d == d) {
    *out = (long long)d;
    return 1;
  }
  return 0;
}

static void q_value(lua_State *L, q_state *st, int v, int plen);

static void q_table_keys_error(lua_State *L, q_state *st, int plen, const char *found) {
  char what[160];
  snprintf(what, sizeof what, "table keys must be all strings or exactly 1..n (found %s)", found);
  q_fail(L, st, plen, what);
}

/* Encodes the table at absolute index t, reached by the key path frames[0..plen). */
static void q_table(lua_State *L, q_state *st, int t, int plen) {
  enum { NONE, OBJECT, ARRAY } mode = NONE;
  const void *self = lua_topointer(L, t);
  int top = lua_gettop(L), marked = 0, i;
  size_t base = st->nent, n, klen0;
  long long count = 0, maxidx = 0, idx = 0;
  char found[96];

  for (i = 0; i < plen; i++)
    if (st->seen[i] == self) q_fail(L, st, plen, "cycle (a table contains itself)");
  if (plen >= Q_MAX_DEPTH) q_fail(L, st, plen, "nesting deeper than 32 tables");
  st->seen[plen] = self;
  if (!lua_checkstack(L, 4)) q_fail(L, st, plen, "too many keys (Lua stack exhausted)");

  if (lua_getmetatable(L, t)) {
    marked = lua_rawequal(L, -1, lua_upvalueindex(2));
    lua_pop(L, 1);
  }
  if (marked) mode = ARRAY;

  /* One pass classifies the keys; an object's values stay on the stack for the sorted walk. */
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int kt = lua_type(L, -2);
    if (kt == LUA_TSTRING) {
      if (mode == ARRAY) {
        q_table_keys_error(L, st, plen, marked ? "a string key in a table marked as array"
                                               : "both string and integer keys");
      }
      mode = OBJECT;
      if (st->nent == st->entcap) {
        void *p = st->ent;
        q_grow(L, st, &p, &st->entcap, st->nent + 1, sizeof(q_entry));
        st->ent = (q_entry *)p;
      }
      st->ent[st->nent].k = lua_tolstring(L, -2, &st->ent[st->nent].klen);
      if (!lua_checkstack(L, 3)) q_fail(L, st, plen, "too many keys (Lua stack exhausted)");
      lua_insert(L, -2); /* value below the key, and there it stays */
      st->ent[st->nent].vidx = lua_gettop(L) - 1;
      st->nent++;
    } else if (kt == LUA_TNUMBER) {
      if (mode == OBJECT) q_table_keys_error(L, st, plen, "both string and integer keys");
      mode = ARRAY;
      if (!q_as_integer(L, -2, &idx)) {
        char num[32];
        lua_Number d = lua_tonumber(L, -2);
        if (isfinite(d)) {
          num[medusa_format_double((double)d, num)] = '\0';
        } else {
          strcpy(num, d > 0 ? "Infinity" : "-Infinity"); /* NaN cannot be a key */
        }
        snprintf(found, sizeof found, "number key %s", num);
        q_table_keys_error(L, st, plen, found);
      }
      if (idx < 1) {
        snprintf(found, sizeof found, "integer key %lld", idx);
        q_table_keys_error(L, st, plen, found);
      }
      count++;
      if (idx > maxidx) maxidx = idx;
      lua_pop(L, 1);
    } else {
      snprintf(found, sizeof found, "a %s key", lua_typename(L, kt));
      q_table_keys_error(L, st, plen, found);
    }
  }

  if (mode == ARRAY) {
    /* count distinct integer keys, all >= 1, the largest == count: exactly 1..count. */
    if (maxidx != count) q_table_keys_error(L, st, plen, "integer keys with gaps");
    if (plen == 0) q_fail(L, st, -1, "query must have named keys, not be an array");
    for (idx = 1; idx <= count; idx++) {
      char num[24];
      size_t nlen = q_itoa(idx - 1, num); /* qs counts from 0 */
      klen0 = st->klen;
      st->frames[plen].k = NULL;
      st->frames[plen].idx = idx - 1;
      q_push_key(L, st, num, nlen, 1);
      lua_rawgeti(L, t, (int)idx);
      q_value(L, st, lua_gettop(L), plen + 1);
      lua_pop(L, 1);
      st->klen = klen0;
    }
  } else if (mode == OBJECT) {
    n = st->nent - base;
    q_sort(st->ent + base, n);
    for (i = 0; (size_t)i < n; i++) {
      /* Re-read through st->ent each time: deeper levels may have moved it (realloc). */
      q_entry e = st->ent[base + (size_t)i];
      klen0 = st->klen;
      st->frames[plen].k = e.k;
      st->frames[plen].klen = e.klen;
      q_push_key(L, st, e.k, e.klen, plen > 0);
      q_value(L, st, e.vidx, plen + 1);
      st->klen = klen0;
    }
    st->nent = base;
  }
  lua_settop(L, top);
}

/* Encodes the value at absolute index v, whose encoded key path is in st->key. */
static void q_value(lua_State *L, q_state *st, int v, int plen) {
  char num[32];
  size_t len;
  long long iv;
  const char *s;
  int type = lua_type(L, v);
  switch (type) {
    case LUA_TSTRING:
      s = lua_tolstring(L, v, &len);
      q_emit(L, st, s, len);
      break;
    case LUA_TNUMBER:
      if (q_as_integer(L, v, &iv)) {
        len = q_itoa(iv, num);
      } else {
        lua_Number d = lua_tonumber(L, v);
        if (!isfinite(d)) {
          q_fail(L, st, plen, d != d ? "number NaN is not allowed"
                                     : d > 0 ? "number Infinity is not allowed"
                                             : "number -Infinity is not allowed");
        }
        len = medusa_format_double((double)d, num);
      }
      q_emit(L, st, num, len);
      break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, v)) {
        q_emit(L, st, "true", 4);
      } else {
        q_emit(L, st, "false", 5);
      }
      break;
    case LUA_TTABLE:
      q_table(L, st, v, plen);
      break;
    case LUA_TNIL: /* unreachable: lua_next and 1..n never yield nil */
      break;
    default:
      if (medusa_isnull(L, v)) {
        q_emit(L, st, "", 0); /* qs: null -> "key=" */
      } else {
        char what[64];
        snprintf(what, sizeof what, "unsupported value of type %s", lua_typename(L, type));
        q_fail(L, st, plen, what);
      }
  }
}

/* query_encode(tbl) -> string, no leading '?'. */
static int q_query_encode(lua_State *L) {
  q_state *st = (q_state *)lua_touserdata(L, lua_upvalueindex(1));
  if (lua_type(L, 1) != LUA_TTABLE) {
    lua_pushliteral(L, "medusa.query: query must be a table");
    return lua_error(L);
  }
  lua_settop(L, 1);
  if (st->busy) {
    st = (q_state *)compat_newuserdata(L, sizeof *st);
    memset(st, 0, sizeof *st);
    luaL_getmetatable(L, Q_STATE_MT);
    lua_setmetatable(L, -2);
  }
  st->busy = 1;
  st->olen = st->klen = st->nent = 0;
  q_table(L, st, 1, 0);
  lua_pushlstring(L, st->out != NULL ? st->out : "", st->olen);
  st->busy = 0;
  if (st->ocap > Q_KEEP_MAX || st->kcap > Q_KEEP_MAX || st->entcap * sizeof(q_entry) > Q_KEEP_MAX) {
    free(st->out);
    free(st->key);
    free(st->ent);
    st->out = st->key = NULL;
    st->ent = NULL;
    st->ocap = st->kcap = st->entcap = 0;
  }
  return 1;
}

/* ---- path_segment ---------------------------------------------------------------- */

/* path_segment(s) -> s with every byte outside A-Z a-z 0-9 - . _ ~ percent-encoded.
 * medusa-js interpolates ids raw (A11): "a/b" or "a?x=1" change the route. Encoding
 * them, and refusing dot segments that a server would resolve, keeps one id one segment. */
static int q_path_segment(lua_State *L) {
  size_t n, i;
  const char *s;
  if (lua_type(L, 1) != LUA_TSTRING) {
    lua_pushfstring(L, "medusa.path: segment must be a string, got %s", luaL_typename(L, 1));
    return lua_error(L);
  }
  s = lua_tolstring(L, 1, &n);
  if (n == 0) {
    lua_pushliteral(L, "medusa.path: segment must not be empty");
    return lua_error(L);
  }
  if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
    lua_pushfstring(L, "medusa.path: segment must not be \"%s\"", s);
    return lua_error(L);
  }
  for (i = 0; i < n && q_unreserved[(unsigned char)s[i]]; i++) {}
  if (i == n) { /* the usual id: nothing to encode, no new string */
    lua_settop(L, 1);
    return 1;
  }
  {
    /* Chunks through a C array, so the luaL_Buffer sees only its own operations. */
    char chunk[3 * 256];
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, s, i);
    while (i < n) {
      size_t m = n - i < 256 ? n - i : 256;
      char *e = q_pct(chunk, s + i, m);
      luaL_addlstring(&b, chunk, (size_t)(e - chunk));
      i += m;
    }
    luaL_pushresult(&b);
  }
  return 1;
}

void medusa_open_query(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"query_encode", q_query_encode},
    {NULL, NULL}
  };
  q_state *st = (q_state *)compat_newuserdata(L, sizeof *st);
  memset(st, 0, sizeof *st);
  if (luaL_newmetatable(L, Q_STATE_MT)) {
    lua_pushcfunction(L, q_state_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  luaL_getmetatable(L, MEDUSA_ARRAY_MT); /* core.c creates it before opening us */
  compat_setfuncs(L, fns, 2);
  lua_pushcfunction(L, q_path_segment);
  lua_setfield(L, -2, "path_segment");
}
