#pragma once

// Tells ThreadSanitizer about a handoff it cannot see. A connection passes
// from one worker to the next through epoll (EPOLL_CTL_MOD re-arms it, the next
// epoll_wait delivers it), and TSan orders only EPOLL_CTL_ADD with the wait: a
// release before re-arming and an acquire after the wait say what epoll
// guarantees. Without TSan both are nothing.
#if defined(__SANITIZE_THREAD__)
#define PIER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PIER_TSAN 1
#endif
#endif

#ifdef PIER_TSAN
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace pier::util {

inline void handOff(void* object) {
#ifdef PIER_TSAN
  __tsan_release(object);
#else
  (void)object;
#endif
}

inline void takeOver(void* object) {
#ifdef PIER_TSAN
  __tsan_acquire(object);
#else
  (void)object;
#endif
}

} // namespace pier::util
