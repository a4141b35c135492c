/* transfer.h: one HTTP exchange's libcurl state (transfer.c), what the blocking client
 * (http.c) and the multi interface (multi.c) share: the request as read from Lua, the
 * easy handle with its callbacks' C buffers, and the steps of an exchange
 * (read the request, prepare the handle, finish: build the Lua result). */
#ifndef MEDUSA_TRANSFER_H
#define MEDUSA_TRANSFER_H

#include <curl/curl.h>
#include "core.h"

typedef struct {
  char *data;
  size_t len, cap;
} membuf;

/* The longest "scheme://host:port" the URL handle remembers (transfer.c: set_url). */
#define MEDUSA_ORIGIN_MAX 256

typedef struct medusa_transfer {
  CURL *curl;
  CURLU *url;        /* the request URL libcurl reads (CURLOPT_CURLU), see transfer.c */
  int url_in_use;    /* CURLOPT_CURLU points at url (0: libcurl parses CURLOPT_URL itself) */
  size_t origin_len; /* bytes of origin that url holds parsed, 0 when none */
  char origin[MEDUSA_ORIGIN_MAX];
  /* what the handle was last given, so that an option that did not change is not set again
   * (transfer.c: set_request_options); set_for = 0: nothing is known */
  int set_for;                      /* 1 GET, 2 POST, 0 unknown or another method */
  long set_timeout_ms, set_connect_timeout_ms;
  const struct curl_slist *set_headers;
  struct curl_slist *request_headers; /* of the last request; freed on the next one or at close */
  const void *headers_key; /* the Lua header list request_headers was built from, when reusable */
  membuf head;             /* raw header lines of the current response */
  membuf body;
  size_t max_body;
  long status;    /* from the last status line seen, 0 if none arrived */
  int too_large;  /* the response passed max_body or a head limit (which: transfer.c) */
  int head_done;  /* the blank line that ends the current response head arrived */
  int sends;      /* requests libcurl started for the current exchange */
  int resend_refused;
  char errbuf[CURL_ERROR_SIZE];
  /* multi.c's bookkeeping; unused by the blocking client */
  int id;                        /* 1-based slot in its multi, 0 when free */
  int done;                      /* the exchange ended; result holds libcurl's code */
  CURLcode result;
  struct medusa_transfer *next;  /* the multi's free list */
} medusa_transfer;

/* One request as the pipeline hands it over (a Lua table at stack index 2), read and
 * checked before any libcurl state changes. The strings point into that table, which
 * outlives the exchange's set-up (libcurl copies what it keeps, except the body: see
 * multi.c for how that one stays alive). */
typedef struct {
  const char *method, *url, *body, *ca_file;
  size_t body_len;
  long timeout_ms, connect_timeout_ms, max_body;
  int reused;  /* the header table is the one of the last request, unchanged */
  int headers; /* stack index of the header list */
  int rules;   /* stack index of the header rules, 0 for the flat list */
} medusa_request;

/* An easy handle with the options every request shares. 0 when libcurl cannot make one
 * or refuses an option the client relies on (t is then closed). */
int medusa_transfer_open(medusa_transfer *t);
/* Frees everything; safe twice. */
void medusa_transfer_close(medusa_transfer *t);
/* Reads the request table at stack index 2; raises on a malformed one. */
void medusa_read_request(lua_State *L, medusa_request *r);
/* Configures t for r: 0, or pushes nil, failure (type "local") and returns 2. Raises on an
 * unsafe header. */
int medusa_transfer_prepare(lua_State *L, medusa_transfer *t, const medusa_request *r);
/* After libcurl ended the exchange with rc: pushes the response, or nil and the failure;
 * returns the number of values pushed. rules: stack index of the header rules, or 0. */
int medusa_transfer_finish(lua_State *L, medusa_transfer *t, CURLcode rc, int rules);

/* Gives back a buffer that grew large for one response (after finish, or a cancel). */
void medusa_transfer_trim(medusa_transfer *t);

#endif
