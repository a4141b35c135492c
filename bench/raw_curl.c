/* raw_curl.c: the practical limit the benchmark compares medusa-lua with: one libcurl easy
 * handle reused for every request, the same request bytes medusa-lua sends (URL, header set,
 * JSON body), the response body counted and discarded. Prints one JSON line with the wall
 * time and the CPU time (user+sys, getrusage) of the timed loop only.
 *
 *   raw_curl URL N WARMUP [POST_BODY]      (no POST_BODY: GET) */
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

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return seconds(&ru.ru_utime) + seconds(&ru.ru_stime);
}

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One exchange; exits on anything but a 200, so a broken server never looks fast. */
static void exchange(CURL *h, const char *url) {
  long status = 0;
  CURLcode rc = curl_easy_perform(h);
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
  double wall0, cpu0, wall, cpu;
  char user_agent[128];
  struct curl_slist *headers = NULL;
  CURL *h;

  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: raw_curl URL N WARMUP [POST_BODY]\n");
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
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body_bytes);
  if (post_body != NULL) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(post_body));
  }

  for (i = 0; i < warmup; i++) exchange(h, url);
  body_bytes = 0;
  wall0 = wall_seconds();
  cpu0 = cpu_seconds();
  for (i = 0; i < n; i++) exchange(h, url);
  cpu = cpu_seconds() - cpu0;
  wall = wall_seconds() - wall0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);

  printf("{\"n\":%ld,\"wall_s\":%.6f,\"cpu_s\":%.6f,\"body_bytes\":%zu,\"new_connections\":%ld}\n",
         n, wall, cpu, body_bytes, connects);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  curl_global_cleanup();
  return 0;
}
