#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pier::htpasswd {

// Credentials bcrypt verified recently, so that the 50 requests of one pull
// cost one verification, not 50. Holds no password: an entry's key is the
// user and a SHA-256 of a random salt (made per instance) and the password.
// At most `capacity` entries, each for `lifetime`; when full, the oldest
// goes. Thread safe.
class VerifiedCredentials {
public:
  using Clock = std::chrono::steady_clock;

  VerifiedCredentials(std::size_t capacity, Clock::duration lifetime);

  std::string keyFor(std::string_view user, std::string_view password) const;
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

} // namespace pier::htpasswd
