/* multi.c: many exchanges in flight at once (medusa.multi), for the task scheduler
 * (lua/medusa/tasks.lua). One CURLM per client, so its connection cache is that client's
 * keep-alive pool; a transfer (transfer.c) per request in flight, kept on a free list for
 * the next one. libcurl is driven by curl_multi_socket_action: its sockets are kept in
 * an epoll set whose one descriptor (fd()) a caller polls, the scheduler with poll(2) or
 * an event loop (cqueues, luv) with its own. Callbacks only update C state; Lua reads
 * what finished afterwards (step() -> ids, result(id) -> the response).
 * Also medusa.poller: an epoll set of such descriptors, so one fd stands for many
 * clients' multis. Linux only (epoll), as the packages this project targets. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "transfer.h"

#define MULTI_MT "medusa.multi"
#define POLLER_MT "medusa.poller"
/* Socket events handled per step; more wait for the next one (epoll is level-triggered). */
#define EVENTS_PER_STEP 64

typedef struct {
  CURLM *multi;
  int epfd;                 /* the sockets libcurl asked to watch */
  long long deadline_ms;    /* when libcurl's timer expires (monotonic), -1 when unset */
  medusa_transfer **slots;  /* every transfer made; id = index + 1 */
  int nslots;
  medusa_transfer *free_list;
  int active;               /* added and neither ended nor cancelled */
  medusa_transfer **ended;  /* ended, not yet reported by step(): libcurl can finish a
                               transfer inside add()'s kick, with no socket event left */
  int nended;
  int anchors;              /* registry ref: {[id] = request table}, keeps a body alive */
  int socket_errno;         /* the last epoll_ctl failure inside the socket callback */
} http_multi;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- libcurl callbacks: C state only ---- */

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  http_multi *m = userp;
  struct epoll_event ev;
  (void)easy; (void)socketp;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, s, NULL); /* may be closed already: nothing to undo */
    return 0;
  }
  memset(&ev, 0, sizeof ev);
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
  ev.data.fd = s;
  if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, s, &ev) == 0) return 0;
  if (errno == ENOENT && epoll_ctl(m->epfd, EPOLL_CTL_ADD, s, &ev) == 0) return 0;
  m->socket_errno = errno;
  return -1;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
  http_multi *m = userp;
  (void)multi;
  m->deadline_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  return 0;
}

/* ---- the multi userdata ---- */

static http_multi *check_multi(lua_State *L) {
  http_multi *m = luaL_checkudata(L, 1, MULTI_MT);
  if (m->multi == NULL) luaL_error(L, "medusa: attempt to use a closed client");
  return m;
}

static void multi_close(lua_State *L, http_multi *m) {
  int i;
  if (m->multi != NULL) {
    for (i = 0; i < m->nslots; i++) {
      medusa_transfer *t = m->slots[i];
      if (t->id != 0 && !t->done) curl_multi_remove_handle(m->multi, t->curl);
    }
    curl_multi_cleanup(m->multi); /* closes the pooled connections (socket callback: epfd still open) */
    m->multi = NULL;
  }
  for (i = 0; i < m->nslots; i++) {
    medusa_transfer_close(m->slots[i]);
    free(m->slots[i]);
  }
  free(m->slots);
  m->slots = NULL;
  free(m->ended);
  m->ended = NULL;
  m->nended = 0;
  m->nslots = 0;
  m->free_list = NULL;
  m->active = 0;
  if (m->epfd >= 0) {
    close(m->epfd);
    m->epfd = -1;
  }
  if (m->anchors != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, m->anchors);
    m->anchors = LUA_NOREF;
  }
}

/* core.multi_new(max_connects) -> multi. max_connects: connections kept alive for reuse. */
static int l_multi_new(lua_State *L) {
  long max_connects = (long)luaL_optinteger(L, 1, 20);
  http_multi *m = compat_newuserdata(L, sizeof *m);
  int ok;
  memset(m, 0, sizeof *m);
  m->epfd = -1;
  m->deadline_ms = -1;
  m->anchors = LUA_NOREF;
  luaL_getmetatable(L, MULTI_MT);
  lua_setmetatable(L, -2);
  m->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (m->epfd < 0) return luaL_error(L, "medusa: epoll_create1 failed: %s", strerror(errno));
  m->multi = curl_multi_init();
  if (m->multi == NULL) return luaL_error(L, "medusa: curl_multi_init failed");
  ok = curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket) == CURLM_OK
    && curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m) == CURLM_OK
    && curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer) == CURLM_OK
    && curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m) == CURLM_OK
    && curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, max_connects > 0 ? max_connects : 1L) == CURLM_OK;
  if (!ok) return luaL_error(L, "medusa: this libcurl refuses a multi option the client needs");
  lua_newtable(L);
  m->anchors = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

/* close(), __gc and __close: in-flight transfers are abandoned. */
static int l_multi_close(lua_State *L) {
  multi_close(L, luaL_checkudata(L, 1, MULTI_MT));
  return 0;
}

static int l_multi_tostring(lua_State *L) {
  http_multi *m = luaL_checkudata(L, 1, MULTI_MT);
  if (m->multi == NULL) lua_pushfstring(L, "medusa.multi: %p (closed)", (void *)m);
  else lua_pushfstring(L, "medusa.multi: %p (%d in flight)", (void *)m, m->active);
  return 1;
}

/* The free transfer add() will use, made when there is none; NULL when out of memory.
 * It stays on the free list until it is added, so a raise meanwhile loses nothing. */
static medusa_transfer *spare_transfer(http_multi *m) {
  medusa_transfer *t, **slots;
  if (m->free_list != NULL) return m->free_list;
  slots = realloc(m->slots, sizeof *slots * (size_t)(m->nslots + 1));
  if (slots == NULL) return NULL;
  m->slots = slots;
  slots = realloc(m->ended, sizeof *slots * (size_t)(m->nslots + 1));
  if (slots == NULL) return NULL;
  m->ended = slots;
  t = malloc(sizeof *t);
  if (t == NULL) return NULL;
  if (!medusa_transfer_open(t)) {
    free(t);
    return NULL;
  }
  m->slots[m->nslots++] = t;
  t->next = NULL;
  m->free_list = t;
  return t;
}

static int slot_of(http_multi *m, medusa_transfer *t) {
  int i;
  for (i = 0; i < m->nslots; i++)
    if (m->slots[i] == t) return i + 1;
  return 0;
}

static void set_anchor(lua_State *L, http_multi *m, int id, int value) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->anchors);
  if (value) lua_pushvalue(L, value); else lua_pushnil(L);
  lua_rawseti(L, -2, id);
  lua_pop(L, 1);
}

static void release(lua_State *L, http_multi *m, medusa_transfer *t) {
  set_anchor(L, m, t->id, 0);
  t->id = 0;
  t->done = 0;
  t->next = m->free_list;
  m->free_list = t;
}

static void harvest(http_multi *m);

/* multi:add(request) -> id | nil, failure. request: as client:perform takes it. */
static int l_multi_add(lua_State *L) {
  http_multi *m = check_multi(L);
  medusa_request r;
  medusa_transfer *t;
  int failed;
  CURLMcode mc;
  medusa_read_request(L, &r);
  t = spare_transfer(m);
  if (t == NULL) {
    lua_pushnil(L);
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "local");
    lua_setfield(L, -2, "type");
    lua_pushliteral(L, "CURLE_OUT_OF_MEMORY");
    lua_setfield(L, -2, "code");
    lua_pushliteral(L, "making a transfer: out of memory");
    lua_setfield(L, -2, "message");
    return 2;
  }
  failed = medusa_transfer_prepare(L, t, &r);
  if (failed) return failed;
  mc = curl_multi_add_handle(m->multi, t->curl);
  if (mc != CURLM_OK) return luaL_error(L, "medusa: curl_multi_add_handle: %s", curl_multi_strerror(mc));
  m->free_list = t->next;
  t->next = NULL;
  t->id = slot_of(m, t);
  t->done = 0;
  m->active++;
  set_anchor(L, m, t->id, 2);
  /* Started here rather than at the next step(): adding asks for libcurl's timer at once,
   * and honouring it now sends this request (on a pooled connection) or starts its
   * connect while the caller prepares the next ones, instead of after all of them. */
  if (m->deadline_ms >= 0 && now_ms() >= m->deadline_ms) {
    int running;
    m->deadline_ms = -1;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    harvest(m); /* what the kick finished (this transfer or another) waits for step() */
  }
  lua_pushinteger(L, t->id);
  return 1;
}

static medusa_transfer *check_id(lua_State *L, http_multi *m) {
  lua_Integer id = luaL_checkinteger(L, 2);
  if (id < 1 || id > m->nslots || m->slots[id - 1]->id == 0)
    luaL_error(L, "medusa.multi: no transfer %d in flight", (int)id);
  return m->slots[id - 1];
}

/* Moves what libcurl finished into the transfers and the ended list. */
static void harvest(http_multi *m) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
    medusa_transfer *t = NULL;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    t->done = 1;
    t->result = msg->data.result;
    curl_multi_remove_handle(m->multi, t->curl);
    m->active--;
    m->ended[m->nended++] = t;
  }
}

/* Pushes the ids of the ended list (a list) and empties it, or pushes nothing. */
static int report_ended(lua_State *L, http_multi *m) {
  int i;
  if (m->nended == 0) return 0;
  lua_createtable(L, m->nended, 0);
  for (i = 0; i < m->nended; i++) {
    lua_pushinteger(L, m->ended[i]->id);
    lua_rawseti(L, -2, i + 1);
  }
  m->nended = 0;
  return 1;
}

/* multi:step() -> {id, ...} | nil: does what is due without waiting (ready sockets,
 * libcurl's timer) and returns the transfers that ended. */
static int l_multi_step(lua_State *L) {
  http_multi *m = check_multi(L);
  struct epoll_event ev[EVENTS_PER_STEP];
  int n, i, running;
  n = epoll_wait(m->epfd, ev, EVENTS_PER_STEP, 0);
  for (i = 0; i < n; i++) {
    int mask = ((ev[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((ev[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
             | ((ev[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
    curl_multi_socket_action(m->multi, ev[i].data.fd, mask, &running);
  }
  if (m->deadline_ms >= 0 && now_ms() >= m->deadline_ms) {
    m->deadline_ms = -1; /* the action may set a new one */
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  harvest(m);
  return report_ended(L, m);
}

/* multi:result(id, header_rules?) -> response | nil, failure, as client:perform returns
 * them, for a transfer step() reported; the id is free afterwards. */
static int l_multi_result(lua_State *L) {
  http_multi *m = check_multi(L);
  medusa_transfer *t = check_id(L, m);
  int rules = lua_istable(L, 3) ? 3 : 0, n;
  if (!t->done) return luaL_error(L, "medusa.multi: transfer %d has not ended", t->id);
  n = medusa_transfer_finish(L, t, t->result, rules);
  release(L, m, t);
  return n;
}

/* multi:cancel(id): abandons a transfer (its connection is closed, not reused). */
static int l_multi_cancel(lua_State *L) {
  http_multi *m = check_multi(L);
  medusa_transfer *t = check_id(L, m);
  if (!t->done) {
    curl_multi_remove_handle(m->multi, t->curl);
    m->active--;
  } else {
    int i, k = 0; /* ended but not reported yet: step() must not report it */
    for (i = 0; i < m->nended; i++)
      if (m->ended[i] != t) m->ended[k++] = m->ended[i];
    m->nended = k;
  }
  medusa_transfer_trim(t);
  release(L, m, t);
  return 0;
}

/* multi:timeout() -> ms until step() has work without any socket event, -1 for never;
 * 0 while transfers that ended without a socket event (inside add) wait to be reported. */
static int l_multi_timeout(lua_State *L) {
  http_multi *m = check_multi(L);
  long long left;
  if (m->nended > 0) { /* step() has ended transfers to report now */
    lua_pushinteger(L, 0);
    return 1;
  }
  if (m->deadline_ms < 0) {
    lua_pushinteger(L, -1);
    return 1;
  }
  left = m->deadline_ms - now_ms();
  lua_pushinteger(L, (lua_Integer)(left > 0 ? left : 0));
  return 1;
}

static int l_multi_fd(lua_State *L) {
  lua_pushinteger(L, check_multi(L)->epfd);
  return 1;
}

/* multi:active() -> transfers in flight; the socket callback's last errno (0 for none). */
static int l_multi_active(lua_State *L) {
  http_multi *m = check_multi(L);
  lua_pushinteger(L, m->active);
  lua_pushinteger(L, m->socket_errno);
  return 2;
}

/* ---- the poller: one descriptor for several multis ---- */

typedef struct {
  int epfd;
  int evfd;     /* in the set: readable after wake(), until drain() */
  int woken;
} poller;

static poller *check_poller(lua_State *L) {
  poller *p = luaL_checkudata(L, 1, POLLER_MT);
  if (p->epfd < 0) luaL_error(L, "medusa: attempt to use a closed poller");
  return p;
}

static int l_poller_new(lua_State *L) {
  poller *p = compat_newuserdata(L, sizeof *p);
  struct epoll_event ev;
  p->epfd = p->evfd = -1;
  p->woken = 0;
  luaL_getmetatable(L, POLLER_MT);
  lua_setmetatable(L, -2);
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0) return luaL_error(L, "medusa: epoll_create1 failed: %s", strerror(errno));
  p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->evfd < 0) return luaL_error(L, "medusa: eventfd failed: %s", strerror(errno));
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = p->evfd;
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &ev) != 0) return luaL_error(L, "medusa: epoll_ctl: %s", strerror(errno));
  return 1;
}

static int l_poller_close(lua_State *L) {
  poller *p = luaL_checkudata(L, 1, POLLER_MT);
  if (p->epfd >= 0) close(p->epfd);
  if (p->evfd >= 0) close(p->evfd);
  p->epfd = p->evfd = -1;
  return 0;
}

/* poller:wake(): makes fd() readable now, so an event loop waiting on it alone comes back
 * to step() (work was added outside step: a spawn, a cancel). Once until drain(). */
static int l_poller_wake(lua_State *L) {
  poller *p = check_poller(L);
  if (!p->woken) {
    uint64_t one = 1;
    if (write(p->evfd, &one, sizeof one) == (ssize_t)sizeof one) p->woken = 1;
  }
  return 0;
}

/* poller:drain(): takes back a wake(). */
static int l_poller_drain(lua_State *L) {
  poller *p = check_poller(L);
  if (p->woken) {
    uint64_t n;
    if (read(p->evfd, &n, sizeof n) < 0 && errno != EAGAIN) return luaL_error(L, "medusa: eventfd read: %s", strerror(errno));
    p->woken = 0;
  }
  return 0;
}

/* poller:add(fd) / poller:remove(fd): watch a descriptor for reading (a multi's fd()). */
static int l_poller_add(lua_State *L) {
  poller *p = check_poller(L);
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = (int)luaL_checkinteger(L, 2);
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) != 0 && errno != EEXIST)
    return luaL_error(L, "medusa: epoll_ctl: %s", strerror(errno));
  return 0;
}

static int l_poller_remove(lua_State *L) {
  poller *p = check_poller(L);
  epoll_ctl(p->epfd, EPOLL_CTL_DEL, (int)luaL_checkinteger(L, 2), NULL);
  return 0;
}

static int l_poller_fd(lua_State *L) {
  lua_pushinteger(L, check_poller(L)->epfd);
  return 1;
}

/* poller:wait(ms) -> true when a descriptor is ready, false on timeout. ms < 0: no limit.
 * Blocks: the scheduler calls it only when nothing else can run. */
static int l_poller_wait(lua_State *L) {
  poller *p = check_poller(L);
  struct pollfd pfd;
  lua_Integer ms = luaL_checkinteger(L, 2);
  int rc;
  pfd.fd = p->epfd;
  pfd.events = POLLIN;
  pfd.revents = 0;
  do rc = poll(&pfd, 1, ms < 0 ? -1 : (ms > 2147483647 ? 2147483647 : (int)ms));
  while (rc < 0 && errno == EINTR);
  lua_pushboolean(L, rc > 0);
  return 1;
}

static void register_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close_fn,
                          lua_CFunction tostring_fn) {
  if (luaL_newmetatable(L, name)) {
    lua_newtable(L);
    compat_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, close_fn);
    lua_setfield(L, -2, "__gc");
#if COMPAT_HAS_CLOSE
    lua_pushcfunction(L, close_fn);
    lua_setfield(L, -2, "__close");
#endif
    if (tostring_fn != NULL) {
      lua_pushcfunction(L, tostring_fn);
      lua_setfield(L, -2, "__tostring");
    }
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
}

static const luaL_Reg multi_methods[] = {
  {"add", l_multi_add},
  {"step", l_multi_step},
  {"result", l_multi_result},
  {"cancel", l_multi_cancel},
  {"timeout", l_multi_timeout},
  {"fd", l_multi_fd},
  {"active", l_multi_active},
  {"close", l_multi_close},
  {NULL, NULL}
};

static const luaL_Reg poller_methods[] = {
  {"add", l_poller_add},
  {"remove", l_poller_remove},
  {"fd", l_poller_fd},
  {"wait", l_poller_wait},
  {"wake", l_poller_wake},
  {"drain", l_poller_drain},
  {"close", l_poller_close},
  {NULL, NULL}
};

void medusa_open_multi(lua_State *L) {
  register_type(L, MULTI_MT, multi_methods, l_multi_close, l_multi_tostring);
  register_type(L, POLLER_MT, poller_methods, l_poller_close, NULL);
  lua_pushcfunction(L, l_multi_new);
  lua_setfield(L, -2, "multi_new");
  lua_pushcfunction(L, l_poller_new);
  lua_setfield(L, -2, "poller_new");
}
