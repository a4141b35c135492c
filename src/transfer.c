/* transfer.c: one HTTP exchange's libcurl state, shared by the blocking client (http.c) and
 * the multi interface (multi.c): an easy handle with the options every request shares,
 * the request read from its Lua table, the response collected by callbacks into C memory,
 * and the Lua values (response or failure) built from it afterwards. No policy: no
 * retries, no header rules beyond the contract's safety rule, no JSON. No Lua API is
 * called inside a libcurl callback. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transfer.h"
#include "contract.h"

/* A buffer that grew past this for one large response is given back afterwards. */
#define KEEP_BUFFER_BYTES (256 * 1024)
/* Values of too_large: which limit the response passed. */
#define TOO_LARGE_BODY 1
#define TOO_LARGE_HEAD 2
#define TOO_LARGE_LINE 3

static int membuf_append(membuf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *d;
    while (cap < b->len + n + 1) cap *= 2;
    d = realloc(b->data, cap);
    if (d == NULL) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static void membuf_trim(membuf *b) {
  b->len = 0;
  if (b->cap > KEEP_BUFFER_BYTES) {
    free(b->data);
    b->data = NULL;
    b->cap = 0;
  }
}

static void membuf_free(membuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- libcurl callbacks: C memory only ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  medusa_transfer *c = ud;
  size_t n = size * nmemb;
  if (c->body.len + n > c->max_body) {
    c->too_large = TOO_LARGE_BODY;
    return 0; /* aborts the transfer: nothing past the cap is buffered */
  }
  if (membuf_append(&c->body, ptr, n) != 0) return 0;
  return n;
}

static int starts_with_ci(const char *s, size_t n, const char *prefix) {
  size_t i, k = strlen(prefix);
  if (n < k) return 0;
  for (i = 0; i < k; i++) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = (char)(a + 32);
    if (a != prefix[i]) return 0;
  }
  return 1;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
  medusa_transfer *c = ud;
  size_t n = size * nmemb;
  if ((n == 2 && ptr[0] == '\r' && ptr[1] == '\n') || (n == 1 && ptr[0] == '\n')) c->head_done = 1;
  if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
    /* A new response starts (a 1xx or, never here, a redirect): keep only the last head. */
    const char *sp = memchr(ptr, ' ', n);
    c->head.len = 0;
    c->status = 0;
    c->head_done = 0;
    if (sp != NULL && (size_t)(sp - ptr) + 4 <= n) {
      long st = 0;
      int i;
      for (i = 1; i <= 3; i++) {
        char d = sp[i];
        if (d < '0' || d > '9') break;
        st = st * 10 + (d - '0');
      }
      if (i == 4) c->status = st;
    }
  } else if (starts_with_ci(ptr, n, "content-length:")) {
    /* Refuse a declared oversize body before reading any of it. */
    const char *p = ptr + 15, *end = ptr + n;
    unsigned long long v = 0;
    int digits = 0;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    while (p < end && *p >= '0' && *p <= '9') {
      if (v > (unsigned long long)c->max_body) break;
      v = v * 10 + (unsigned long long)(*p - '0');
      p++;
      digits = 1;
    }
    if (digits && v > (unsigned long long)c->max_body) {
      c->too_large = TOO_LARGE_BODY;
      return 0;
    }
  }
  if (c->head.len + n > MEDUSA_MAX_RESPONSE_HEAD_BYTES) {
    c->too_large = TOO_LARGE_HEAD;
    return 0;
  }
  if (membuf_append(&c->head, ptr, n) != 0) return 0;
  return n;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* libcurl silently sends a request again on a fresh connection when a reused one closed
 * before any response byte. The request may have been acted on already (a POST that
 * reached the server), and every send must be an attempt the pipeline counts, so that
 * second send is refused here; the pipeline's retry policy decides instead. */
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port, int local_port) {
  medusa_transfer *c = ud;
  (void)primary_ip; (void)local_ip; (void)primary_port; (void)local_port;
  if (++c->sends > 1) {
    c->resend_refused = 1;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}
#endif

/* Whether any variable libcurl takes a proxy setting from is set. */
static int proxy_env_set(void) {
  static const char *const names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                      "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", NULL};
  int i;
  for (i = 0; names[i] != NULL; i++) {
    const char *v = getenv(names[i]);
    if (v != NULL && v[0] != '\0') return 1;
  }
  return 0;
}

/* The options every request of a client shares, set once. 0 when libcurl refuses one (a
 * build without a feature the client relies on). */
static int set_fixed_options(medusa_transfer *c) {
  CURL *h = c->curl;
  int ok = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_WRITEDATA, c) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_HEADERDATA, c) == CURLE_OK
        && curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075000
  ok = ok && curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq) == CURLE_OK
          && curl_easy_setopt(h, CURLOPT_PREREQDATA, c) == CURLE_OK;
#endif
  /* libcurl reads the proxy variables on every request (six getenv scans of the whole
   * environment). They are read once here instead: with none set, proxies are switched
   * off explicitly, which skips those scans; with any set, libcurl keeps reading them. */
  if (ok && !proxy_env_set()) {
    ok = curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK && curl_easy_setopt(h, CURLOPT_NOPROXY, "") == CURLE_OK;
  }
  return ok;
}
/* ---- field names ----
 * Shaped for speed: the names of the request's and the response's fields are strings made
 * once per Lua state and kept in the registry, so that a field is looked up by a kept
 * string. lua_getfield and lua_setfield make their key from C text on every call (LuaJIT
 * hashes and interns it each time), fourteen times per request. */
#define TRANSFER_FIELDS(X)                                                                  \
  X(METHOD, "method") X(URL, "url") X(BODY, "body") X(CA_FILE, "ca_file")                 \
  X(HEADERS, "headers") X(TIMEOUT_MS, "timeout_ms") X(CONNECT_TIMEOUT_MS, "connect_timeout_ms") \
  X(MAX_RESPONSE_BYTES, "max_response_bytes") X(HEADERS_REUSED, "headers_reused")         \
  X(HEADER_RULES, "header_rules") X(STATUS, "status") X(CONNECTS, "connects")

enum {
#define X(id, name) FIELD_##id,
  TRANSFER_FIELDS(X)
#undef X
  FIELD_COUNT
};

static const char *const field_name[FIELD_COUNT] = {
#define X(id, name) name,
  TRANSFER_FIELDS(X)
#undef X
};

static const char field_names_key = 0;

/* Pushes the table of field names (field + 1 -> its string), made on first use; returns
 * its stack index. */
static int push_field_names(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&field_names_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_istable(L, -1)) {
    int i;
    lua_pop(L, 1);
    lua_createtable(L, FIELD_COUNT, 0);
    for (i = 0; i < FIELD_COUNT; i++) {
      lua_pushstring(L, field_name[i]);
      lua_rawseti(L, -2, i + 1);
    }
    lua_pushlightuserdata(L, (void *)&field_names_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
  }
  return lua_gettop(L);
}

/* Pushes t[field] as lua_getfield would (metamethods included); t: an absolute index. */
static void get_field(lua_State *L, int t, int names, int field) {
  compat_rawgeti(L, names, field + 1);
  lua_gettable(L, t);
}

/* Pushes the name of field, for a raw set of a value pushed after it. */
static void push_field_name(lua_State *L, int names, int field) {
  compat_rawgeti(L, names, field + 1);
}

static long opt_long(lua_State *L, int t, int names, int field, long dflt) {
  long v = dflt;
  get_field(L, t, names, field);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "medusa.http: request.%s must be a number", field_name[field]);
    v = (long)lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}


/* Builds "Name: value" (or "Name;" for an empty value: libcurl's way to send it empty). */
static struct curl_slist *append_header(lua_State *L, struct curl_slist *list, const char *name,
                                        size_t nlen, const char *value, size_t vlen) {
  char stackbuf[512];
  char *line = stackbuf;
  size_t need = nlen + vlen + 3;
  struct curl_slist *next;
  if (need > sizeof stackbuf) {
    line = malloc(need);
    if (line == NULL) return NULL;
  }
  memcpy(line, name, nlen);
  if (vlen == 0) {
    line[nlen] = ';';
    line[nlen + 1] = '\0';
  } else {
    line[nlen] = ':';
    line[nlen + 1] = ' ';
    memcpy(line + nlen + 2, value, vlen);
    line[nlen + 2 + vlen] = '\0';
  }
  next = curl_slist_append(list, line);
  if (line != stackbuf) free(line);
  (void)L;
  return next;
}

static const char *curl_code_name(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY: return "CURLE_COULDNT_RESOLVE_PROXY";
    case CURLE_COULDNT_RESOLVE_HOST: return "CURLE_COULDNT_RESOLVE_HOST";
    case CURLE_COULDNT_CONNECT: return "CURLE_COULDNT_CONNECT";
    case CURLE_WEIRD_SERVER_REPLY: return "CURLE_WEIRD_SERVER_REPLY";
    case CURLE_PARTIAL_FILE: return "CURLE_PARTIAL_FILE";
    case CURLE_WRITE_ERROR: return "CURLE_WRITE_ERROR";
    case CURLE_OPERATION_TIMEDOUT: return "CURLE_OPERATION_TIMEDOUT";
    case CURLE_SSL_CONNECT_ERROR: return "CURLE_SSL_CONNECT_ERROR";
    case CURLE_GOT_NOTHING: return "CURLE_GOT_NOTHING";
    case CURLE_SEND_ERROR: return "CURLE_SEND_ERROR";
    case CURLE_RECV_ERROR: return "CURLE_RECV_ERROR";
    case CURLE_BAD_CONTENT_ENCODING: return "CURLE_BAD_CONTENT_ENCODING";
    case CURLE_PEER_FAILED_VERIFICATION: return "CURLE_PEER_FAILED_VERIFICATION";
    case CURLE_SSL_CACERT_BADFILE: return "CURLE_SSL_CACERT_BADFILE";
    case CURLE_SSL_CERTPROBLEM: return "CURLE_SSL_CERTPROBLEM";
    case CURLE_UNSUPPORTED_PROTOCOL: return "CURLE_UNSUPPORTED_PROTOCOL";
    case CURLE_URL_MALFORMAT: return "CURLE_URL_MALFORMAT";
    case CURLE_OUT_OF_MEMORY: return "CURLE_OUT_OF_MEMORY";
    case CURLE_BAD_FUNCTION_ARGUMENT: return "CURLE_BAD_FUNCTION_ARGUMENT";
    case CURLE_TOO_MANY_REDIRECTS: return "CURLE_TOO_MANY_REDIRECTS";
    case CURLE_HTTP2: return "CURLE_HTTP2";
    case CURLE_ABORTED_BY_CALLBACK: return "CURLE_ABORTED_BY_CALLBACK";
    default: return "CURLE_OTHER";
  }
}

static const char *failure_type(medusa_transfer *c, CURLcode rc) {
  if (c->too_large) return MEDUSA_TYPE_TOO_LARGE;
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return MEDUSA_TYPE_TIMEOUT;
    /* Failures on this machine before a byte was sent: sending again cannot help. */
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_OUT_OF_MEMORY:
      return MEDUSA_TYPE_LOCAL;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return MEDUSA_TYPE_TLS;
    default: return MEDUSA_TYPE_NETWORK;
  }
}

/* Reading a kept response head line by line, shared by both header builders below. */
typedef struct {
  const char *p, *end;
} head_scan;

enum { LINE_END, LINE_SKIP, LINE_FIELD, LINE_FOLD };

/* Starts a scan after the status line; returns the number of lines (for sizing). */
static int head_scan_start(head_scan *s, const membuf *head) {
  const char *q;
  int lines = 0;
  s->p = s->end = head->data;
  if (head->data == NULL) return 0; /* before any arithmetic: NULL + 0 is undefined */
  s->end = head->data + head->len;
  for (q = s->p; (q = memchr(q, '\n', (size_t)(s->end - q))) != NULL; q++) lines++;
  while (s->p < s->end && *s->p != '\n') s->p++;
  if (s->p < s->end) s->p++;
  return lines;
}

/* The next line: LINE_FIELD with name and value (trimmed), LINE_FOLD with the text of an
 * obsolete folded line (one starting with a space or tab when `fold`, i.e. a field came
 * before it), LINE_SKIP for the blank line or a line with no name, LINE_END at the end. */
static int head_scan_next(head_scan *s, int fold, const char **name, size_t *nlen, const char **value,
                          size_t *vlen) {
  const char *line = s->p, *eol, *colon, *v, *ve;
  if (s->p >= s->end) return LINE_END;
  eol = memchr(line, '\n', (size_t)(s->end - line));
  if (eol == NULL) eol = s->end;
  s->p = eol < s->end ? eol + 1 : s->end;
  ve = eol;
  if (ve > line && ve[-1] == '\r') ve--;
  if (ve == line) return LINE_SKIP;
  if (fold && (*line == ' ' || *line == '\t')) {
    while (line < ve && (*line == ' ' || *line == '\t')) line++;
    *value = line;
    *vlen = (size_t)(ve - line);
    return LINE_FOLD;
  }
  colon = memchr(line, ':', (size_t)(ve - line));
  if (colon == NULL || colon == line) return LINE_SKIP;
  v = colon + 1;
  while (v < ve && (*v == ' ' || *v == '\t')) v++;
  while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
  *name = line;
  *nlen = (size_t)(colon - line);
  *value = v;
  *vlen = (size_t)(ve - v);
  return LINE_FIELD;
}

/* Replaces the string on top of the stack with it .. sep .. value (a folded line's text
 * or a repeated field's value). */
static void append_to_top(lua_State *L, const char *sep, const char *value, size_t vlen) {
  lua_pushstring(L, sep);
  lua_pushlstring(L, value, vlen);
  lua_concat(L, 3);
}

/* Pushes the response head as a flat list {name1, value1, name2, value2, ...} in wire
 * order and spelling; the pipeline decides what names mean. */
static void push_headers(lua_State *L, const membuf *head) {
  head_scan scan;
  const char *name = NULL, *value = NULL;
  size_t nlen = 0, vlen = 0;
  int n = 0, kind;
  /* Sized once: two slots a header line, so the list never grows (and rehashes) while filled. */
  lua_createtable(L, head_scan_start(&scan, head) * 2, 0);
  while ((kind = head_scan_next(&scan, n > 0, &name, &nlen, &value, &vlen)) != LINE_END) {
    if (kind == LINE_FOLD) { /* continue the previous value */
      lua_rawgeti(L, -1, n);
      append_to_top(L, " ", value, vlen);
      lua_rawseti(L, -2, n);
    } else if (kind == LINE_FIELD) {
      lua_pushlstring(L, name, nlen);
      lua_rawseti(L, -2, ++n);
      lua_pushlstring(L, value, vlen);
      lua_rawseti(L, -2, ++n);
    }
  }
}

/* Lower-cases n bytes of s into Lua string on the stack (ASCII only, as header names are). */
static void push_lower(lua_State *L, const char *s, size_t n) {
  char small[128];
  char *d = small;
  size_t i;
  small[0] = '\0'; /* n is never 0 here, but gcc cannot tell (-Wmaybe-uninitialized) */
  if (n > sizeof small) d = compat_newuserdata(L, n);
  for (i = 0; i < n; i++) {
    char ch = s[i];
    d[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
  }
  lua_pushlstring(L, d, n);
  if (d != small) lua_remove(L, -2);
}

/* ---- the header name cache ----
 * Shaped for speed: a server sends the same dozen names on every response, and making
 * each one's lower-cased Lua string (lower-case copy, hash, intern lookup) was about a
 * third of the map's cost. One cache per Lua state remembers, by the exact bytes a name
 * came in (so a hit needs no lower-casing), the lower-cased Lua string, kept alive in a
 * Lua table, so that a hit pushes it with one rawgeti on that table's array part.
 * Each entry also holds the name's rule, read once from the rules table the cache was
 * filled with: a hit asks no Lua table (rules tables are constant: medusa.headers RULES;
 * a different table starts the cache again).
 * The Lua table (in the registry under &name_cache_key) holds the strings at
 * 1..strings, the C part (a userdata) at NAME_CACHE_MAX + 1 and the rules table it was
 * filled with at NAME_CACHE_MAX + 2 (held, so that no other table can take its address).
 * Only names up to NAME_CACHE_LEN bytes are kept (Lua's short strings; real names are far
 * shorter). A server chooses the names, so the cache is bounded: full at the start of a
 * head, it starts again.
 * Each name also remembers the last value it came with (up to VALUE_CACHE_LEN bytes, the
 * string at NAME_CACHE_MAX + 2 + id): a server repeats most values on every response
 * (Content-Type, Connection, Vary, X-Powered-By, an ETag), and a byte comparison with the
 * remembered copy is cheaper than making the string again (hash, intern lookup, and an
 * allocation once the last result's string was collected). Strings are values, so a map
 * that shares one with an earlier map cannot tell. */
#define NAME_CACHE_SLOTS 128 /* open addressing, a power of two */
#define NAME_CACHE_MAX 64    /* entries; at most half the slots, so probes stay short */
#define NAME_CACHE_LEN 40
#define VALUE_CACHE_LEN 64

typedef struct {
  unsigned hash;
  unsigned char len;  /* 0: an empty slot */
  unsigned char id;   /* the lower-cased string's index in the Lua table, one per name */
  char rule;          /* 'f' first, 'l' list, 0 join */
  char wire[NAME_CACHE_LEN];
} name_entry;

typedef struct {
  const void *rules; /* the rules table the entries' rules come from, NULL for none */
  int count;         /* entries */
  int strings;       /* lower-cased strings, 1..strings: spellings of one name share one */
  name_entry slot[NAME_CACHE_SLOTS];
  /* by string id: the last value's bytes; value_len 0 = none kept (an empty value is not) */
  unsigned char value_len[NAME_CACHE_MAX + 1];
  char value[NAME_CACHE_MAX + 1][VALUE_CACHE_LEN];
} name_cache;

static const char name_cache_key = 0;

/* Pushes the cache's Lua table and returns its C part. */
static name_cache *push_name_cache(lua_State *L) {
  name_cache *nc;
  lua_pushlightuserdata(L, (void *)&name_cache_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (lua_istable(L, -1)) {
    compat_rawgeti(L, -1, NAME_CACHE_MAX + 1);
    nc = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return nc;
  }
  lua_pop(L, 1);
  lua_createtable(L, 2 * NAME_CACHE_MAX + 2, 0);
  nc = compat_newuserdata(L, sizeof *nc);
  memset(nc, 0, sizeof *nc);
  lua_rawseti(L, -2, NAME_CACHE_MAX + 1);
  lua_pushlightuserdata(L, (void *)&name_cache_key);
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
  return nc;
}

/* From the length and four of the bytes, not all of them: cheap, and enough to tell a
 * head's names apart; the comparison in name_cache_find settles the rest (n >= 1). */
static unsigned name_hash(const char *s, size_t n) {
  unsigned h = (unsigned)n * 0x9e3779b1u;
  h ^= (unsigned char)s[0] * 0x85ebca6bu;
  h ^= (unsigned char)s[n / 2] * 0xc2b2ae35u;
  h ^= (unsigned char)s[n - 1] * 0x27d4eb2fu;
  h ^= (unsigned char)s[(n - 1) / 3] * 0x165667b1u;
  return h ^ (h >> 15);
}

/* The entry of the name spelled s[0..n), or the empty slot where it would go. */
static name_entry *name_cache_find(name_cache *nc, const char *s, size_t n, unsigned h) {
  unsigned i = h & (NAME_CACHE_SLOTS - 1);
  for (;;) {
    name_entry *e = &nc->slot[i];
    if (e->len == 0 || (e->hash == h && e->len == n && memcmp(e->wire, s, n) == 0)) return e;
    i = (i + 1) & (NAME_CACHE_SLOTS - 1);
  }
}

/* The rule (rules: a table's stack index, or 0) of the lower-cased name on top. */
static char rule_of_top(lua_State *L, int rules) {
  char rule = 0;
  if (rules == 0) return 0;
  lua_pushvalue(L, -1);
  lua_rawget(L, rules);
  if (lua_type(L, -1) == LUA_TSTRING) rule = *lua_tostring(L, -1);
  lua_pop(L, 1);
  return rule;
}

static int same_lower(const char *a, const char *b, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = (char)(x + 32);
    if (y >= 'A' && y <= 'Z') y = (char)(y + 32);
    if (x != y) return 0;
  }
  return 1;
}

/* The string id of another spelling of the name s[0..n) in the cache, or 0. */
static int id_of_other_spelling(const name_cache *nc, const char *s, size_t n) {
  int i;
  for (i = 0; i < NAME_CACHE_SLOTS; i++) {
    const name_entry *e = &nc->slot[i];
    if (e->len == n && same_lower(e->wire, s, n)) return e->id;
  }
  return 0;
}

/* Pushes the lower-cased name of s[0..n) and returns its rule: from the cache (table at
 * index `names`) when it holds that spelling, else made and, if it fits, remembered.
 * *id: the name's string id in the cache (the same for every spelling of one name), 0
 * when the name is not in the cache. */
static char push_name(lua_State *L, name_cache *nc, int names, int rules, const char *s, size_t n, int *id) {
  unsigned h;
  name_entry *e;
  char rule;
  int other;
  *id = 0;
  if (n > NAME_CACHE_LEN) {
    push_lower(L, s, n);
    return rule_of_top(L, rules);
  }
  h = name_hash(s, n);
  e = name_cache_find(nc, s, n, h);
  if (e->len != 0) {
    compat_rawgeti(L, names, e->id);
    *id = e->id;
    return e->rule;
  }
  push_lower(L, s, n);
  rule = rule_of_top(L, rules);
  if (nc->count < NAME_CACHE_MAX) {
    other = id_of_other_spelling(nc, s, n);
    if (other == 0) {
      /* the string first: the entry exists only once its string does (rawseti may raise) */
      lua_pushvalue(L, -1);
      compat_rawseti(L, names, nc->strings + 1);
      other = ++nc->strings;
    }
    e->hash = h;
    e->len = (unsigned char)n;
    e->id = (unsigned char)other;
    e->rule = rule;
    memcpy(e->wire, s, n);
    nc->count++;
    *id = other;
  }
  return rule;
}

/* Pushes the value s[0..n) of the cached name with string id `id`: the remembered string
 * when the bytes are the same, else a new one, remembered when it fits. */
static void push_value(lua_State *L, name_cache *nc, int names, int id, const char *s, size_t n) {
  if (n > 0 && n == nc->value_len[id] && memcmp(nc->value[id], s, n) == 0) {
    compat_rawgeti(L, names, NAME_CACHE_MAX + 2 + id);
    return;
  }
  lua_pushlstring(L, s, n);
  if (n > 0 && n <= VALUE_CACHE_LEN) {
    nc->value_len[id] = 0; /* the copy only once its string is kept (rawseti may raise) */
    lua_pushvalue(L, -1);
    compat_rawseti(L, names, NAME_CACHE_MAX + 2 + id);
    memcpy(nc->value[id], s, n);
    nc->value_len[id] = (unsigned char)n;
  }
}

/* Pushes the response head as a map {lower-cased name = value}, sized once. What repeats
 * become is not decided here: rules (a table at index `rules`, lower name -> "first" or
 * "list") come from the pipeline. A name with no rule joins its values with ", "; "first"
 * keeps the first value; "list" makes a list of every value. Obsolete line folding
 * continues the value the line before it produced (nothing, when that one was dropped). */
static void push_header_map(lua_State *L, const membuf *head, int rules) {
  head_scan scan;
  const char *name = NULL, *value = NULL;
  size_t nlen = 0, vlen = 0;
  int lines, map, last, names, kind, last_kind = 0; /* 0 none, 1 string value, 2 list element, 3 dropped */
  int id, exact = 1;
  uint64_t seen = 0; /* bit id - 1: a line with that cached name came (NAME_CACHE_MAX <= 64) */
  name_cache *nc;
  nc = push_name_cache(L);
  names = lua_gettop(L);
  if (nc->count == NAME_CACHE_MAX || nc->rules != (rules ? lua_topointer(L, rules) : NULL)) {
    /* full, or other rules: start again (the strings are overwritten) */
    memset(nc, 0, sizeof *nc);
    if (rules != 0) {
      nc->rules = lua_topointer(L, rules);
      lua_pushvalue(L, rules);
    } else {
      lua_pushnil(L);
    }
    compat_rawseti(L, names, NAME_CACHE_MAX + 2);
  }
  lines = head_scan_start(&scan, head);
  lua_createtable(L, 0, lines > 1 ? lines - 1 : 0);
  map = lua_gettop(L);
  lua_pushnil(L); /* the last name, for folded lines */
  last = map + 1;
  while ((kind = head_scan_next(&scan, last_kind != 0, &name, &nlen, &value, &vlen)) != LINE_END) {
    char rule = 0; /* 'f' first, 'l' list, 0 join */
    if (kind == LINE_SKIP || (kind == LINE_FOLD && last_kind == 3)) continue;
    if (kind == LINE_FIELD) {
      rule = push_name(L, nc, names, rules, name, nlen, &id);
      lua_replace(L, last);
      /* Shaped for speed: the first line of a name needs no rawget of what the map holds
       * for it. Every name so far had a cache id, one per lower-cased name, so the bits
       * of `seen` say exactly which names the map has; after a name with none (too long,
       * or the cache full) every line asks the map again. */
      if (id == 0) {
        exact = 0;
      } else if (exact && !(seen & ((uint64_t)1 << (id - 1)))) {
        seen |= (uint64_t)1 << (id - 1);
        lua_pushvalue(L, last);
        if (rule == 'l') {
          lua_createtable(L, 2, 0);
          lua_pushlstring(L, value, vlen);
          lua_rawseti(L, -2, 1);
          last_kind = 2;
        } else {
          push_value(L, nc, names, id, value, vlen);
          last_kind = 1;
        }
        lua_rawset(L, map);
        continue;
      }
    }
    lua_pushvalue(L, last);
    lua_rawget(L, map); /* what the name holds so far */
    if (kind == LINE_FOLD && last_kind == 1) {
      append_to_top(L, " ", value, vlen);
    } else if (kind == LINE_FOLD || rule == 'l') { /* a list: fold into its last value, or add one */
      int n;
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_createtable(L, 2, 0);
        lua_pushvalue(L, last);
        lua_pushvalue(L, -2);
        lua_rawset(L, map);
      }
      n = (int)compat_rawlen(L, -1);
      if (kind == LINE_FOLD) {
        lua_rawgeti(L, -1, n);
        append_to_top(L, " ", value, vlen);
        lua_rawseti(L, -2, n);
      } else {
        lua_pushlstring(L, value, vlen);
        lua_rawseti(L, -2, n + 1);
        last_kind = 2;
      }
      lua_pop(L, 1);
      continue;
    } else if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushlstring(L, value, vlen);
      last_kind = 1;
    } else if (rule == 'f') {
      lua_pop(L, 1);
      last_kind = 3;
      continue;
    } else {
      append_to_top(L, ", ", value, vlen);
      last_kind = 1;
    }
    /* map[name] = the string on top */
    lua_pushvalue(L, last);
    lua_insert(L, -2);
    lua_rawset(L, map);
  }
  lua_settop(L, map);
  lua_replace(L, names); /* the map where the cache's table was */
}

/* ---- the request URL ----
 * libcurl parses a CURLOPT_URL string again on every request, and that parse is a sixth of
 * a whole exchange's instructions (about 16k of the raw C loop's 90k). The URL goes in as a
 * CURLU handle instead (CURLOPT_CURLU), parsed whole when the origin ("scheme://host:port")
 * changes and otherwise given only the new path and query, which libcurl copies as they
 * are. Shaped for speed: do not fold this back into a plain CURLOPT_URL.
 * CURLOPT_URL is still set to the whole URL: libcurl 7.88 keeps that string for what it
 * does with the URL after the handle was read (the request it sends again on a connection
 * that died, the effective URL, its messages); it costs a copy, no parse. */

#define CURLU_FLAGS (CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS)

/* What each byte means to parts_are_exact: 0 a byte that passes as it is; 1 one only a
 * whole parse takes as it should (NUL, controls, space, '#', backslash, DEL, non-ASCII);
 * 2 '%'; 3 '?'. A table, so that the scan costs a load and a test per byte (it runs over
 * every request's path); a row per 16 bytes, from 0x00. */
static const unsigned char url_byte_class[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static int is_upper_hex(int ch) { return ch >= 'A' && ch <= 'F'; }
static int is_hex(int ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || is_upper_hex(ch); }

/* 1 when libcurl, given `rest` (path and query) as parts, stores exactly what parsing the
 * whole URL (with CURLU_FLAGS, as libcurl parses CURLOPT_URL) gives. The bytes that make
 * the two differ take the whole parse: a space or control (the whole parse refuses them),
 * non-ASCII, '#' (a fragment), a backslash, a '?' with nothing after it, and a %XX escape
 * with an upper-case hex digit (libcurl 7.88 lower-cases those in a part set alone, so
 * "/a%2Fb" would go out as "/a%2fb"). *query_at: the offset of the first '?', or the
 * length. */
static int parts_are_exact(const char *rest, size_t *query_at) {
  const unsigned char *p = (const unsigned char *)rest;
  const unsigned char *query = NULL;
  for (;; p++) {
    unsigned cls;
    while ((cls = url_byte_class[*p]) == 0) p++;
    if (*p == '\0') break;
    if (cls == 1) return 0;
    if (cls == 2 && is_hex(p[1]) && is_hex(p[2]) && (is_upper_hex(p[1]) || is_upper_hex(p[2]))) return 0;
    if (cls == 3 && query == NULL) {
      if (p[1] == '\0') return 0;
      query = p;
    }
  }
  *query_at = (size_t)((query != NULL ? query : p) - (const unsigned char *)rest);
  return 1;
}

/* Remembers url's origin after a whole parse: only a plain one (http or https, a host of
 * letters, digits, '.', '-', an IPv6 literal's brackets and colons, a port), so that the
 * same bytes before a '/' always mean the same scheme, host and port. */
static void remember_origin(medusa_transfer *c, const char *url) {
  size_t start, i;
  c->origin_len = 0;
  if (strncmp(url, "http://", 7) == 0) start = 7;
  else if (strncmp(url, "https://", 8) == 0) start = 8;
  else return;
  for (i = start; url[i] != '\0' && url[i] != '/'; i++) {
    char ch = url[i];
    int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']';
    if (!plain) return;
  }
  if (url[i] != '/' || i == start || i >= sizeof c->origin) return;
  memcpy(c->origin, url, i);
  c->origin_len = i;
}

/* Points libcurl at url: the parts when only they changed, else a whole parse; a URL the
 * handle cannot parse goes to libcurl as CURLOPT_URL alone, which then fails the request
 * as it always did (a 'local' failure, its own message). */
static CURLcode set_url(CURL *h, medusa_transfer *c, const char *url) {
  CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
  size_t query_at;
  int use_handle;
  if (rc != CURLE_OK || c->url == NULL) return rc;
  if (c->origin_len > 0 && strncmp(url, c->origin, c->origin_len) == 0 && url[c->origin_len] == '/' &&
      parts_are_exact(url + c->origin_len, &query_at)) {
    const char *rest = url + c->origin_len, *path = rest;
    char small[512], *big = NULL;
    CURLUcode uc;
    if (rest[query_at] != '\0') { /* the path alone, as its own string */
      char *copy = query_at < sizeof small ? small : (big = malloc(query_at + 1));
      if (copy == NULL) return CURLE_OUT_OF_MEMORY;
      memcpy(copy, rest, query_at);
      copy[query_at] = '\0';
      path = copy;
    }
    uc = curl_url_set(c->url, CURLUPART_PATH, path, 0);
    if (uc == CURLUE_OK)
      uc = curl_url_set(c->url, CURLUPART_QUERY, rest[query_at] ? rest + query_at + 1 : NULL, 0);
    free(big);
    if (uc == CURLUE_OUT_OF_MEMORY) return CURLE_OUT_OF_MEMORY;
    use_handle = uc == CURLUE_OK;
    if (!use_handle) c->origin_len = 0;
  } else {
    curl_url_set(c->url, CURLUPART_URL, NULL, 0); /* empty: a relative URL resolves against nothing */
    use_handle = curl_url_set(c->url, CURLUPART_URL, url, CURLU_FLAGS) == CURLUE_OK;
    if (use_handle) remember_origin(c, url); else c->origin_len = 0;
  }
  if (use_handle != c->url_in_use) {
    rc = curl_easy_setopt(h, CURLOPT_CURLU, use_handle ? c->url : NULL);
    if (rc != CURLE_OK) return rc;
    c->url_in_use = use_handle;
    /* CURLOPT_CURLU set to NULL leaves CURLOPT_URL unread until it is set again */
    if (!use_handle) rc = curl_easy_setopt(h, CURLOPT_URL, url);
  }
  return rc;
}

/* The options of one request. A refused option (a URL longer than libcurl takes, out of
 * memory) is returned, never ignored: an ignored CURLOPT_URL would send the previous
 * request's URL, or none. Shaped for speed: options libcurl keeps from the last request
 * (the method, the header list, the timeouts) are set only when they changed; each
 * curl_easy_setopt is a call through libcurl's whole option switch, on every request. */
static CURLcode set_request_options(CURL *h, medusa_transfer *c, const char *method, const char *url,
                                    const char *body, size_t body_len, long timeout_ms,
                                    long connect_timeout_ms, const char *ca_file) {
  int kind = strcmp(method, "GET") == 0 ? 1 : strcmp(method, "POST") == 0 ? 2 : 0;
  int known = c->set_for;
  CURLcode rc;
  c->set_for = 0; /* unknown until every option below is in */
  rc = set_url(h, c, url);
  if (rc == CURLE_OK && c->set_headers != c->request_headers) {
    rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->request_headers);
    c->set_headers = rc == CURLE_OK ? c->request_headers : NULL;
  }
  if (rc == CURLE_OK && kind == 1) {
    if (known != 1) {
      rc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
      if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
  } else if (rc == CURLE_OK) {
    if (known != 2) rc = curl_easy_setopt(h, CURLOPT_POST, 1L);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    /* the verb: only a POST after a POST keeps it (another method names itself each time) */
    if (rc == CURLE_OK && !(known == 2 && kind == 2))
      rc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, kind == 2 ? NULL : method);
  }
  if (rc == CURLE_OK && (known == 0 || timeout_ms != c->set_timeout_ms)) {
    rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    c->set_timeout_ms = timeout_ms;
  }
  if (rc == CURLE_OK && (known == 0 || connect_timeout_ms != c->set_connect_timeout_ms)) {
    rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    c->set_connect_timeout_ms = connect_timeout_ms;
  }
  if (rc == CURLE_OK && ca_file != NULL) rc = curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
  if (rc == CURLE_OK) c->set_for = kind == 0 ? 0 : kind;
  return rc;
}

/* nil, {type = "local", code, message}: the request failed on this machine before anything
 * was sent, so sending it again cannot help (the pipeline never retries this type). */
static int push_local_failure(lua_State *L, CURLcode rc, const char *what) {
  lua_pushnil(L);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, MEDUSA_TYPE_LOCAL);
  lua_setfield(L, -2, "type");
  lua_pushstring(L, curl_code_name(rc));
  lua_setfield(L, -2, "code");
  lua_pushfstring(L, "%s: %s", what, curl_easy_strerror(rc));
  lua_setfield(L, -2, "message");
  return 2;
}


void medusa_read_request(lua_State *L, medusa_request *r) {
  int names;
  luaL_checktype(L, 2, LUA_TTABLE);
  names = push_field_names(L);
  get_field(L, 2, names, FIELD_METHOD);
  r->method = luaL_checkstring(L, -1);
  get_field(L, 2, names, FIELD_URL);
  r->url = luaL_checkstring(L, -1);
  get_field(L, 2, names, FIELD_BODY);
  r->body = NULL;
  r->body_len = 0;
  if (!lua_isnil(L, -1)) r->body = luaL_checklstring(L, -1, &r->body_len);
  get_field(L, 2, names, FIELD_CA_FILE);
  r->ca_file = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
  get_field(L, 2, names, FIELD_HEADERS);
  luaL_checktype(L, -1, LUA_TTABLE);
  r->headers = lua_gettop(L);
  r->timeout_ms = opt_long(L, 2, names, FIELD_TIMEOUT_MS, MEDUSA_DEFAULT_TIMEOUT_MS);
  r->connect_timeout_ms = opt_long(L, 2, names, FIELD_CONNECT_TIMEOUT_MS, MEDUSA_DEFAULT_CONNECT_TIMEOUT_MS);
  r->max_body = opt_long(L, 2, names, FIELD_MAX_RESPONSE_BYTES, MEDUSA_DEFAULT_MAX_RESPONSE_BYTES);
  get_field(L, 2, names, FIELD_HEADERS_REUSED);
  r->reused = lua_toboolean(L, -1);
  lua_pop(L, 1);
  get_field(L, 2, names, FIELD_HEADER_RULES);
  if (!lua_isnil(L, -1)) luaL_checktype(L, -1, LUA_TTABLE);
  r->rules = lua_isnil(L, -1) ? 0 : lua_gettop(L);
}

/* Raises unless every entry of the header list is a {name, value} pair of strings. */
static int check_header_list(lua_State *L, int t) {
  int n = (int)compat_rawlen(L, t), i;
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    if (lua_type(L, -1) != LUA_TTABLE) luaL_error(L, "medusa.http: request.headers[%d] must be a {name, value} pair", i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "medusa.http: request.headers[%d] must hold two strings", i);
    lua_pop(L, 3);
  }
  return n;
}

/* The slist of the header list at stack index t, with "Expect:" last (a body is sent at
 * once, never after a 100-continue). NULL when out of memory; raises on an unsafe header. */
static struct curl_slist *build_slist(lua_State *L, int t, int n) {
  struct curl_slist *list = NULL, *next;
  int i;
  for (i = 1; i <= n; i++) {
    const char *name, *value;
    size_t nlen, vlen;
    lua_rawgeti(L, t, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    name = lua_tolstring(L, -2, &nlen);
    value = lua_tolstring(L, -1, &vlen);
    if (medusa_header_problem(name, nlen, value, vlen) != NULL) {
      curl_slist_free_all(list);
      luaL_error(L, "medusa.http: request.headers[%d] is not a safe header", i);
    }
    next = append_header(L, list, name, nlen, value, vlen);
    lua_pop(L, 3);
    if (next == NULL) goto oom;
    list = next;
  }
  next = curl_slist_append(list, "Expect:");
  if (next != NULL) return next;
oom:
  curl_slist_free_all(list);
  return NULL;
}

/* Gives the client the slist of this request's headers; 0 when out of memory. The
 * pipeline passes the same, unchanged header table on most calls of a client
 * (headers_reused: it keeps that table alive and never changes it), so the slist built
 * from it last time is still right and is kept. */
static int prepare_headers(lua_State *L, medusa_transfer *c, const medusa_request *r) {
  const void *key = lua_topointer(L, r->headers);
  int n;
  if (r->reused && c->request_headers != NULL && c->headers_key == key) return 1;
  n = check_header_list(L, r->headers);
  if (c->request_headers != NULL) curl_slist_free_all(c->request_headers);
  /* build_slist may raise: nothing may point at the freed list meanwhile */
  c->request_headers = NULL;
  c->headers_key = NULL;
  c->request_headers = build_slist(L, r->headers, n);
  if (c->request_headers == NULL) return 0;
  if (r->reused) c->headers_key = key;
  return 1;
}

static void reset_response(medusa_transfer *c, long max_body) {
  c->max_body = max_body > 0 ? (size_t)max_body : 0;
  c->too_large = 0;
  c->sends = 0;
  c->resend_refused = 0;
  c->status = 0;
  c->head_done = 0;
  c->head.len = 0;
  c->body.len = 0;
  c->errbuf[0] = '\0';
}

/* What libcurl's result means for this response. */
static CURLcode judge_result(medusa_transfer *c, CURLcode rc) {
  /* libcurl reports a head line over its own 100 KiB limit as out of memory; while a head
   * is arriving that is what it means in practice. */
  if (rc == CURLE_OUT_OF_MEMORY && c->status > 0 && c->body.len == 0 && !c->too_large)
    c->too_large = TOO_LARGE_LINE;
  /* libcurl takes a head cut before its blank line for a whole response with no body;
   * it is a partial response, as the cosocket transport reports it. */
  if (rc == CURLE_OK && !c->too_large && !c->head_done) {
    rc = CURLE_PARTIAL_FILE;
    snprintf(c->errbuf, sizeof c->errbuf, "%s", MEDUSA_MSG_HEAD_CUT);
  }
  return rc;
}

static void push_head(lua_State *L, medusa_transfer *c, int rules) {
  if (rules) push_header_map(L, &c->head, rules); else push_headers(L, &c->head);
}

/* {status, headers, body, connects} */
static int push_response(lua_State *L, medusa_transfer *c, int rules) {
  long connects = 0;
  int names = push_field_names(L);
  curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects);
  lua_createtable(L, 0, 4);
  push_field_name(L, names, FIELD_STATUS);
  lua_pushinteger(L, (lua_Integer)c->status);
  lua_rawset(L, -3);
  push_field_name(L, names, FIELD_HEADERS);
  push_head(L, c, rules);
  lua_rawset(L, -3);
  push_field_name(L, names, FIELD_BODY);
  lua_pushlstring(L, c->body.data ? c->body.data : "", c->body.len);
  lua_rawset(L, -3);
  push_field_name(L, names, FIELD_CONNECTS);
  lua_pushinteger(L, (lua_Integer)connects);
  lua_rawset(L, -3);
  return 1;
}

static void push_failure_message(lua_State *L, medusa_transfer *c, CURLcode rc, long max_body) {
  if (c->too_large == TOO_LARGE_BODY) {
    char msg[64];
    snprintf(msg, sizeof msg, MEDUSA_MSG_BODY_TOO_LARGE, max_body);
    lua_pushstring(L, msg);
  } else if (c->too_large == TOO_LARGE_HEAD) {
    lua_pushstring(L, MEDUSA_MSG_HEAD_TOO_LARGE);
  } else if (c->too_large == TOO_LARGE_LINE) {
    lua_pushstring(L, MEDUSA_MSG_LINE_TOO_LARGE);
  } else if (c->resend_refused) {
    lua_pushstring(L, MEDUSA_MSG_RESEND_REFUSED);
  } else {
    lua_pushstring(L, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
  }
}

/* nil, {type, message, code, status?, headers?} */
static int push_failure(lua_State *L, medusa_transfer *c, CURLcode rc, int rules) {
  lua_pushnil(L);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, failure_type(c, rc));
  lua_setfield(L, -2, "type");
  push_failure_message(L, c, rc, (long)c->max_body);
  lua_setfield(L, -2, "message");
  lua_pushstring(L, c->too_large ? MEDUSA_TYPE_TOO_LARGE : curl_code_name(rc));
  lua_setfield(L, -2, "code");
  if (c->status > 0) {
    lua_pushinteger(L, (lua_Integer)c->status);
    lua_setfield(L, -2, "status");
    push_head(L, c, rules);
    lua_setfield(L, -2, "headers");
  }
  return 2;
}

/* ---- the transfer's life ---- */

int medusa_transfer_open(medusa_transfer *t) {
  memset(t, 0, sizeof *t);
  t->curl = curl_easy_init();
  if (t->curl == NULL) return 0;
  t->url = curl_url(); /* NULL (out of memory): every request goes as CURLOPT_URL alone */
  if (!set_fixed_options(t) || curl_easy_setopt(t->curl, CURLOPT_PRIVATE, (void *)t) != CURLE_OK) {
    medusa_transfer_close(t);
    return 0;
  }
  return 1;
}

void medusa_transfer_close(medusa_transfer *t) {
  if (t->curl != NULL) {
    curl_easy_cleanup(t->curl);
    t->curl = NULL;
  }
  curl_url_cleanup(t->url); /* after the easy handle that read it */
  t->url = NULL;
  t->url_in_use = 0;
  t->origin_len = 0;
  if (t->request_headers != NULL) {
    curl_slist_free_all(t->request_headers);
    t->request_headers = NULL;
  }
  t->headers_key = NULL;
  membuf_free(&t->head);
  membuf_free(&t->body);
}

int medusa_transfer_prepare(lua_State *L, medusa_transfer *t, const medusa_request *r) {
  CURLcode rc;
  if (!prepare_headers(L, t, r)) return push_local_failure(L, CURLE_OUT_OF_MEMORY, "building the request headers");
  rc = set_request_options(t->curl, t, r->method, r->url, r->body, r->body_len, r->timeout_ms,
                           r->connect_timeout_ms, r->ca_file);
  if (rc != CURLE_OK) return push_local_failure(L, rc, "libcurl refused the request's options");
  reset_response(t, r->max_body);
  return 0;
}

void medusa_transfer_trim(medusa_transfer *t) {
  membuf_trim(&t->body);
  membuf_trim(&t->head);
}

int medusa_transfer_finish(lua_State *L, medusa_transfer *t, CURLcode rc, int rules) {
  int results;
  rc = judge_result(t, rc);
  results = (rc == CURLE_OK && !t->too_large) ? push_response(L, t, rules) : push_failure(L, t, rc, rules);
  medusa_transfer_trim(t);
  return results;
}
