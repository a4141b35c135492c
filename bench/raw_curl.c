/* raw_curl.c: the practical limit the benchmark compares medusa-lua with: one libcurl easy
 * handle reused for every request, the same request bytes medusa-lua sends (URL, header set,
 * JSON body), the response body counted and discarded. Prints one JSON line with the wall
 * time and the CPU time (user+sys, and each alone, getrusage) of the timed loop only.
 *
 *   raw_curl [--curlu] URL N WARMUP [POST_BODY]      (no POST_BODY: GET)
 *
 * Default: CURLOPT_URL set before every request, as a C programmer would write a client that
 * calls many URLs with libcurl's documented API. --curlu: the URL goes in as a CURLOPT_CURLU
 * handle whose scheme, host and port are set once; before each request only its path (and
 * query) is set again, the way a client with one base URL and many paths would. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <curl/curl.h>

static size_t count_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  (void)ptr;
  *(size_t *)ud += size * nmemb;
  return size * nmemb;
}

static double seconds(const struct timeval *tv) {
  return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void cpu_seconds(double *user, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = seconds(&ru.ru_utime);
  *sys = seconds(&ru.ru_stime);
}

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --curlu: the URL's path and query, and whether they hold a '%'. */
static char *url_path, *url_query;
static int url_escaped;

/* Before each --curlu request: the path (and query) of the one CURLU handle. libcurl 7.88
 * lower-cases the hex of %XX escapes in a part set alone (CURLUPART_PATH "/a%2Fb" gives
 * "/a%2fb"), so the request bytes would differ from the URL given; a path or query holding '%'
 * sets CURLUPART_URL whole instead, which keeps them as written. */
static void set_path(CURLU *u, const char *url) {
  CURLUcode uc = url_escaped ? curl_url_set(u, CURLUPART_URL, url, 0)
                             : curl_url_set(u, CURLUPART_PATH, url_path, 0);
  if (uc == CURLUE_OK && !url_escaped) uc = curl_url_set(u, CURLUPART_QUERY, url_query, 0);
  if (uc != CURLUE_OK) {
    fprintf(stderr, "raw_curl: %s: curl_url_set failed (%d)\n", url, (int)uc);
    exit(1);
  }
}

/* One exchange; exits on anything but a 200, so a broken server never looks fast. */
static void exchange(CURL *h, CURLU *u, const char *url) {
  long status = 0;
  CURLcode rc;
  if (u != NULL) {
    set_path(u, url);
  } else if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK) {
    fprintf(stderr, "raw_curl: %s: CURLOPT_URL refused\n", url);
    exit(1);
  }
  rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    fprintf(stderr, "raw_curl: %s: %s\n", url, curl_easy_strerror(rc));
    exit(1);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    fprintf(stderr, "raw_curl: %s: HTTP %ld\n", url, status);
    exit(1);
  }
}

int main(int argc, char **argv) {
  const char *url, *post_body;
  long n, warmup, i, connects = 0;
  size_t body_bytes = 0;
  double wall0, user0, sys0, user, sys, wall;
  char user_agent[128];
  struct curl_slist *headers = NULL;
  CURL *h;
  CURLU *u = NULL;
  int curlu = argc > 1 && strcmp(argv[1], "--curlu") == 0;

  argv += curlu;
  argc -= curlu;
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: raw_curl [--curlu] URL N WARMUP [POST_BODY]\n");
    return 2;
  }
  url = argv[1];
  n = atol(argv[2]);
  warmup = atol(argv[3]);
  post_body = argc == 5 ? argv[4] : NULL;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  h = curl_easy_init();
  if (h == NULL) return 1;
  /* The header set medusa-lua sends for this call (User-Agent of the same length). */
  snprintf(user_agent, sizeof user_agent, "User-Agent: medusa-lua/0.1.0 libcurl/%s",
           curl_version_info(CURLVERSION_NOW)->version);
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, user_agent);
  headers = curl_slist_append(headers, "Expect:");
  if (curlu) {
    /* Scheme, host and port once, from the URL; the loop sets only the path and query. */
    u = curl_url();
    if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &url_path, 0) != CURLUE_OK) {
      fprintf(stderr, "raw_curl: %s: not a URL\n", url);
      return 1;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &url_query, 0) != CURLUE_OK) url_query = NULL;
    url_escaped = strchr(url, '%') != NULL;
    curl_easy_setopt(h, CURLOPT_CURLU, u);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body_bytes);
  if (post_body != NULL) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(post_body));
  }

  for (i = 0; i < warmup; i++) exchange(h, u, url);
  body_bytes = 0;
  wall0 = wall_seconds();
  cpu_seconds(&user0, &sys0);
  for (i = 0; i < n; i++) exchange(h, u, url);
  cpu_seconds(&user, &sys);
  user -= user0;
  sys -= sys0;
  wall = wall_seconds() - wall0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);

  printf("{\"n\":%ld,\"wall_s\":%.6f,\"cpu_s\":%.6f,\"user_s\":%.6f,\"sys_s\":%.6f,"
         "\"body_bytes\":%zu,\"new_connections\":%ld}\n",
         n, wall, user + sys, user, sys, body_bytes, connects);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  curl_url_cleanup(u);
  curl_free(url_path);
  curl_free(url_query);
  curl_global_cleanup();
  return 0;
}
