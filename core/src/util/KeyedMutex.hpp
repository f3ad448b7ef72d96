#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace pier {

// One lock per key, made when first wanted and dropped when no one holds or
// waits for it: work on one key (an upload id) never waits for another's.
class KeyedMutex {
public:
  class Guard {
  public:
    Guard(KeyedMutex& owner, std::string key) : owner_(owner), key_(std::move(key)) { owner_.acquire(key_); }
    // Takes over a lock already acquired.
    Guard(KeyedMutex& owner, std::string key, std::adopt_lock_t) : owner_(owner), key_(std::move(key)) {}
    ~Guard() { owner_.release(key_); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

  private:
    KeyedMutex& owner_;
    std::string key_;
  };

  Guard lock(std::string key) { return Guard(*this, std::move(key)); }
  // The lock when it comes free within `wait`; null otherwise.
  std::unique_ptr<Guard> tryLockFor(const std::string& key, std::chrono::milliseconds wait);

private:
  struct Entry {
    bool held = false;
    int waiters = 0;
  };
  void acquire(const std::string& key);
  bool acquireFor(const std::string& key, std::chrono::milliseconds wait);
  void release(const std::string& key);

  std::mutex mutex_;
  std::condition_variable released_;
  std::unordered_map<std::string, Entry> entries_;
};

} // namespace pier
