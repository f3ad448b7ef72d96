#include "util/KeyedMutex.hpp"

namespace pier {

void KeyedMutex::acquire(const std::string& key) {
  std::unique_lock guard(mutex_);
  Entry& entry = entries_[key];
  ++entry.waiters;
  released_.wait(guard, [&] { return !entry.held; });
  --entry.waiters;
  entry.held = true;
}

void KeyedMutex::release(const std::string& key) {
  {
    std::lock_guard guard(mutex_);
    auto found = entries_.find(key);
    found->second.held = false;
    if (found->second.waiters == 0) entries_.erase(found);
  }
  released_.notify_all();
}

} // namespace pier
