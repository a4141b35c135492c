/* children_env.c: preloaded after libasan into the one process `make check-asan` checks
 * (busted). LeakSanitizer runs at exit in every process the runtime is loaded into, and
 * the specs start programs that keep memory until exit on purpose (python3, gcc under
 * luarocks, tmux). So the checked process keeps its own ASAN_OPTIONS, already parsed by
 * the runtime when this constructor runs, and hands its descendants the same options with
 * leak detection off: they are still checked for memory errors, just not for leaks.
 *
 * It also makes dlclose a no-op in these processes. When lua_close unloads medusa.core,
 * libcurl's dependencies that use thread-local storage can go with it, and GCC 12's
 * LeakSanitizer then walks a stale dynamic-TLS entry at exit and crashes ("Tracer caught
 * signal 11", "DTLS 5 at 0x000000000880"): a fatal error that says nothing about our code
 * and fails the run. Whether it happens depends on the order finalizers run in, so it
 * came and went with unrelated Lua changes. Never unloading is the usual sanitizer
 * practice (leak stacks keep their symbols too) and hides no leak: memory is still
 * checked, only library code stays mapped. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

int dlclose(void *handle);

__attribute__((constructor)) static void hand_children_their_options(void) {
  const char *child_options = getenv("MEDUSA_ASAN_CHILD_OPTIONS");
  if (child_options == NULL) return; /* a descendant: the options are already its own */
  setenv("ASAN_OPTIONS", child_options, 1);
  unsetenv("MEDUSA_ASAN_CHILD_OPTIONS");
}

/* See the header: libraries stay loaded until exit. */
int dlclose(void *handle) {
  (void)handle;
  return 0;
}
