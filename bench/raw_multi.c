/* raw_multi.c: the practical limit of the `concurrent` group: a batch of CALLS GETs of
 * /store/payment-collections/<id> through one libcurl multi handle, at most INFLIGHT
 * transfers at once, INFLIGHT easy handles reused (their connections stay in the multi
 * handle's pool), the same request bytes as raw_curl.c and medusa-lua (header set, User-Agent
 * of the same length), each response body counted and discarded.
 *
 *   raw_multi BASE_URL INFLIGHT ok|flaky MAX_RETRIES BATCHES [CALLS]
 *
 * ok: every call asks for the recorded collection. flaky: call i of timed batch b asks for
 * paycol_flaky_<b>_<i> (bench/nginx/delayed.conf answers each such id 503 once, then 200; an
 * id of its own per batch, so every batch meets the 503s). An attempt answered
 * 501..599 or 409 (medusa-lua's retryable statuses; no Retry-After is sent) is sent again,
 * at most MAX_RETRIES times, after medusa-lua's backoff without Retry-After: 500 ms before
 * retry 1, 1500 ms before retry 2, ... A call waiting out its backoff holds no transfer slot:
 * INFLIGHT bounds transfers, and a timer in the loop re-adds the call when it is due.
 *
 * One untimed batch of ok calls first (connections opened, caches warm), then BATCHES timed
 * batches. Prints one JSON line, times in ms: wall_ms the median batch's wall (wall_min_ms,
 * wall_max_ms and walls_ms for the record), user_ms and sys_ms the CPU per batch (getrusage
 * over the timed batches / BATCHES, user and sys apart); over all timed batches: the calls
 * that ended 200 (ok), the attempts made, the median and largest wall time of one attempt
 * (added to done), and the connections they had to open (0 when the warm-up's pool carried
 * them). Exits 1 on a transfer error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <curl/curl.h>

#define COLLECTION_ID "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
#define MAX_CALLS 10000
#define MAX_BATCHES 100

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
static long n_attempts, max_attempts, new_connections;

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

/* One batch (flaky: of the ids of batch number b); returns the calls that ended 200 with a
 * body. Adds to n_attempts, attempt_ms and new_connections. */
static int batch(const char *base, int n, int inflight, int flaky, int b, int max_retries) {
  int next = 0, done = 0, ok = 0, running = 0, i;
  for (i = 0; i < n; i++) {
    if (flaky)
      snprintf(calls[i].url, sizeof calls[i].url, "%s/store/payment-collections/paycol_flaky_%d_%03d", base, b, i + 1);
    else snprintf(calls[i].url, sizeof calls[i].url, "%s/store/payment-collections/" COLLECTION_ID, base);
    calls[i].attempts = 0;
    calls[i].due_ms = 0;
  }
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
      if (n_attempts < max_attempts) attempt_ms[n_attempts++] = now_ms() - s->started_ms;
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
  int inflight, flaky, max_retries, batches, n, ok = 0, b, i;
  double wall0, user0, sys0, user, sys, median, largest, walls[MAX_BATCHES], sorted[MAX_BATCHES];
  char user_agent[128];
  struct curl_slist *headers = NULL;

  if (argc < 6 || argc > 7 || (strcmp(argv[3], "ok") != 0 && strcmp(argv[3], "flaky") != 0)) {
    fprintf(stderr, "usage: raw_multi BASE_URL INFLIGHT ok|flaky MAX_RETRIES BATCHES [CALLS]\n");
    return 2;
  }
  base = argv[1];
  inflight = atoi(argv[2]);
  flaky = strcmp(argv[3], "flaky") == 0;
  max_retries = atoi(argv[4]);
  batches = atoi(argv[5]);
  n = argc == 7 ? atoi(argv[6]) : 100;
  if (inflight < 1 || n < 1 || n > MAX_CALLS || max_retries < 0 || max_retries > 10 || batches < 1
      || batches > MAX_BATCHES || strlen(base) > 400) {
    fprintf(stderr, "raw_multi: INFLIGHT >= 1, 1 <= CALLS <= %d, 0 <= MAX_RETRIES <= 10, 1 <= BATCHES <= %d\n",
            MAX_CALLS, MAX_BATCHES);
    return 2;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi = curl_multi_init();
  slots = calloc((size_t)inflight, sizeof *slots);
  calls = calloc((size_t)n, sizeof *calls);
  max_attempts = (long)(max_retries + 1) * n * batches;  /* at most, over the timed batches */
  attempt_ms = calloc((size_t)max_attempts, sizeof *attempt_ms);
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

  if (batch(base, n, inflight, 0, 0, max_retries) != n) {
    fprintf(stderr, "raw_multi: the warm-up batch had calls that did not end 200\n");
    return 1;
  }
  n_attempts = 0;
  new_connections = 0;
  user = sys = 0;
  for (b = 0; b < batches; b++) {
    double u, s;
    cpu_ms(&user0, &sys0);
    wall0 = now_ms();
    ok += batch(base, n, inflight, flaky, b + 1, max_retries);
    walls[b] = now_ms() - wall0;
    cpu_ms(&u, &s);
    user += u - user0;
    sys += s - sys0;
  }
  memcpy(sorted, walls, (size_t)batches * sizeof *walls);
  qsort(sorted, (size_t)batches, sizeof *sorted, cmp_double);
  qsort(attempt_ms, (size_t)n_attempts, sizeof *attempt_ms, cmp_double);
  median = n_attempts % 2 ? attempt_ms[n_attempts / 2]
                          : (attempt_ms[n_attempts / 2 - 1] + attempt_ms[n_attempts / 2]) / 2;
  largest = attempt_ms[n_attempts - 1];
  for (i = 0; i < inflight; i++) curl_easy_cleanup(slots[i].easy);

  printf("{\"calls\":%d,\"batches\":%d,\"wall_ms\":%.3f,\"wall_min_ms\":%.3f,\"wall_max_ms\":%.3f,\"walls_ms\":[",
         n, batches, batches % 2 ? sorted[batches / 2] : (sorted[batches / 2 - 1] + sorted[batches / 2]) / 2,
         sorted[0], sorted[batches - 1]);
  for (b = 0; b < batches; b++) printf("%s%.3f", b ? "," : "", walls[b]);
  printf("],\"user_ms\":%.3f,\"sys_ms\":%.3f,\"ok\":%d,\"attempts\":%ld,"
         "\"rt_ms\":%.3f,\"rt_max_ms\":%.3f,\"new_connections\":%ld}\n",
         user / batches, sys / batches, ok, n_attempts, median, largest, new_connections);
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);
  free(slots);
  free(calls);
  free(attempt_ms);
  curl_global_cleanup();
  return 0;
}
