#include "RecentlyVerified.hpp"

#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace pier::auth {

RecentlyVerified::RecentlyVerified(std::size_t capacity, Clock::duration lifetime)
    : capacity_(capacity), lifetime_(lifetime) {
  if (RAND_bytes(salt_.data(), static_cast<int>(salt_.size())) != 1)
    throw std::runtime_error("no random bytes for the verification cache's salt");
}

std::string RecentlyVerified::keyFor(std::string_view name, std::string_view secret) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), salt_.data(), salt_.size()) != 1 ||
      EVP_DigestUpdate(context.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest, &length) != 1)
    throw std::runtime_error("SHA-256 failed");
  std::string key(name);
  key.push_back('\0');
  key.append(reinterpret_cast<const char*>(digest), length);
  return key;
}

bool RecentlyVerified::contains(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto entry = entries_.find(key);
  if (entry == entries_.end()) return false;
  if (now < entry->second.expires) return true;
  oldestFirst_.erase(entry->second.age);
  entries_.erase(entry);
  return false;
}

void RecentlyVerified::remember(const std::string& key, Clock::time_point now) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  if (auto entry = entries_.find(key); entry != entries_.end()) {
    oldestFirst_.erase(entry->second.age);
    entries_.erase(entry);
  }
  // Every entry lives as long, so the oldest are the first to expire (or to make room).
  while (!oldestFirst_.empty() &&
         (entries_.size() >= capacity_ || entries_.at(oldestFirst_.front()).expires <= now)) {
    entries_.erase(oldestFirst_.front());
    oldestFirst_.pop_front();
  }
  oldestFirst_.push_back(key);
  entries_.emplace(key, Entry{now + lifetime_, std::prev(oldestFirst_.end())});
}

std::size_t RecentlyVerified::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

} // namespace pier::auth
