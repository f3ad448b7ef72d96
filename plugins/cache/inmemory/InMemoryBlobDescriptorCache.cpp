// The "inmemory" blob descriptor cache: a bounded LRU map of descriptors,
// split into shards with a lock each so that concurrent requests rarely wait
// on one another. The bound and the order of eviction are global: every entry
// carries the tick of its last use, each shard keeps its entries in that
// order, and an insert beyond the bound evicts the oldest of the shards'
// least recently used entries. So the cache holds exactly blobdescriptorsize
// entries, however the keys fall into shards.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include <pier/config.hpp>
#include <pier/plugin.hpp>

namespace {

class BoundedLruMap {
public:
  explicit BoundedLruMap(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}

  std::optional<pier::Descriptor> get(const std::string& key) {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    auto found = shard.index.find(key);
    if (found == shard.index.end()) return std::nullopt;
    touch(shard, found->second);
    return found->second->descriptor;
  }

  void put(const std::string& key, const pier::Descriptor& descriptor) {
    {
      Shard& shard = shardOf(key);
      std::lock_guard lock(shard.mutex);
      auto found = shard.index.find(key);
      if (found != shard.index.end()) {
        found->second->descriptor = descriptor;
        touch(shard, found->second);
        return;
      }
      shard.order.push_front(Entry{key, descriptor, nextTick()});
      shard.index.emplace(key, shard.order.begin());
      size_.fetch_add(1);
    }
    evictBeyondCapacity();
  }

  void erase(const std::string& key) {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    auto found = shard.index.find(key);
    if (found == shard.index.end()) return;
    shard.order.erase(found->second);
    shard.index.erase(found);
    size_.fetch_sub(1);
  }

private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    std::string key;
    pier::Descriptor descriptor;
    std::uint64_t tick; // when last used
  };
  using Entries = std::list<Entry>;
  // Most recently used first: ticks are taken under the shard's lock, so they
  // decrease along the list and the back is the shard's least recently used.
  struct alignas(64) Shard {
    std::mutex mutex;
    Entries order;
    std::unordered_map<std::string, Entries::iterator> index;
  };

  std::uint64_t nextTick() { return clock_.fetch_add(1, std::memory_order_relaxed); }

  void touch(Shard& shard, Entries::iterator entry) {
    entry->tick = nextTick();
    shard.order.splice(shard.order.begin(), shard.order, entry);
  }

  Shard& shardOf(const std::string& key) { return shards_[std::hash<std::string>{}(key) % kShards]; }

  // Evicts globally least recently used entries until the map is within its
  // bound. One shard lock at a time, so no order of locks to get wrong.
  void evictBeyondCapacity() {
    // Each round evicts one entry or finds the map empty; concurrent inserts
    // evict for themselves, so a few rounds always suffice.
    for (std::size_t round = 0; round < 4 * kShards && size_.load() > capacity_; ++round) {
      Shard* oldest = nullptr;
      std::uint64_t oldestTick = std::numeric_limits<std::uint64_t>::max();
      for (Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        if (!shard.order.empty() && shard.order.back().tick < oldestTick) {
          oldest = &shard;
          oldestTick = shard.order.back().tick;
        }
      }
      if (!oldest) return;
      std::lock_guard lock(oldest->mutex);
      // Used meanwhile: look again, unless we have looked often enough.
      if (oldest->order.empty() || (oldest->order.back().tick != oldestTick && round + 1 < 2 * kShards))
        continue;
      oldest->index.erase(oldest->order.back().key);
      oldest->order.pop_back();
      size_.fetch_sub(1);
    }
  }

  const std::size_t capacity_;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::uint64_t> clock_{0};
  std::array<Shard, kShards> shards_;
};

// One scope: the global one (prefix "") or one repository's ("<name>@").
class ScopedService final : public pier::BlobDescriptorService {
public:
  ScopedService(std::shared_ptr<BoundedLruMap> entries, std::string prefix)
      : entries_(std::move(entries)), prefix_(std::move(prefix)) {}

  std::optional<pier::Descriptor> stat(const pier::Context&, const std::string& digest) override {
    pier::checkCacheDigest(digest);
    return entries_->get(prefix_ + digest);
  }
  void setDescriptor(const pier::Context&, const std::string& digest,
                     const pier::Descriptor& descriptor) override {
    pier::checkCacheDescriptor(digest, descriptor);
    entries_->put(prefix_ + digest, descriptor);
  }
  void clear(const pier::Context&, const std::string& digest) override {
    pier::checkCacheDigest(digest);
    entries_->erase(prefix_ + digest);
  }

private:
  std::shared_ptr<BoundedLruMap> entries_;
  std::string prefix_;
};

class InMemoryBlobDescriptorCache final : public pier::BlobDescriptorCache {
public:
  explicit InMemoryBlobDescriptorCache(std::size_t capacity)
      : entries_(std::make_shared<BoundedLruMap>(capacity)), global_(entries_, "") {}

  std::optional<pier::Descriptor> stat(const pier::Context& context, const std::string& digest) override {
    return global_.stat(context, digest);
  }
  void setDescriptor(const pier::Context& context, const std::string& digest,
                     const pier::Descriptor& descriptor) override {
    global_.setDescriptor(context, digest, descriptor);
  }
  void clear(const pier::Context& context, const std::string& digest) override {
    global_.clear(context, digest);
  }

  std::shared_ptr<pier::BlobDescriptorService> repositoryScoped(const std::string& repository) override {
    pier::checkCacheScope(repository);
    return std::make_shared<ScopedService>(entries_, repository + "@");
  }

private:
  std::shared_ptr<BoundedLruMap> entries_;
  ScopedService global_;
};

constexpr std::int64_t kDefaultCapacity = 10000; // as Distribution's default

void registerPlugin(pier::PluginRegistry& registry) {
  registry.blobDescriptorCache("inmemory", [](const Poco::JSON::Object& parameters) {
    for (const auto& [key, value] : parameters) {
      if (key != "blobdescriptorsize")
        throw pier::ConfigError("storage.cache." + key + ": unknown parameter of the inmemory cache");
    }
    std::int64_t size =
        pier::config::getInt(parameters, "blobdescriptorsize", "storage.cache", kDefaultCapacity);
    if (size <= 0)
      throw pier::ConfigError("storage.cache.blobdescriptorsize: must be a positive number of entries");
    return std::make_shared<InMemoryBlobDescriptorCache>(static_cast<std::size_t>(size));
  });
}

} // namespace

PIER_PLUGIN(registerPlugin, "inmemory", PIER_PLUGIN_VERSION,
            "Blob descriptors cached in the process, bounded LRU")
