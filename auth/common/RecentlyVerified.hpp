#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pier::auth {

// Secrets an access controller verified recently (a password bcrypt checked,
// a token whose signature verified), so that the 50 requests of one pull cost
// one verification, not 50. Holds no secret: an entry's key is a name in the
// clear and a SHA-256 of a random salt (made per instance) and the secret.
// At most `capacity` entries, each for `lifetime`; when full, the oldest
// goes. Thread safe.
class RecentlyVerified {
public:
  using Clock = std::chrono::steady_clock;

  RecentlyVerified(std::size_t capacity, Clock::duration lifetime);

  // name must hold no NUL (it ends the name in the key).
  std::string keyFor(std::string_view name, std::string_view secret) const;
  bool contains(const std::string& key, Clock::time_point now);
  void remember(const std::string& key, Clock::time_point now);
  std::size_t size() const;

private:
  struct Entry {
    Clock::time_point expires;
    std::list<std::string>::iterator age;
  };

  std::size_t capacity_;
  Clock::duration lifetime_;
  std::array<unsigned char, 32> salt_{};
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> oldestFirst_; // every entry's key, by the time it was remembered
};

} // namespace pier::auth
