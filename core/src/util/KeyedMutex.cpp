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

bool KeyedMutex::acquireFor(const std::string& key, std::chrono::milliseconds wait) {
  std::unique_lock guard(mutex_);
  Entry& entry = entries_[key];
  ++entry.waiters;
  bool free = released_.wait_for(guard, wait, [&] { return !entry.held; });
  --entry.waiters;
  if (free) entry.held = true; // else someone holds it, and its release drops the entry
  return free;
}

std::unique_ptr<KeyedMutex::Guard> KeyedMutex::tryLockFor(const std::string& key,
                                                          std::chrono::milliseconds wait) {
  if (!acquireFor(key, wait)) return nullptr;
  return std::make_unique<Guard>(*this, key, std::adopt_lock);
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
