#pragma once

// The tinylru blob descriptor cache of the example plugins: one bounded LRU
// map in the process for the global scope and every repository's. Configured
// as
//
//   storage:
//     cache:
//       blobdescriptor: tinylru
//       blobdescriptorsize: 10000   # optional: entries kept at most
//
// In a header so that the plugin (TinyLruCache.cpp) and its tests build the
// same code.
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include <Poco/JSON/Object.h>

#include <pier/blob_descriptor_cache.hpp>
#include <pier/config.hpp>

namespace pier_example {

class LruMap {
public:
  explicit LruMap(std::size_t capacity) : capacity_(capacity) {}

  std::optional<pier::Descriptor> get(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto found = index_.find(key);
    if (found == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, found->second); // most recently used first
    return found->second->second;
  }

  void put(const std::string& key, const pier::Descriptor& descriptor) {
    std::lock_guard lock(mutex_);
    if (auto found = index_.find(key); found != index_.end()) {
      found->second->second = descriptor;
      order_.splice(order_.begin(), order_, found->second);
      return;
    }
    order_.emplace_front(key, descriptor);
    index_.emplace(key, order_.begin());
    if (index_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  void erase(const std::string& key) {
    std::lock_guard lock(mutex_);
    if (auto found = index_.find(key); found != index_.end()) {
      order_.erase(found->second);
      index_.erase(found);
    }
  }

private:
  using Entries = std::list<std::pair<std::string, pier::Descriptor>>;
  std::mutex mutex_;
  const std::size_t capacity_;
  Entries order_;
  std::unordered_map<std::string, Entries::iterator> index_;
};

// The global scope (prefix "") and every repository scope ("<scope>@") share
// one map and one bound; a scope is the same class with another prefix.
class TinyLruCache final : public pier::BlobDescriptorCache {
public:
  TinyLruCache(std::shared_ptr<LruMap> map, std::string prefix)
      : map_(std::move(map)), prefix_(std::move(prefix)) {}

  std::optional<pier::Descriptor> stat(const pier::Context&, const std::string& digest) override {
    pier::checkCacheDigest(digest);
    return map_->get(prefix_ + digest);
  }
  void setDescriptor(const pier::Context&, const std::string& digest,
                     const pier::Descriptor& descriptor) override {
    pier::checkCacheDescriptor(digest, descriptor);
    map_->put(prefix_ + digest, descriptor);
  }
  void clear(const pier::Context&, const std::string& digest) override {
    pier::checkCacheDigest(digest);
    map_->erase(prefix_ + digest);
  }
  // Called for every operation: no I/O, one small allocation.
  std::shared_ptr<pier::BlobDescriptorService> repositoryScoped(const std::string& repository) override {
    pier::checkCacheScope(repository);
    return std::make_shared<TinyLruCache>(map_, repository + "@");
  }

private:
  std::shared_ptr<LruMap> map_;
  std::string prefix_;
};

// The factory: storage.cache's other keys, or ConfigError naming the key.
inline std::shared_ptr<pier::BlobDescriptorCache> makeTinyLruCache(const Poco::JSON::Object& parameters) {
  for (const auto& [key, value] : parameters)
    if (key != "blobdescriptorsize")
      throw pier::ConfigError("storage.cache." + key + ": unknown parameter of the tinylru cache");
  std::int64_t size = pier::config::getInt(parameters, "blobdescriptorsize", "storage.cache", 10000);
  if (size <= 0)
    throw pier::ConfigError("storage.cache.blobdescriptorsize: must be a positive number of entries");
  return std::make_shared<TinyLruCache>(std::make_shared<LruMap>(static_cast<std::size_t>(size)), "");
}

} // namespace pier_example
