// The "inmemory" blob descriptor cache: a bounded LRU map of descriptors,
// split into shards with a lock each so that concurrent requests rarely wait
// on one another.
#include <array>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>

#include <pier/config.hpp>
#include <pier/plugin.hpp>

namespace {

class ShardedLruMap {
public:
  explicit ShardedLruMap(std::size_t capacity)
      : shardCapacity_(std::max<std::size_t>(1, capacity / kShards)) {}

  std::optional<pier::Descriptor> get(const std::string& key) {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    auto found = shard.index.find(key);
    if (found == shard.index.end()) return std::nullopt;
    shard.order.splice(shard.order.begin(), shard.order, found->second); // most recently used first
    return found->second->second;
  }

  void put(const std::string& key, const pier::Descriptor& descriptor) {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    auto found = shard.index.find(key);
    if (found != shard.index.end()) {
      found->second->second = descriptor;
      shard.order.splice(shard.order.begin(), shard.order, found->second);
      return;
    }
    shard.order.emplace_front(key, descriptor);
    shard.index.emplace(key, shard.order.begin());
    if (shard.order.size() > shardCapacity_) {
      shard.index.erase(shard.order.back().first);
      shard.order.pop_back();
    }
  }

  void erase(const std::string& key) {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    auto found = shard.index.find(key);
    if (found == shard.index.end()) return;
    shard.order.erase(found->second);
    shard.index.erase(found);
  }

private:
  static constexpr std::size_t kShards = 16;
  using Entries = std::list<std::pair<std::string, pier::Descriptor>>;
  struct Shard {
    std::mutex mutex;
    Entries order;
    std::unordered_map<std::string, Entries::iterator> index;
  };

  Shard& shardOf(const std::string& key) { return shards_[std::hash<std::string>{}(key) % kShards]; }

  std::size_t shardCapacity_;
  std::array<Shard, kShards> shards_;
};

void checkDigest(const std::string& digest) {
  if (digest.find(':') == std::string::npos) throw std::invalid_argument("invalid digest \"" + digest + "\"");
}

// One scope: the global one (prefix "") or one repository's ("<name>@").
class ScopedService final : public pier::BlobDescriptorService {
public:
  ScopedService(std::shared_ptr<ShardedLruMap> entries, std::string prefix)
      : entries_(std::move(entries)), prefix_(std::move(prefix)) {}

  std::optional<pier::Descriptor> stat(const pier::Context&, const std::string& digest) override {
    checkDigest(digest);
    return entries_->get(prefix_ + digest);
  }
  void setDescriptor(const pier::Context&, const std::string& digest,
                     const pier::Descriptor& descriptor) override {
    checkDigest(digest);
    entries_->put(prefix_ + digest, descriptor);
  }
  void clear(const pier::Context&, const std::string& digest) override {
    checkDigest(digest);
    entries_->erase(prefix_ + digest);
  }

private:
  std::shared_ptr<ShardedLruMap> entries_;
  std::string prefix_;
};

class InMemoryBlobDescriptorCache final : public pier::BlobDescriptorCache {
public:
  explicit InMemoryBlobDescriptorCache(std::size_t capacity)
      : entries_(std::make_shared<ShardedLruMap>(capacity)), global_(entries_, "") {}

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
    if (repository.empty()) throw std::invalid_argument("empty repository name");
    return std::make_shared<ScopedService>(entries_, repository + "@");
  }

private:
  std::shared_ptr<ShardedLruMap> entries_;
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

PIER_PLUGIN(registerPlugin)
