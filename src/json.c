/* json.c: the strict RFC 8259 JSON codec of medusa.core (json_encode, json_decode), its reusable
 * buffers (one userdata per Lua state) and medusa_format_double, the JavaScript-style number
 * formatter that the query encoder shares. The rules it keeps are the contract in the spec. */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define JSON_MAX_DEPTH 1000
/* Buffers that grew past these for one large document are given back after the call. */
#define KEEP_BUFFER_BYTES (2u * 1024 * 1024)
#define KEEP_KEYS 4096
/* The decoder parks a container's values on the Lua stack and builds the table once the
 * count is known (a presized table avoids every rehash). These bound what is parked: per
 * container, and in all (LuaJIT lets one C call use only ~8000 stack slots). */
#define PARK_ARRAY_MAX 256
#define PARK_OBJECT_MAX 128
#define PARK_BUDGET 3000
/* Shaped for speed: the stack is grown for this many parked members at a time, not one by
 * one (lua_checkstack per member was 0.56k Ir of a 525-byte GET body's 23k). */
#define PARK_CHECK_EVERY 16
/* The encoder keeps an object's values on the stack while sorting its keys, up to this
 * many keys (and within PARK_BUDGET); bigger objects look each value up again by key. */
#define OBJECT_ON_STACK_MAX 64
/* String escaping reserves 6 output bytes per input byte, one chunk at a time. */
#define ESCAPE_CHUNK 16384
/* The decoder's object-key cache (see key_cache): direct-mapped slots (a power of two), for
 * keys of up to this many bytes (Lua 5.4's short strings, the ones it interns). */
#define KEY_CACHE_SLOTS 128
#define KEY_CACHE_MAXLEN 40

/* ---- character classes ---- */

/* Decoder: 0 = a byte that can sit in a string as is; 1 = '"', '\\', a control byte
 * (including the NUL that ends every Lua string) or the lead of a multi-byte sequence. */
static const unsigned char str_special[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

/* JSON whitespace. NUL is not, so a skip always stops at the end of a Lua string. */
static const unsigned char json_space[256] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

#define SKIP_SPACE(p) \
  do {                \
    while (json_space[*(p)]) (p)++; \
  } while (0)

/* Length of the well-formed UTF-8 sequence at p (whose first byte is >= 0x80), or 0.
 * Table 3-7 of the Unicode standard: this is what rejects overlong forms, UTF-16
 * surrogates written in UTF-8, code points past U+10FFFF and truncated sequences. */
static int utf8_sequence(const unsigned char *p, const unsigned char *end) {
  unsigned char c = p[0], lo = 0x80, hi = 0xBF;
  size_t avail = (size_t)(end - p);
  if (c >= 0xC2 && c <= 0xDF) return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (c == 0xE0) lo = 0xA0;
    else if (c == 0xED) hi = 0x9F;
    return (avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (c == 0xF0) lo = 0x90;
    else if (c == 0xF4) hi = 0x8F;
    return (avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) ? 4 : 0;
  }
  return 0;
}

/* ---- number formatting ---- */

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static size_t format_uint(char *out, unsigned long long u) {
  char tmp[24];
  int i = (int)sizeof tmp;
  do {
    tmp[--i] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u != 0);
  memcpy(out, tmp + i, sizeof tmp - (size_t)i);
  return sizeof tmp - (size_t)i;
}

/* d is a power of two and its nearest 16-digit decimal (in sci) does not read back: that
 * one lies on the side where the rounding interval is half as wide, so the next 16-digit
 * decimal up may still read back, and JavaScript prints it rather than 17 digits. */
static int next_16_digits_up(char *sci, size_t size, double d) {
  char dig[16], cand[48];
  int i, e10;
  if (sci[17] != 'e' || strtod(sci, NULL) > d) return 0;
  dig[0] = sci[0];
  memcpy(dig + 1, sci + 2, 15); /* sci is "D.DDDDDDDDDDDDDDDe+XX" */
  e10 = atoi(sci + 18);
  for (i = 15; i >= 0 && dig[i] == '9'; i--) dig[i] = '0';
  if (i < 0) {
    dig[0] = '1';
    e10++;
  } else {
    dig[i]++;
  }
  snprintf(cand, sizeof cand, "%c%c%.15se%d", dig[0], sci[1], dig + 1, e10);
  if (strtod(cand, NULL) != d) return 0;
  snprintf(sci, size, "%s", cand);
  return 1;
}

/* m / 10^k (k >= 0) or m * 10^-k, for |k| <= 22 and m below 2^53: both operands are exact
 * doubles, so the one rounding is the correct one and equals what strtod("m e-k") gives. */
static double scaled(double m, int k) {
  return k >= 0 ? m / pow10_exact[k] : m * pow10_exact[-k];
}

/* True when the 16-digit decimal m * 10^(e10 - 15) reads back as d. */
static int reads_back(unsigned long long m, int e10, double d) {
  char text[48];
  if (m <= 9007199254740992ULL && 15 - e10 >= -22 && 15 - e10 <= 22)
    return scaled((double)m, 15 - e10) == d;
  snprintf(text, sizeof text, "%llue%d", m, e10 - 15);
  return strtod(text, NULL) == d;
}

#if LDBL_MANT_DIG == 64
/* x87 extended precision: powers of ten up to 10^27 are exact in 64 bits. */
static const long double pow10_long[] = {
  1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
  1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
#endif

/* The 17 significant digits of d (> 0, normal), correctly rounded, as an integer in
 * [1e16, 1e17), and the power of ten of the first digit. 0 if the format is unexpected. */
static int digits17(double d, unsigned long long *m17, int *e10) {
  char sci[48];
  int i;
#if LDBL_MANT_DIG == 64
  /* printf is slow at full precision. In 64-bit arithmetic, x = d * 10^k lands within
   * 0.004 of the exact product, so round(x) is right unless x is that close to a half.
   * Checked at run time: valgrind computes long doubles with 53 bits, and some systems
   * set the x87 unit to double precision. */
  static const volatile long double one = 1.0L, epsilon = LDBL_EPSILON;
  int k = 16 - (int)floor(log10(d));
  if (k >= -26 && k <= 26 && one + epsilon != one) {
    long double x = k >= 0 ? (long double)d * pow10_long[k] : (long double)d / pow10_long[-k];
    if (x < 1e16L || x >= 1e17L) { /* log10 was off by one, next to a power of ten */
      k += x < 1e16L ? 1 : -1;
      x = k >= 0 ? (long double)d * pow10_long[k] : (long double)d / pow10_long[-k];
    }
    if (x >= 1e16L && x < 1e17L) {
      long double f = floorl(x), frac = x - f;
      if (frac < 0.49L || frac > 0.51L) {
        unsigned long long m = (unsigned long long)f + (frac > 0.5L);
        *e10 = 16 - k;
        if (m == 100000000000000000ULL) { /* rounded up to the next power of ten */
          m /= 10;
          ++*e10;
        }
        *m17 = m;
        return 1;
      }
    }
  }
#endif
  snprintf(sci, sizeof sci, "%.16e", d);
  if (sci[18] != 'e') return 0; /* "D.DDDDDDDDDDDDDDDDe+XX" with a one-byte decimal point */
  *m17 = (unsigned long long)(sci[0] - '0');
  for (i = 2; i <= 17; i++) *m17 = *m17 * 10 + (unsigned long long)(sci[i] - '0');
  *e10 = atoi(sci + 19);
  return 1;
}

/* The shortest decimal that reads back as d, for d in [1e-7, 1e22), as JavaScript picks it:
 * writes its digits, sets *exp10 (the power of ten of the first digit) and returns the count,
 * or 0 when only the general search can tell. */
static int shortest_fast(double d, char *digits, int *exp10) {
  int k, n, e10, i;
  unsigned long long m16, m17;
  double x, m;
  /* 15 digits: with x = d * 10^k in [1e14, 1e15), round(x) is the 15-digit decimal nearest
   * to d (x is off by less than 0.07), and it reads back iff some decimal of at most 15
   * digits does, and is then that one, padded with zeros. */
  k = 14 - (int)floor(log10(d));
  if (k < -21 || k > 21) return 0; /* keeps k +- 1 within the table */
  x = k >= 0 ? d * pow10_exact[k] : d / pow10_exact[-k];
  if (x < 1e14 || x >= 1e15) { /* log10 was off by one, next to a power of ten */
    k += x < 1e14 ? 1 : -1;
    x = k >= 0 ? d * pow10_exact[k] : d / pow10_exact[-k];
    if (x < 1e14 || x >= 1e15) return 0;
  }
  m = floor(x + 0.5);
  if (scaled(m, k) == d) {
    n = (int)format_uint(digits, (unsigned long long)m);
    *exp10 = n - 1 - k;
    while (n > 1 && digits[n - 1] == '0') n--;
    return n;
  }
  /* 16 or 17 digits: from the correctly rounded 17 digits, the nearest 16-digit decimal is
   * known, unless the 17th digit is a 5: then d may lie either side of the midpoint, and
   * both neighbours are tried. */
  if (!digits17(d, &m17, &e10)) return 0;
  m16 = m17 / 10;
  {
    int last = (int)(m17 % 10);
    int down = last <= 5 && reads_back(m16, e10, d);
    int up = last >= 5 && reads_back(m16 + 1, e10, d);
    if (down && up) return 0; /* both: JavaScript takes the closer, which needs exactness */
    if (down || up) {
      n = (int)format_uint(digits, m16 + (unsigned long long)up);
      *exp10 = e10 + (n - 16); /* 9999999999999999 + 1 has one more digit */
      while (n > 1 && digits[n - 1] == '0') n--;
      return n;
    }
  }
  /* No neighbour reads back. Unless d is a power of two (whose interval is lopsided), no
   * 16-digit decimal does, and the nearest 17-digit one is the answer. */
  if (frexp(d, &i) == 0.5) return 0;
  n = (int)format_uint(digits, m17);
  while (n > 1 && digits[n - 1] == '0') n--;
  *exp10 = e10;
  return n;
}

size_t medusa_format_double(double d, char *out) {
  char sci[48], digits[20];
  int k = 0, n, exp10, i, bexp;
  size_t len = 0;
  const char *p;
  if (d != d) { /* the caller should have refused these; print them as JavaScript does */
    memcpy(out, "NaN", 4);
    return 3;
  }
  if (d == 0) { /* also -0, as JSON.stringify */
    out[0] = '0';
    out[1] = '\0';
    return 1;
  }
  if (d < 0) {
    out[len++] = '-';
    d = -d;
  }
  if (isinf(d)) {
    memcpy(out + len, "Infinity", 9);
    return len + 8;
  }
  if (d < 9007199254740992.0 && d == floor(d)) {
    /* An integer below 2^53: its own digits are exact and no shorter decimal reads back. */
    len += format_uint(out + len, (unsigned long long)d);
    out[len] = '\0';
    return len;
  }
  /* The shortest digits that read back as d (no printf for most doubles in everyday ranges),
   * else the general search below. */
  if (d >= 1e-7 && d < 1e22) {
    k = shortest_fast(d, digits, &exp10);
    if (k > 0) goto layout;
  }
  /* A double holds 15.95 significant digits, so two decimals of at most 15 digits never
   * read back as the same normal double: a 15-digit rounding that reads back is the shortest
   * decimal, padded. Otherwise 16 digits, and 17 always read back. */
  if (d < DBL_MIN) {
    /* Subnormals carry fewer digits: search upward. */
    int prec;
    for (prec = 0; prec < 16; prec++) {
      snprintf(sci, sizeof sci, "%.*e", prec, d);
      if (strtod(sci, NULL) == d) break;
    }
    if (prec == 16) snprintf(sci, sizeof sci, "%.16e", d);
  } else {
    snprintf(sci, sizeof sci, "%.14e", d);
  }
  if (strtod(sci, NULL) != d) {
    snprintf(sci, sizeof sci, "%.15e", d);
    if (strtod(sci, NULL) != d && !(frexp(d, &bexp) == 0.5 && next_16_digits_up(sci, sizeof sci, d)))
      snprintf(sci, sizeof sci, "%.16e", d);
  }
  for (p = sci; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9') digits[k++] = *p;
  while (k > 1 && digits[k - 1] == '0') k--;
  exp10 = atoi(p + 1);
layout:
  n = exp10 + 1; /* where the decimal point goes, counted from the first digit */
  if (k <= n && n <= 21) {
    for (i = 0; i < k; i++) out[len++] = digits[i];
    for (i = k; i < n; i++) out[len++] = '0';
  } else if (0 < n && n <= 21) {
    for (i = 0; i < n; i++) out[len++] = digits[i];
    out[len++] = '.';
    for (i = n; i < k; i++) out[len++] = digits[i];
  } else if (-6 < n && n <= 0) {
    out[len++] = '0';
    out[len++] = '.';
    for (i = 0; i < -n; i++) out[len++] = '0';
    for (i = 0; i < k; i++) out[len++] = digits[i];
  } else {
    out[len++] = digits[0];
    if (k > 1) {
      out[len++] = '.';
      for (i = 1; i < k; i++) out[len++] = digits[i];
    }
    len += (size_t)sprintf(out + len, "e%c%d", exp10 >= 0 ? '+' : '-', exp10 >= 0 ? exp10 : -exp10);
  }
  out[len] = '\0';
  return len;
}

/* ---- the shared state: output / scratch buffer and the encoder's key stack ---- */

typedef struct {
  const char *s; /* points into the key string, which the table being encoded keeps alive */
  size_t len;
  int vidx; /* stack index of the value, or 0: look it up by key */
} json_key;

/* One slot of the decoder's key cache: the bytes of the string at the same index (+ 1) of the
 * cache table (json_decode's upvalue 3), which keeps that string, so they stay valid. */
typedef struct {
  const char *s;
  size_t len; /* 0: empty (an empty key is never cached) */
} key_slot;

typedef struct {
  char *buf; /* encoder output, decoder scratch (unescaped strings, long numbers) */
  size_t len, cap;
  json_key *keys; /* keys of every object being encoded, innermost last */
  size_t nkeys, kcap;
  int busy;
  int shared; /* the state of the upvalue, the only one whose key cache is used */
  key_slot kcache[KEY_CACHE_SLOTS];
  /* Shaped for speed: by key cache slot (KEY_CACHE_SLOTS: the top level), how many members
   * the last object under that key had, 0 unknown. An object whose size is known this way
   * is made presized at once and filled as it is read, instead of parked on the stack and
   * copied into a table afterwards (two lua_pushvalue per member). A wrong guess costs a
   * rehash, never a wrong table. */
  unsigned short shape[KEY_CACHE_SLOTS + 1];
} json_state;

/* Held by a userdata so that an error (a longjmp) anywhere in a call leaks nothing: the
 * memory stays owned and is freed by __gc. */
static int state_gc(lua_State *L) {
  json_state *st = lua_touserdata(L, 1);
  if (st != NULL) {
    free(st->buf);
    free(st->keys);
    memset(st, 0, sizeof *st);
  }
  return 0;
}

static json_state *state_acquire(lua_State *L) {
  json_state *st = lua_touserdata(L, lua_upvalueindex(1));
  if (st->busy) {
    /* A call is still using the shared state: this one runs from a __gc finalizer that an
     * allocation inside that call triggered (or a memory error skipped a release). Use a
     * private state, collected with this call's stack. */
    st = compat_newuserdata(L, sizeof *st);
    memset(st, 0, sizeof *st);
    lua_getmetatable(L, lua_upvalueindex(1));
    lua_setmetatable(L, -2);
  }
  st->busy = 1;
  st->len = 0;
  st->nkeys = 0;
  return st;
}

static void state_release(json_state *st) {
  st->busy = 0;
  st->len = 0;
  st->nkeys = 0;
  if (st->cap > KEEP_BUFFER_BYTES) {
    free(st->buf);
    st->buf = NULL;
    st->cap = 0;
  }
  if (st->kcap > KEEP_KEYS) {
    free(st->keys);
    st->keys = NULL;
    st->kcap = 0;
  }
}

/* Makes room for `need` more bytes after st->len; 0 when memory runs out. */
static int buf_grow(json_state *st, size_t need) {
  size_t cap = st->cap ? st->cap : 4096;
  char *nb;
  if (need > SIZE_MAX / 4 - st->len) return 0;
  while (cap - st->len < need) cap *= 2;
  nb = realloc(st->buf, cap);
  if (nb == NULL) return 0;
  st->buf = nb;
  st->cap = cap;
  return 1;
}

static int keys_grow(json_state *st) {
  size_t cap = st->kcap ? st->kcap * 2 : 64;
  json_key *nk;
  if (cap > SIZE_MAX / sizeof *nk) return 0;
  nk = realloc(st->keys, cap * sizeof *nk);
  if (nk == NULL) return 0;
  st->keys = nk;
  st->kcap = cap;
  return 1;
}

/* ---- encoder ---- */

typedef struct {
  const char *key; /* the member being encoded, or NULL for an array element */
  size_t klen;
  lua_Integer index;
} json_pathent;

typedef struct {
  lua_State *L;
  json_state *st;
  int arr_mt;     /* stack index of the MEDUSA_ARRAY_MT table */
  int array_keys; /* stack index of the array_keys set, 0 when none */
  int depth;      /* tables open */
  int parked;     /* stack slots holding the values of objects being written */
  const void *open[JSON_MAX_DEPTH + 1];  /* open[1..depth]: the tables being encoded */
  json_pathent path[JSON_MAX_DEPTH + 1]; /* path[d]: which member of open[d] is being encoded */
} encoder;

typedef struct {
  char *s;
  size_t len, cap;
} msgbuf;

static void msg_add(msgbuf *m, const char *s, size_t n) {
  if (n > m->cap - 1 - m->len) n = m->cap - 1 - m->len;
  memcpy(m->s + m->len, s, n);
  m->len += n;
  m->s[m->len] = '\0';
}

static void msg_key(msgbuf *m, const char *k, size_t n) {
  if (n > 60) {
    msg_add(m, k, 57);
    msg_add(m, "...", 3);
  } else {
    msg_add(m, k, n);
  }
}

/* Raises "medusa.json: <what> (at key 'x' in $.a[2])"; `levels` is how much of the path
 * leads to the offending value (0: the value passed to json_encode). */
static void enc_fail(encoder *e, int levels, const char *what) {
  char text[600], num[32];
  msgbuf m;
  int d;
  m.s = text;
  m.len = 0;
  m.cap = sizeof text;
  text[0] = '\0';
  msg_add(&m, "medusa.json: ", 13);
  msg_add(&m, what, strlen(what));
  if (levels > 0) {
    json_pathent *pe = &e->path[levels];
    if (pe->key != NULL) {
      msg_add(&m, " (at key '", 10);
      msg_key(&m, pe->key, pe->klen);
      msg_add(&m, "'", 1);
    } else {
      snprintf(num, sizeof num, " (at index %lld", (long long)pe->index);
      msg_add(&m, num, strlen(num));
    }
    if (levels > 1) {
      msg_add(&m, " in $", 5);
      for (d = 1; d < levels && m.len < sizeof text - 80; d++) {
        if (e->path[d].key != NULL) {
          msg_add(&m, ".", 1);
          msg_key(&m, e->path[d].key, e->path[d].klen);
        } else {
          snprintf(num, sizeof num, "[%lld]", (long long)e->path[d].index);
          msg_add(&m, num, strlen(num));
        }
      }
      if (d < levels) msg_add(&m, "...", 3);
    }
    msg_add(&m, ")", 1);
  }
  state_release(e->st);
  luaL_error(e->L, "%s", text);
}

static void enc_grow(encoder *e, size_t n) {
  if (!buf_grow(e->st, n)) enc_fail(e, 0, "out of memory");
}

#define RESERVE(e, n)                                                  \
  do {                                                                 \
    if ((e)->st->cap - (e)->st->len < (size_t)(n)) enc_grow((e), (n)); \
  } while (0)

static void put_char(encoder *e, char c) {
  RESERVE(e, 1);
  e->st->buf[e->st->len++] = c;
}

static void put_lit(encoder *e, const char *s, size_t n) {
  RESERVE(e, n);
  memcpy(e->st->buf + e->st->len, s, n);
  e->st->len += n;
}

/* Nonzero when one of the 8 bytes in w is a control byte, '"', '\\' or non-ASCII (the
 * classic "has a byte less than / equal to" bit tricks: no false negatives). */
static uint64_t swar_special_mask(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
  return (w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
}

static int swar_special(uint64_t w) {
  return swar_special_mask(w) != 0;
}

/* The special byte that a nonzero swar_special_mask(w) reports, w loaded from p: the first
 * one. Each term's borrow only runs upwards, so the lowest flagged byte is a true special one
 * (flags above it may be false); on a little-endian machine it is the first in memory, found
 * by counting trailing zeros. Elsewhere a byte loop, which stops within the word. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_FIRST_SPECIAL(p, mask) ((p) + (__builtin_ctzll(mask) >> 3))
#else
static const unsigned char *swar_first_special(const unsigned char *p) {
  while (!str_special[*p]) p++;
  return p;
}
#define SWAR_FIRST_SPECIAL(p, mask) ((void)(mask), swar_first_special(p))
#endif

/* Quotes and escapes a string as JSON.stringify does, refusing invalid UTF-8. */
static void enc_string(encoder *e, const char *str, size_t len, int levels, int is_key) {
  static const char hex[] = "0123456789abcdef";
  json_state *st = e->st;
  const unsigned char *s = (const unsigned char *)str, *end = s + len;
  char *o;
  put_char(e, '"');
  while (s < end) {
    size_t chunk = (size_t)(end - s) < ESCAPE_CHUNK ? (size_t)(end - s) : ESCAPE_CHUNK;
    const unsigned char *stop = s + chunk;
    RESERVE(e, chunk * 6 + 4); /* + 4: a UTF-8 sequence may run past the chunk's end */
    o = st->buf + st->len;
    while (s < stop) {
      unsigned char c;
      if (stop - s >= 8) { /* eight plain ASCII bytes at a time */
        uint64_t w;
        memcpy(&w, s, 8);
        if (!swar_special(w)) {
          memcpy(o, s, 8);
          o += 8;
          s += 8;
          continue;
        }
      }
      c = *s;
      if (!str_special[c]) {
        *o++ = (char)c;
        s++;
        continue;
      }
      if (c >= 0x80) {
        int n = utf8_sequence(s, end);
        if (n == 0) {
          st->len = (size_t)(o - st->buf);
          enc_fail(e, levels, is_key ? "invalid UTF-8 in a key" : "invalid UTF-8 in a string");
        }
        memcpy(o, s, (size_t)n);
        o += n;
        s += n;
        continue;
      }
      *o++ = '\\';
      switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
          *o++ = 'u';
          *o++ = '0';
          *o++ = '0';
          *o++ = hex[c >> 4];
          *o++ = hex[c & 15];
      }
      s++;
    }
    st->len = (size_t)(o - st->buf);
  }
  put_char(e, '"');
}

static void enc_number(encoder *e, int idx) {
  lua_State *L = e->L;
  double d;
#if COMPAT_HAS_INTEGERS
  if (lua_isinteger(L, idx)) {
    lua_Integer v = lua_tointeger(L, idx);
    json_state *st = e->st;
    RESERVE(e, 24);
    if (v < 0) st->buf[st->len++] = '-';
    st->len += format_uint(st->buf + st->len, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
    return;
  }
#endif
  d = (double)lua_tonumber(L, idx);
  if (d != d) enc_fail(e, e->depth, "cannot encode NaN");
  if (isinf(d)) enc_fail(e, e->depth, d > 0 ? "cannot encode inf" : "cannot encode -inf");
  RESERVE(e, 32);
  if (d == floor(d) && fabs(d) >= 9007199254740992.0 && fabs(d) < 9223372036854775808.0) {
    /* An integral float from 2^53 up to 2^63: JavaScript's shortest digits
     * (-2196152720550707700) would read back as a Lua integer of another value; its exact
     * digits read back as this value, and JavaScript reads them as the same double. */
    json_state *st = e->st;
    if (d < 0) st->buf[st->len++] = '-';
    st->len += format_uint(st->buf + st->len, (unsigned long long)fabs(d));
    return;
  }
  e->st->len += medusa_format_double(d, e->st->buf + e->st->len);
}

/* True when the key at idx is an integer; sets *k. Lua 5.3 and 5.4 store integral float keys
 * as integers, so a float key there is never integral; 5.1, 5.2 and LuaJIT have only doubles. */
static int key_integer(lua_State *L, int idx, lua_Integer *k) {
#if COMPAT_HAS_INTEGERS
  if (!lua_isinteger(L, idx)) return 0;
  *k = lua_tointeger(L, idx);
  return 1;
#else
  double d;
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  d = (double)lua_tonumber(L, idx);
  if (d != floor(d) || d < -9.2e18 || d > 9.2e18) return 0;
  *k = (lua_Integer)d;
  return 1;
#endif
}

static void fail_key_type(encoder *e, int levels, int idx) {
  char what[96];
  lua_Integer k;
  int t = lua_type(e->L, idx);
  if (t == LUA_TNUMBER && !key_integer(e->L, idx, &k)) {
    enc_fail(e, levels, "cannot encode a table with a non-integer number key");
  }
  snprintf(what, sizeof what, "cannot encode a table with a %s key", lua_typename(e->L, t));
  enc_fail(e, levels, what);
}

static void enc_value(encoder *e, int idx, const char *pkey, size_t pklen);

static const char SPARSE_MSG[] = "cannot encode a sparse array (integer keys must be exactly 1..n)";

/* open[e->depth] is the table at idx; it has a first key that is not a string, or it
 * carries the array metatable. */
static void enc_array(encoder *e, int idx, int marked) {
  lua_State *L = e->L;
  json_state *st = e->st;
  size_t start = st->len;
  lua_Integer n = 0, max = 0, k, i;
  int d = e->depth;
  json_pathent *pe = &e->path[d];
  /* One pass when the traversal meets the keys 1, 2, 3... in order, which is how Lua walks
   * a table's array part: encode while checking; start over only on a surprise. */
  put_char(e, '[');
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (!key_integer(L, -2, &k) || k != n + 1) {
      lua_pop(L, 2);
      goto check_keys;
    }
    n++;
    if (n > 1) put_char(e, ',');
    pe->key = NULL;
    pe->index = n;
    enc_value(e, lua_gettop(L), NULL, 0);
    lua_pop(L, 1);
  }
  put_char(e, ']');
  return;

check_keys:
  st->len = start;
  n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (key_integer(L, -2, &k)) {
      if (k < 1) enc_fail(e, d - 1, SPARSE_MSG);
      n++;
      if (k > max) max = k;
    } else if (lua_type(L, -2) == LUA_TSTRING) {
      enc_fail(e, d - 1, marked ? "a table with the array metatable has a string key"
                                : "cannot encode a table with both integer and string keys");
    } else {
      fail_key_type(e, d - 1, lua_gettop(L) - 1);
    }
    lua_pop(L, 1);
  }
  if (n != max) enc_fail(e, d - 1, SPARSE_MSG);
  put_char(e, '[');
  for (i = 1; i <= n; i++) {
    if (i > 1) put_char(e, ',');
    pe->key = NULL;
    pe->index = i;
    compat_rawgeti(L, idx, i);
    enc_value(e, lua_gettop(L), NULL, 0);
    lua_pop(L, 1);
  }
  put_char(e, ']');
}

static int key_less(const json_key *a, const json_key *b) {
  size_t m;
  int c;
  /* Most keys differ in their first byte. An empty key's first byte is the NUL that ends
   * every Lua string, which sorts it first, as a shorter prefix must. */
  if (a->s[0] != b->s[0]) return (unsigned char)a->s[0] < (unsigned char)b->s[0];
  m = a->len < b->len ? a->len : b->len;
  c = memcmp(a->s, b->s, m);
  return c < 0 || (c == 0 && a->len < b->len);
}

static int key_cmp(const void *pa, const void *pb) {
  const json_key *a = pa, *b = pb;
  return key_less(a, b) ? -1 : key_less(b, a) ? 1 : 0;
}

static void sort_keys(json_key *k, size_t n) {
  size_t i, j;
  if (n > 16) {
    qsort(k, n, sizeof *k, key_cmp);
    return;
  }
  for (i = 1; i < n; i++) {
    json_key x = k[i];
    for (j = i; j > 0 && key_less(&x, &k[j - 1]); j--) k[j] = k[j - 1];
    k[j] = x;
  }
}

/* open[e->depth] is the table at idx; its first key is a string. Keys are written in byte
 * order so that one table always gives the same bytes (signatures, caches, tests). */
static void enc_object(encoder *e, int idx) {
  lua_State *L = e->L;
  json_state *st = e->st;
  int d = e->depth, base = lua_gettop(L), on_stack = 1;
  size_t kbase = st->nkeys, n, i;
  json_pathent *pe = &e->path[d];
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    json_key *k;
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_Integer ik;
      if (key_integer(L, -2, &ik)) enc_fail(e, d - 1, "cannot encode a table with both integer and string keys");
      fail_key_type(e, d - 1, lua_gettop(L) - 1);
    }
    if (st->nkeys == st->kcap && !keys_grow(st)) enc_fail(e, d - 1, "out of memory");
    k = &st->keys[st->nkeys++];
    k->s = lua_tolstring(L, -2, &k->len);
    if (on_stack && st->nkeys - kbase <= OBJECT_ON_STACK_MAX && e->parked < PARK_BUDGET &&
        lua_checkstack(L, 3)) {
      /* keep the value where it is, and a copy of the key on top for lua_next */
      k->vidx = lua_gettop(L);
      lua_pushvalue(L, -2);
      e->parked += 2;
    } else {
      k->vidx = 0;
      lua_pop(L, 1);
      if (on_stack) {
        /* too many keys for the stack: drop the parked values, keep the traversal key */
        on_stack = 0;
        e->parked -= 2 * (int)(st->nkeys - 1 - kbase);
        for (i = kbase; i < st->nkeys; i++) st->keys[i].vidx = 0;
        if (lua_gettop(L) > base + 1) {
          lua_replace(L, base + 1);
          lua_settop(L, base + 1);
        }
      }
    }
  }
  n = st->nkeys - kbase;
  sort_keys(st->keys + kbase, n);
  put_char(e, '{');
  for (i = 0; i < n; i++) {
    json_key k = st->keys[kbase + i]; /* a copy: nested objects may move the array */
    if (i > 0) put_char(e, ',');
    pe->key = k.s;
    pe->klen = k.len;
    enc_string(e, k.s, k.len, d, 1);
    put_char(e, ':');
    if (k.vidx != 0) {
      enc_value(e, k.vidx, k.s, k.len);
    } else {
      lua_pushlstring(L, k.s, k.len);
      lua_rawget(L, idx);
      enc_value(e, lua_gettop(L), k.s, k.len);
      lua_pop(L, 1);
    }
  }
  put_char(e, '}');
  if (on_stack) e->parked -= 2 * (int)n;
  st->nkeys = kbase;
  lua_settop(L, base);
}

static int in_array_keys(encoder *e, const char *key, size_t klen) {
  int r;
  lua_pushlstring(e->L, key, klen);
  lua_rawget(e->L, e->array_keys);
  r = lua_toboolean(e->L, -1);
  lua_pop(e->L, 1);
  return r;
}

/* pkey: the object key the table sits under (for array_keys), or NULL. */
static void enc_table(encoder *e, int idx, const char *pkey, size_t pklen) {
  lua_State *L = e->L;
  const void *ptr = lua_topointer(L, idx);
  int i, marked = 0, has_mt = 0, ktype;
  if (e->depth >= JSON_MAX_DEPTH) enc_fail(e, e->depth, "nesting deeper than 1000");
  /* Walking the open tables costs O(depth) per table, and JSON documents are shallow. */
  for (i = e->depth; i >= 1; i--)
    if (e->open[i] == ptr) enc_fail(e, e->depth, "cycle: a table contains itself");
  if (!lua_checkstack(L, 8)) enc_fail(e, e->depth, "out of Lua stack");
  if (lua_getmetatable(L, idx)) {
    has_mt = 1;
    marked = lua_rawequal(L, -1, e->arr_mt);
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  if (!lua_next(L, idx)) {
    if (marked || (!has_mt && pkey != NULL && e->array_keys != 0 && in_array_keys(e, pkey, pklen)))
      put_lit(e, "[]", 2);
    else
      put_lit(e, "{}", 2);
    return;
  }
  ktype = lua_type(L, -2);
  lua_pop(L, 2);
  e->open[++e->depth] = ptr;
  if (marked || ktype != LUA_TSTRING)
    enc_array(e, idx, marked);
  else
    enc_object(e, idx);
  e->depth--;
}

static void enc_value(encoder *e, int idx, const char *pkey, size_t pklen) {
  lua_State *L = e->L;
  int t = lua_type(L, idx);
  switch (t) {
    case LUA_TNIL:
      put_lit(e, "null", 4);
      return;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx))
        put_lit(e, "true", 4);
      else
        put_lit(e, "false", 5);
      return;
    case LUA_TNUMBER:
      enc_number(e, idx);
      return;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      enc_string(e, s, len, e->depth, 0);
      return;
    }
    case LUA_TTABLE:
      enc_table(e, idx, pkey, pklen);
      return;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) {
        put_lit(e, "null", 4);
        return;
      }
      enc_fail(e, e->depth, "cannot encode a light userdata other than null");
      return;
    default: {
      char what[64];
      snprintf(what, sizeof what, "cannot encode a %s", lua_typename(L, t));
      enc_fail(e, e->depth, what);
    }
  }
}

/* json_encode(value [, array_keys]) -> string */
static int l_json_encode(lua_State *L) {
  encoder e;
  json_state *st;
  int t = lua_type(L, 2);
  if (lua_gettop(L) == 0) return luaL_error(L, "medusa.json: json_encode expects a value");
  if (t != LUA_TNONE && t != LUA_TNIL && t != LUA_TTABLE)
    return luaL_error(L, "medusa.json: array_keys must be a table, not a %s", lua_typename(L, t));
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(2)); /* 3: the array metatable */
  st = state_acquire(L);
  e.L = L;
  e.st = st;
  e.arr_mt = 3;
  e.array_keys = t == LUA_TTABLE ? 2 : 0;
  e.depth = 0;
  e.parked = 0;
  enc_value(&e, 1, NULL, 0);
  lua_pushlstring(L, st->buf != NULL ? st->buf : "", st->len);
  state_release(st);
  return 1;
}

/* ---- decoder ---- */

typedef struct {
  lua_State *L;
  json_state *st;
  const unsigned char *start, *p, *end; /* *end is the NUL every Lua string ends with */
  key_slot *kcache; /* st's key cache, NULL when st is a private state */
  int kcache_idx;   /* stack index of the cache table holding the strings of kcache */
  int depth;
  int arr_mt;  /* stack index of the MEDUSA_ARRAY_MT table */
  int obj_mt;  /* stack index of the metatable objects get, 0 for none */
  int parked;  /* stack slots holding values of containers not yet built */
  int key_slot; /* st->shape index of the key the next value belongs to, -1 for none */
} decoder;

static void dec_fail(decoder *d, const unsigned char *at, const char *what) {
  char text[200];
  snprintf(text, sizeof text, "medusa.json: %s at byte %llu", what, (unsigned long long)(at - d->start) + 1);
  state_release(d->st);
  luaL_error(d->L, "%s", text);
}

/* "<expected> but found 'x'", or end of input. */
static void dec_unexpected(decoder *d, const unsigned char *at, const char *expected) {
  char what[120];
  if (at >= d->end) dec_fail(d, at, "unexpected end of input");
  if (*at >= 0x20 && *at < 0x7F)
    snprintf(what, sizeof what, "%s but found \"%c\"", expected, *at);
  else
    snprintf(what, sizeof what, "%s but found byte 0x%02x", expected, *at);
  dec_fail(d, at, what);
}

static void dec_reserve(decoder *d, size_t n) {
  json_state *st = d->st;
  if (st->cap - st->len < n && !buf_grow(st, n)) dec_fail(d, d->p, "out of memory");
}

static int hex4(const unsigned char *p) {
  int i, v = 0;
  for (i = 0; i < 4; i++) { /* stops at the first non-hex byte, so never reads past the NUL */
    unsigned char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

/* p is at a backslash; appends the decoded character(s) to the scratch buffer and returns
 * where the string continues. */
static const unsigned char *dec_escape(decoder *d, const unsigned char *p) {
  json_state *st = d->st;
  char c;
  switch (p[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
      const unsigned char *q = p + 6;
      long cp = hex4(p + 2);
      char *o;
      if (cp < 0) dec_fail(d, p, "invalid \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo;
        if (q[0] != '\\' || q[1] != 'u') dec_fail(d, p, "lone surrogate in \\u escape");
        lo = hex4(q + 2);
        if (lo < 0) dec_fail(d, q, "invalid \\u escape");
        if (lo < 0xDC00 || lo > 0xDFFF) dec_fail(d, p, "lone surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        q += 6;
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        dec_fail(d, p, "lone surrogate in \\u escape");
      }
      dec_reserve(d, 4);
      o = st->buf + st->len;
      if (cp < 0x80) {
        *o++ = (char)cp;
      } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
      } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
      }
      st->len = (size_t)(o - st->buf);
      return q;
    }
    default:
      dec_fail(d, p, "invalid escape in string");
      return p;
  }
  dec_reserve(d, 1);
  st->buf[st->len++] = c;
  return p + 2;
}

/* Shaped for speed: pushes an object key through the key cache. Keys repeat across responses
 * (and within one), and lua_pushlstring would hash and intern each again; a hit is a length
 * check, a memcmp and a lua_rawgeti of the cached string instead (measured -2.5k Ir per
 * 525-byte GET body, 22 keys; the second-choice slot below is -0.5k of that). A key goes to
 * the slot a hash of its length and three bytes picks, or to that slot's neighbour; a miss
 * interns as before and takes an empty one of the two, else the first. */
static void push_key(decoder *d, const unsigned char *s, size_t len) {
  lua_State *L = d->L;
  key_slot *slot;
  uint32_t h;
  d->key_slot = -1;
  if (d->kcache == NULL || len == 0 || len > KEY_CACHE_MAXLEN) {
    lua_pushlstring(L, (const char *)s, len);
    return;
  }
  h = ((uint32_t)len | (uint32_t)s[0] << 8 | (uint32_t)s[len >> 1] << 16 | (uint32_t)s[len - 1] << 24) *
      UINT32_C(0x9E3779B1);
  h >>= 25; /* the top 7 bits: KEY_CACHE_SLOTS is 128 */
  slot = d->kcache + h;
  if (slot->len == len && memcmp(slot->s, s, len) == 0) {
    compat_rawgeti(L, d->kcache_idx, h + 1);
    d->key_slot = (int)h;
    return;
  }
  /* The neighbour slot is the second choice, so two keys that share a slot both stay. */
  if (d->kcache[h ^ 1].len == len && memcmp(d->kcache[h ^ 1].s, s, len) == 0) {
    compat_rawgeti(L, d->kcache_idx, (h ^ 1) + 1);
    d->key_slot = (int)(h ^ 1);
    return;
  }
  if (slot->len != 0 && d->kcache[h ^ 1].len == 0) {
    h ^= 1;
    slot = d->kcache + h;
  }
  lua_pushlstring(L, (const char *)s, len);
  lua_pushvalue(L, -1);
  lua_rawseti(L, d->kcache_idx, (int)h + 1); /* the table's array part is presized: no allocation */
  slot->s = lua_tostring(L, -1);
  slot->len = len;
  d->st->shape[h] = 0; /* a new key in the slot: nothing known of its objects */
  d->key_slot = (int)h;
}

/* d->p is at the opening quote; pushes the string (an object key through push_key). */
static void dec_string(decoder *d, int is_key) {
  const unsigned char *p = d->p + 1, *run = p;
  json_state *st;
  for (;;) { /* the common case: no escape, so the string is pushed straight from the input */
    unsigned char c;
    /* Shaped for speed: a word with a special byte jumps straight to that byte (measured
     * -2.5k Ir per 525-byte body against stepping one byte and rescanning the overlapping
     * word); only the last < 8 bytes go byte by byte. */
    while (d->end - p >= 8) {
      uint64_t w, mask;
      memcpy(&w, p, 8);
      mask = swar_special_mask(w);
      if (mask != 0) {
        p = SWAR_FIRST_SPECIAL(p, mask);
        goto special;
      }
      p += 8;
    }
    while (!str_special[*p]) p++; /* stops at the NUL after the input at the latest */
  special:
    c = *p;
    if (c == '"') {
      if (is_key)
        push_key(d, run, (size_t)(p - run));
      else
        lua_pushlstring(d->L, (const char *)run, (size_t)(p - run));
      d->p = p + 1;
      return;
    }
    if (c >= 0x80) {
      int n = utf8_sequence(p, d->end);
      if (n == 0) dec_fail(d, p, "invalid UTF-8 in string");
      p += n;
      continue;
    }
    if (c == '\\') break;
    if (p >= d->end) dec_fail(d, p, "unterminated string");
    dec_fail(d, p, "control character in string");
  }
  st = d->st;
  st->len = 0;
  for (;;) {
    unsigned char c = *p;
    if (!str_special[c]) {
      p++;
      continue;
    }
    if (c >= 0x80) {
      int n = utf8_sequence(p, d->end);
      if (n == 0) dec_fail(d, p, "invalid UTF-8 in string");
      p += n;
      continue;
    }
    if (p > run) {
      dec_reserve(d, (size_t)(p - run));
      memcpy(st->buf + st->len, run, (size_t)(p - run));
      st->len += (size_t)(p - run);
    }
    if (c == '"') {
      lua_pushlstring(d->L, st->buf, st->len);
      d->p = p + 1;
      return;
    }
    if (c == '\\') {
      p = dec_escape(d, p);
      run = p;
      continue;
    }
    if (p >= d->end) dec_fail(d, p, "unterminated string");
    dec_fail(d, p, "control character in string");
  }
}

/* The rare numbers the fast paths cannot convert exactly go through strtod, on a
 * NUL-terminated copy that uses the C library's current decimal point. */
static double dec_strtod(decoder *d, const unsigned char *s, size_t n) {
  json_state *st = d->st;
  char point = localeconv()->decimal_point[0];
  size_t i;
  st->len = 0;
  dec_reserve(d, n + 1);
  memcpy(st->buf, s, n);
  st->buf[n] = '\0';
  if (point != '.' && point != '\0')
    for (i = 0; i < n; i++)
      if (st->buf[i] == '.') st->buf[i] = point;
  return strtod(st->buf, NULL);
}

#define IS_DIGIT(c) ((unsigned)((c) - '0') < 10u)

static void dec_number(decoder *d) {
  const unsigned char *start = d->p, *p = start;
  unsigned long long m = 0; /* the first 19 significant digits */
  int ndig = 0, exp10 = 0, is_float = 0, dropped = 0, neg = 0;
  double v;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (*p == '0') {
    p++;
    if (IS_DIGIT(*p)) dec_fail(d, start, "leading zeros are not allowed in numbers");
  } else if (IS_DIGIT(*p)) {
    do {
      if (ndig < 19) {
        m = m * 10 + (unsigned)(*p - '0');
        ndig++;
      } else {
        /* past 19 digits only the magnitude counts here (strtod converts such numbers);
         * the cap keeps a pathological input from overflowing the int */
        dropped = 1;
        if (exp10 < 1000000) exp10++;
      }
      p++;
    } while (IS_DIGIT(*p));
  } else {
    dec_unexpected(d, p, "expected a digit");
  }
  if (*p == '.') {
    is_float = 1;
    p++;
    if (!IS_DIGIT(*p)) dec_unexpected(d, p, "expected a digit after '.'");
    do {
      if (m == 0 && *p == '0') {
        if (exp10 > -1000000) exp10--; /* leading zeros of the fraction are not significant */
      } else if (ndig < 19) {
        m = m * 10 + (unsigned)(*p - '0');
        ndig++;
        exp10--;
      } else {
        dropped = 1;
      }
      p++;
    } while (IS_DIGIT(*p));
  }
  if (*p == 'e' || *p == 'E') {
    int eneg = 0, e = 0;
    is_float = 1;
    p++;
    if (*p == '+' || *p == '-') eneg = *p++ == '-';
    if (!IS_DIGIT(*p)) dec_unexpected(d, p, "expected a digit in the exponent");
    do {
      if (e < 100000) e = e * 10 + (*p - '0'); /* past that, strtod gives inf or 0 anyway */
      p++;
    } while (IS_DIGIT(*p));
    exp10 += eneg ? -e : e;
  }
  d->p = p;
  if (!is_float && !dropped) {
#if COMPAT_HAS_INTEGERS
    /* Lua's own rule: no fraction and no exponent is an integer, if it fits. "-0" is 0. */
    if (!neg && m <= (unsigned long long)LUA_MAXINTEGER) {
      lua_pushinteger(d->L, (lua_Integer)m);
      return;
    }
    if (neg && m <= (unsigned long long)LUA_MAXINTEGER + 1) {
      lua_pushinteger(d->L, m == (unsigned long long)LUA_MAXINTEGER + 1 ? LUA_MININTEGER : -(lua_Integer)m);
      return;
    }
#else
    if (m <= 9007199254740992ULL) { /* exact as a double */
      lua_pushnumber(d->L, m == 0 ? 0.0 : neg ? -(double)m : (double)m);
      return;
    }
#endif
  }
  if (!dropped && m <= 9007199254740992ULL && exp10 >= -22 && exp10 <= 22) {
    /* Both m and 10^|exp10| are exact doubles, so one IEEE operation rounds correctly
     * (Clinger's fast path). */
    v = (double)m;
    v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
    lua_pushnumber(d->L, (lua_Number)(neg ? -v : v));
    return;
  }
  lua_pushnumber(d->L, (lua_Number)dec_strtod(d, start, (size_t)(p - start)));
}

static void dec_value(decoder *d);

/* Builds the table of n parked values (above base), presized with n + extra slots. */
static void build_array(lua_State *L, int base, int n, int extra) {
  int i;
  lua_createtable(L, n + extra, 0);
  lua_insert(L, base + 1);
  for (i = n; i >= 1; i--) lua_rawseti(L, base + 1, i);
}

static void build_object(lua_State *L, int base, int n, int extra) {
  int i;
  /* Shaped for speed: the table is built above the parked pairs and then moved down over the
   * first key (lua_replace), rather than inserted below them first: lua_insert rotates every
   * parked slot (measured -0.5k Ir per 525-byte GET body). */
  lua_createtable(L, 0, n + extra);
  /* in document order, so that of duplicate keys the last one wins */
  for (i = 0; i < n; i++) {
    lua_pushvalue(L, base + 1 + 2 * i);
    lua_pushvalue(L, base + 2 + 2 * i);
    lua_rawset(L, -3);
  }
  if (n > 0) { /* n == 0: the table is at base + 1 already */
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
  }
}

static void dec_array(decoder *d) {
  lua_State *L = d->L;
  const unsigned char *p = d->p + 1;
  int base = lua_gettop(L), n = 0, parking = 1;
  int key_slot = d->key_slot; /* the array's key: its objects are alike */
  if (++d->depth > JSON_MAX_DEPTH) dec_fail(d, d->p, "nesting deeper than 1000");
  if (!lua_checkstack(L, 8)) dec_fail(d, d->p, "out of Lua stack");
  SKIP_SPACE(p);
  if (*p == ']') {
    d->p = p + 1;
    lua_createtable(L, 0, 0);
  } else {
    for (;;) {
      /* each successful check leaves room for the next PARK_CHECK_EVERY pushes and a build */
      if (parking && (n >= PARK_ARRAY_MAX || d->parked >= PARK_BUDGET ||
                      (n % PARK_CHECK_EVERY == 0 && !lua_checkstack(L, 8 + PARK_CHECK_EVERY)))) {
        build_array(L, base, n, n);
        d->parked -= n;
        parking = 0;
      }
      d->p = p;
      d->key_slot = key_slot;
      dec_value(d);
      n++;
      if (parking)
        d->parked++;
      else
        lua_rawseti(L, base + 1, n);
      p = d->p;
      SKIP_SPACE(p);
      if (*p == ',') {
        p++;
        SKIP_SPACE(p);
        if (*p == ']') dec_fail(d, p, "trailing comma");
        continue;
      }
      if (*p == ']') {
        d->p = p + 1;
        break;
      }
      dec_unexpected(d, p, "expected ',' or ']'");
    }
    if (parking) {
      build_array(L, base, n, 0);
      d->parked -= n;
    }
  }
  lua_pushvalue(L, d->arr_mt);
  lua_setmetatable(L, -2);
  d->depth--;
}

static void dec_object(decoder *d) {
  lua_State *L = d->L;
  const unsigned char *p = d->p + 1;
  int base = lua_gettop(L), n = 0, parking = 1;
  int shape = d->kcache != NULL ? d->key_slot : -1;
  /* Shaped for speed: a result's top-level object (the client's decode, with obj_mt) gets
   * `response` added by lua/medusa/response.lua; one more hash slot spares that insert a
   * resize of the table (measured -0.7k Ir per 525-byte GET body, GC included). */
  int extra = d->depth == 0 && d->obj_mt ? 1 : 0;
  if (++d->depth > JSON_MAX_DEPTH) dec_fail(d, d->p, "nesting deeper than 1000");
  if (!lua_checkstack(L, 8)) dec_fail(d, d->p, "out of Lua stack");
  SKIP_SPACE(p);
  if (*p == '}') {
    d->p = p + 1;
    lua_createtable(L, 0, 0);
    if (d->obj_mt) {
      lua_pushvalue(L, d->obj_mt);
      lua_setmetatable(L, -2);
    }
    d->depth--;
    return;
  }
  if (shape >= 0 && d->st->shape[shape] != 0) { /* its size is known: filled as it is read */
    lua_createtable(L, 0, d->st->shape[shape] + extra);
    parking = 0;
  }
  for (;;) {
    if (*p != '"') dec_unexpected(d, p, "expected a string key");
    if (parking && (n >= PARK_OBJECT_MAX || d->parked >= PARK_BUDGET ||
                    (n % PARK_CHECK_EVERY == 0 && !lua_checkstack(L, 8 + 2 * PARK_CHECK_EVERY)))) {
      build_object(L, base, n, n);
      d->parked -= 2 * n;
      parking = 0;
    }
    d->p = p;
    dec_string(d, 1);
    p = d->p;
    SKIP_SPACE(p);
    if (*p != ':') dec_unexpected(d, p, "expected ':'");
    p++;
    SKIP_SPACE(p);
    d->p = p;
    dec_value(d);
    n++;
    if (parking)
      d->parked += 2;
    else
      lua_rawset(L, base + 1);
    p = d->p;
    SKIP_SPACE(p);
    if (*p == ',') {
      p++;
      SKIP_SPACE(p);
      if (*p == '}') dec_fail(d, p, "trailing comma");
      continue;
    }
    if (*p == '}') {
      d->p = p + 1;
      break;
    }
    dec_unexpected(d, p, "expected ',' or '}'");
  }
  if (parking) {
    build_object(L, base, n, extra);
    d->parked -= 2 * n;
  }
  if (shape >= 0) d->st->shape[shape] = (unsigned short)(n <= PARK_OBJECT_MAX ? n : 0);
  if (d->obj_mt) {
    lua_pushvalue(L, d->obj_mt);
    lua_setmetatable(L, base + 1);
  }
  d->depth--;
}

/* d->p is at the first byte of a value (whitespace skipped); pushes it. */
static void dec_value(decoder *d) {
  const unsigned char *p = d->p;
  size_t avail = (size_t)(d->end - p);
  switch (*p) {
    case '{': dec_object(d); return;
    case '[': dec_array(d); return;
    case '"': dec_string(d, 0); return;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      dec_number(d);
      return;
    case 't':
      if (avail >= 4 && memcmp(p, "true", 4) == 0) {
        lua_pushboolean(d->L, 1);
        d->p = p + 4;
        return;
      }
      dec_fail(d, p, "invalid literal (expected true)");
      return;
    case 'f':
      if (avail >= 5 && memcmp(p, "false", 5) == 0) {
        lua_pushboolean(d->L, 0);
        d->p = p + 5;
        return;
      }
      dec_fail(d, p, "invalid literal (expected false)");
      return;
    case 'n':
      if (avail >= 4 && memcmp(p, "null", 4) == 0) {
        lua_pushlightuserdata(d->L, NULL);
        d->p = p + 4;
        return;
      }
      dec_fail(d, p, "invalid literal (expected null)");
      return;
    default:
      dec_unexpected(d, p, "expected a value");
  }
}

/* json_decode(string) -> value */
static int l_json_decode(lua_State *L) {
  decoder d;
  size_t len;
  const char *s;
  const unsigned char *p;
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "medusa.json: json_decode expects a string, not a %s", luaL_typename(L, 1));
  s = lua_tolstring(L, 1, &len);
  /* An optional metatable for every decoded object (the client's results print themselves
   * with it); the codec's own API leaves objects plain. */
  d.obj_mt = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    d.obj_mt = 2;
  }
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(2)); /* 3: the array metatable */
  lua_pushvalue(L, lua_upvalueindex(3)); /* 4: the key cache's strings */
  d.L = L;
  d.st = state_acquire(L);
  d.kcache = d.st->shared ? d.st->kcache : NULL;
  d.kcache_idx = 4;
  d.start = d.p = (const unsigned char *)s;
  d.end = d.start + len;
  d.depth = 0;
  d.arr_mt = 3;
  d.parked = 0;
  d.key_slot = KEY_CACHE_SLOTS; /* the top level's entry of st->shape */
  p = d.p;
  SKIP_SPACE(p);
  if (p == d.end) dec_fail(&d, p, len == 0 ? "empty input" : "unexpected end of input");
  d.p = p;
  dec_value(&d);
  p = d.p;
  SKIP_SPACE(p);
  if (p != d.end) dec_fail(&d, p, "unexpected data after the JSON value");
  state_release(d.st);
  return 1;
}

static const luaL_Reg json_functions[] = {
  {"json_encode", l_json_encode},
  {"json_decode", l_json_decode},
  {NULL, NULL}
};

void medusa_open_json(lua_State *L) {
  json_state *st = compat_newuserdata(L, sizeof *st);
  memset(st, 0, sizeof *st);
  st->shared = 1;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, state_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  luaL_getmetatable(L, MEDUSA_ARRAY_MT);
  lua_createtable(L, KEY_CACHE_SLOTS, 0);
  /* upvalues: 1 the state, 2 the array metatable, 3 the strings of the state's key cache */
  compat_setfuncs(L, json_functions, 3);
}
