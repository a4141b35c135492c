/* children_env.c: preloaded after libasan into the one process `make check-asan` checks
 * (busted). LeakSanitizer runs at exit in every process the runtime is loaded into, and
 * the specs start programs that keep memory until exit on purpose (python3, gcc under
 * luarocks, tmux). So the checked process keeps its own ASAN_OPTIONS, already parsed by
 * the runtime when this constructor runs, and hands its descendants the same options with
 * leak detection off: they are still checked for memory errors, just not for leaks. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

__attribute__((constructor)) static void hand_children_their_options(void) {
  const char *child_options = getenv("MEDUSA_ASAN_CHILD_OPTIONS");
  if (child_options == NULL) return; /* a descendant: the options are already its own */
  setenv("ASAN_OPTIONS", child_options, 1);
  unsetenv("MEDUSA_ASAN_CHILD_OPTIONS");
}
