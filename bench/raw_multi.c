/* raw_multi.c: the practical limit of the `concurrent` group: a batch of CALLS GETs of
 * /store/payment-collections/<id> through one libcurl multi handle, at most INFLIGHT
 * transfers at once, INFLIGHT easy handles reused (their connections stay in the multi
 * handle's pool), the same request bytes as raw_curl.c and medusa-lua (header set, User-Agent
 * of the same length), each response body counted and discarded.
 *
 *   raw_multi BASE_URL INFLIGHT ok|flaky MAX_RETRIES [CALLS]
 *
 * ok: every call asks for the recorded collection. flaky: call i asks for paycol_flaky_<i>
 * (bench/nginx/delayed.conf answers each such id 503 once, then 200). An attempt answered
 * 501..599 or 409 (medusa-lua's retryable statuses; no Retry-After is sent) is sent again,
 * at most MAX_RETRIES times, after medusa-lua's backoff without Retry-After: 500 ms before
 * retry 1, 1500 ms before retry 2, ... A call waiting out its backoff holds no transfer slot:
 * INFLIGHT bounds transfers, and a timer in the loop re-adds the call when it is due.
 *
 * One untimed batch of ok calls first (connections opened, caches warm), then the timed
 * batch. Prints one JSON line: wall and CPU (user and sys apart, getrusage) of the timed
 * batch in ms, the calls that ended 200 (ok), the attempts made, and the median and largest
 * wall time of one attempt (added to done) in ms, and the connections it had to open (0
 * when the warm-up's pool carried the batch). Exits 1 on a transfer error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <curl/curl.h>

#define COLLECTION_ID "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
#define MAX_CALLS 10000

typedef struct {
  CURL *easy;
  int call;            /* the call this slot is carrying, -1: free */
  size_t body_bytes;   /* of the current attempt */
  double started_ms;
} Slot;

typedef struct {
  char url[512];
  int attempts;
  double due_ms;       /* > 0: waiting out a backoff until then */
} Call;

static size_t count_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  (void)ptr;
  ((Slot *)ud)->body_bytes += size * nmemb;
  return size * nmemb;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void cpu_ms(double *user, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3;
  *sys = (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* medusa-lua's (and retry-axios's) exponential backoff without Retry-After, in ms. */
static double backoff_ms(int retry) {
  return ((double)(1L << retry) - 1.0) / 2.0 * 1000.0;
}

static int retryable(long status) {
  return status == 409 || (status >= 501 && status <= 599);
}

static CURLM *multi;
static Slot *slots;
static Call *calls;
static double *attempt_ms;
static long n_attempts, new_connections;

static void start(Slot *s, int call) {
  CURLMcode mc;
  s->call = call;
  s->body_bytes = 0;
  s->started_ms = now_ms();
  calls[call].attempts++;
  calls[call].due_ms = 0;
  curl_easy_setopt(s->easy, CURLOPT_URL, calls[call].url);
  mc = curl_multi_add_handle(multi, s->easy);
  if (mc != CURLM_OK) {
    fprintf(stderr, "raw_multi: curl_multi_add_handle: %s\n", curl_multi_strerror(mc));
    exit(1);
  }
}

/* One batch; returns the calls that ended 200 with a body. */
static int batch(const char *base, int n, int inflight, int flaky, int max_retries) {
  int next = 0, done = 0, ok = 0, running = 0, i;
  for (i = 0; i < n; i++) {
    if (flaky) snprintf(calls[i].url, sizeof calls[i].url, "%s/store/payment-collections/paycol_flaky_%03d", base, i + 1);
    else snprintf(calls[i].url, sizeof calls[i].url, "%s/store/payment-collections/" COLLECTION_ID, base);
    calls[i].attempts = 0;
    calls[i].due_ms = 0;
  }
  n_attempts = 0;
  new_connections = 0;
  while (done < n) {
    double now = now_ms(), next_due = 0;
    int wait_ms = 1000, progressed = 0;
    CURLMsg *msg;
    int left;
    CURLMcode mc;
    /* Fill the free slots: calls whose backoff is over first (they are older), then new ones. */
    for (i = 0; i < inflight; i++) {
      int c, pick = -1;
      if (slots[i].call >= 0) continue;
      for (c = 0; c < next && pick < 0; c++)
        if (calls[c].due_ms > 0 && calls[c].due_ms <= now) pick = c;
      if (pick < 0 && next < n) pick = next++;
      if (pick < 0) break;
      start(&slots[i], pick);
    }
    mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) {
      fprintf(stderr, "raw_multi: curl_multi_perform: %s\n", curl_multi_strerror(mc));
      exit(1);
    }
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
      Slot *s;
      long status = 0, connects = 0;
      int c;
      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
      c = s->call;
      if (msg->data.result != CURLE_OK) {
        fprintf(stderr, "raw_multi: %s: %s\n", calls[c].url, curl_easy_strerror(msg->data.result));
        exit(1);
      }
      curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects);
      new_connections += connects;
      if (n_attempts < 4L * MAX_CALLS) attempt_ms[n_attempts++] = now_ms() - s->started_ms;
      curl_multi_remove_handle(multi, s->easy);
      s->call = -1;
      progressed = 1;
      if (retryable(status) && calls[c].attempts <= max_retries) {
        calls[c].due_ms = now_ms() + backoff_ms(calls[c].attempts);
      } else {
        done++;
        if (status == 200 && s->body_bytes > 0) ok++;
      }
    }
    if (progressed) continue;  /* slots were freed: fill them before waiting */
    /* Wait for traffic, or until the next backoff ends when a slot is free for it. */
    for (i = 0; i < next; i++)
      if (calls[i].due_ms > 0 && (next_due == 0 || calls[i].due_ms < next_due)) next_due = calls[i].due_ms;
    if (next_due > 0 && running < inflight) {
      double left_ms = next_due - now_ms();
      wait_ms = left_ms <= 0 ? 0 : (int)left_ms + 1;
      if (wait_ms > 1000) wait_ms = 1000;
    }
    if (wait_ms > 0 || running > 0) {
      mc = curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
      if (mc != CURLM_OK) {
        fprintf(stderr, "raw_multi: curl_multi_poll: %s\n", curl_multi_strerror(mc));
        exit(1);
      }
    }
  }
  return ok;
}

int main(int argc, char **argv) {
  const char *base;
  int inflight, flaky, max_retries, n, ok, i;
  double wall0, user0, sys0, user, sys, wall, median, largest;
  char user_agent[128];
  struct curl_slist *headers = NULL;

  if (argc < 5 || argc > 6 || (strcmp(argv[3], "ok") != 0 && strcmp(argv[3], "flaky") != 0)) {
    fprintf(stderr, "usage: raw_multi BASE_URL INFLIGHT ok|flaky MAX_RETRIES [CALLS]\n");
    return 2;
  }
  base = argv[1];
  inflight = atoi(argv[2]);
  flaky = strcmp(argv[3], "flaky") == 0;
  max_retries = atoi(argv[4]);
  n = argc == 6 ? atoi(argv[5]) : 100;
  if (inflight < 1 || n < 1 || n > MAX_CALLS || max_retries < 0 || max_retries > 10 || strlen(base) > 400) {
    fprintf(stderr, "raw_multi: INFLIGHT >= 1, 1 <= CALLS <= %d, 0 <= MAX_RETRIES <= 10\n", MAX_CALLS);
    return 2;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi = curl_multi_init();
  slots = calloc((size_t)inflight, sizeof *slots);
  calls = calloc((size_t)n, sizeof *calls);
  attempt_ms = calloc(4 * MAX_CALLS, sizeof *attempt_ms);
  if (multi == NULL || slots == NULL || calls == NULL || attempt_ms == NULL) return 1;
  /* Every connection of the batch stays in the pool for the next one. */
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)inflight);
  /* The header set medusa-lua sends for this call (User-Agent of the same length). */
  snprintf(user_agent, sizeof user_agent, "User-Agent: medusa-lua/0.1.0 libcurl/%s",
           curl_version_info(CURLVERSION_NOW)->version);
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, user_agent);
  headers = curl_slist_append(headers, "Expect:");
  for (i = 0; i < inflight; i++) {
    CURL *h = curl_easy_init();
    if (h == NULL) return 1;
    slots[i].easy = h;
    slots[i].call = -1;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &slots[i]);
    curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)&slots[i]);
  }

  if (batch(base, n, inflight, 0, max_retries) != n) {
    fprintf(stderr, "raw_multi: the warm-up batch had calls that did not end 200\n");
    return 1;
  }
  wall0 = now_ms();
  cpu_ms(&user0, &sys0);
  ok = batch(base, n, inflight, flaky, max_retries);
  cpu_ms(&user, &sys);
  wall = now_ms() - wall0;
  qsort(attempt_ms, (size_t)n_attempts, sizeof *attempt_ms, cmp_double);
  median = n_attempts % 2 ? attempt_ms[n_attempts / 2]
                          : (attempt_ms[n_attempts / 2 - 1] + attempt_ms[n_attempts / 2]) / 2;
  largest = attempt_ms[n_attempts - 1];
  for (i = 0; i < inflight; i++) curl_easy_cleanup(slots[i].easy);

  printf("{\"calls\":%d,\"wall_ms\":%.3f,\"user_ms\":%.3f,\"sys_ms\":%.3f,\"ok\":%d,\"attempts\":%ld,"
         "\"rt_ms\":%.3f,\"rt_max_ms\":%.3f,\"new_connections\":%ld}\n",
         n, wall, user - user0, sys - sys0, ok, n_attempts, median, largest, new_connections);
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);
  free(slots);
  free(calls);
  free(attempt_ms);
  curl_global_cleanup();
  return 0;
}
