// The "redis" blob descriptor cache: descriptors in Redis, in the layout of
// Distribution's redis cache (registry/storage/cache/redis), so that a Redis
// shared with a Distribution registry reads the same way:
//
//   blobs::<digest>                          hash {digest, size, mediatype}   global scope
//   repository::<name>::blobs                set of digests                  repository scope
//   repository::<name>::blobs::<digest>      hash {digest, size, mediatype}
//
// Distribution keeps only "mediatype" in the repository hash and takes
// digest and size from the global hash; Pier writes all three there so that
// the two scopes are independent (clearing one never clears the other), and
// still reads a repository entry Distribution wrote.
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Command.h>
#include <Poco/Redis/Error.h>

#include <pier/plugin.hpp>

#include "RedisConnectionPool.hpp"
#include "RedisOptions.hpp"

namespace {

using pier::redis::RedisConnectionPool;
using pier::redis::RedisOptions;
using Poco::Redis::Array;
using Poco::Redis::Command;
using Poco::Redis::RedisType;
using Fields = std::vector<std::optional<std::string>>;

std::string blobKey(const std::string& digest) {
  return "blobs::" + digest;
}
std::string repositorySetKey(const std::string& repository) {
  return "repository::" + repository + "::blobs";
}
std::string repositoryBlobKey(const std::string& repository, const std::string& digest) {
  return repositorySetKey(repository) + "::" + digest;
}

const std::vector<std::string> kFields = {"digest", "size", "mediatype"};

Command setFields(const std::string& key, const pier::Descriptor& descriptor) {
  Command command("HSET");
  command << key << "digest" << descriptor.digest << "size" << std::to_string(descriptor.size) << "mediatype"
          << descriptor.mediaType;
  return command;
}

// Replies ------------------------------------------------------------------

void checkReply(const RedisType::Ptr& reply) {
  if (reply.isNull()) throw pier::CacheUnavailableError("redis cache: no reply");
  if (reply->isError())
    throw pier::CacheUnavailableError(
        "redis cache: " +
        static_cast<const Poco::Redis::Type<Poco::Redis::Error>&>(*reply).value().getMessage());
}

const Array& arrayOf(const RedisType::Ptr& reply) {
  checkReply(reply);
  if (!reply->isArray())
    throw pier::CacheUnavailableError("redis cache: unexpected reply " + reply->toString());
  const Array& array = static_cast<const Poco::Redis::Type<Array>&>(*reply).value();
  if (array.isNull()) throw pier::CacheUnavailableError("redis cache: transaction aborted");
  return array;
}

std::int64_t integerOf(const RedisType::Ptr& reply) {
  checkReply(reply);
  if (!reply->isInteger())
    throw pier::CacheUnavailableError("redis cache: unexpected reply " + reply->toString());
  return static_cast<const Poco::Redis::Type<Poco::Int64>&>(*reply).value();
}

Fields fieldsOf(const RedisType::Ptr& reply) {
  Fields fields;
  for (const RedisType::Ptr& element : arrayOf(reply)) {
    if (element->isBulkString()) {
      const auto& value = static_cast<const Poco::Redis::Type<Poco::Redis::BulkString>&>(*element).value();
      fields.push_back(value.isNull() ? std::nullopt : std::optional<std::string>(value.value()));
    } else {
      fields.push_back(std::nullopt);
    }
  }
  return fields;
}

// MULTI ... EXEC: every queued command and its result must have succeeded.
void checkTransaction(const std::vector<RedisType::Ptr>& replies) {
  for (const auto& reply : replies) checkReply(reply);
  for (const RedisType::Ptr& result : arrayOf(replies.back())) checkReply(result);
}

// A descriptor from {digest, size, mediatype}; none when digest or size is
// missing (an entry Distribution wrote with the old "length" field is a miss).
std::optional<pier::Descriptor> descriptorOf(const Fields& fields) {
  if (fields.size() < 3 || !fields[0] || !fields[1]) return std::nullopt;
  std::int64_t size = 0;
  const std::string& text = *fields[1];
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), size);
  if (error != std::errc() || end != text.data() + text.size() || size < 0) return std::nullopt;
  return pier::Descriptor{*fields[0], size, fields[2].value_or("")};
}

// Scopes ---------------------------------------------------------------------

class RepositoryScope final : public pier::BlobDescriptorService {
public:
  RepositoryScope(std::shared_ptr<RedisConnectionPool> pool, std::string repository)
      : pool_(std::move(pool)), repository_(std::move(repository)), setKey_(repositorySetKey(repository_)) {}

  std::optional<pier::Descriptor> stat(const pier::Context& context, const std::string& digest) override {
    pier::checkCacheDigest(digest);
    Command members = Command::sismember(setKey_, digest);
    Command fields = Command::hmget(repositoryBlobKey(repository_, digest), kFields);
    auto replies = pool_->execute(context, {members, fields});
    if (integerOf(replies[0]) == 0) return std::nullopt;
    Fields own = fieldsOf(replies[1]);
    if (auto descriptor = descriptorOf(own)) return descriptor;
    // Distribution keeps only the media type here: the rest is global.
    if (own.size() < 3 || !own[2]) return std::nullopt;
    auto global = pool_->execute(context, {Command::hmget(blobKey(digest), kFields)});
    auto descriptor = descriptorOf(fieldsOf(global[0]));
    if (descriptor && !own[2]->empty()) descriptor->mediaType = *own[2];
    return descriptor;
  }

  void setDescriptor(const pier::Context& context, const std::string& digest,
                     const pier::Descriptor& descriptor) override {
    pier::checkCacheDescriptor(digest, descriptor);
    checkTransaction(pool_->execute(context, {Command::multi(), Command::sadd(setKey_, digest),
                                              setFields(repositoryBlobKey(repository_, digest), descriptor),
                                              Command::exec()}));
  }

  void clear(const pier::Context& context, const std::string& digest) override {
    pier::checkCacheDigest(digest);
    checkTransaction(
        pool_->execute(context, {Command::multi(), Command::srem(setKey_, digest),
                                 Command::del(repositoryBlobKey(repository_, digest)), Command::exec()}));
  }

private:
  std::shared_ptr<RedisConnectionPool> pool_;
  std::string repository_;
  std::string setKey_;
};

class RedisBlobDescriptorCache final : public pier::BlobDescriptorCache {
public:
  explicit RedisBlobDescriptorCache(RedisOptions options)
      : pool_(std::make_shared<RedisConnectionPool>(std::move(options))) {}

  std::optional<pier::Descriptor> stat(const pier::Context& context, const std::string& digest) override {
    pier::checkCacheDigest(digest);
    auto replies = pool_->execute(context, {Command::hmget(blobKey(digest), kFields)});
    return descriptorOf(fieldsOf(replies[0]));
  }

  void setDescriptor(const pier::Context& context, const std::string& digest,
                     const pier::Descriptor& descriptor) override {
    pier::checkCacheDescriptor(digest, descriptor);
    checkReply(pool_->execute(context, {setFields(blobKey(digest), descriptor)})[0]);
  }

  void clear(const pier::Context& context, const std::string& digest) override {
    pier::checkCacheDigest(digest);
    checkReply(pool_->execute(context, {Command::hdel(blobKey(digest), kFields)})[0]);
  }

  std::shared_ptr<pier::BlobDescriptorService> repositoryScoped(const std::string& repository) override {
    pier::checkCacheScope(repository);
    return std::make_shared<RepositoryScope>(pool_, repository);
  }

private:
  std::shared_ptr<RedisConnectionPool> pool_;
};

void registerPlugin(pier::PluginRegistry& registry) {
  registry.blobDescriptorCache("redis", [](const Poco::JSON::Object& parameters) {
    return std::make_shared<RedisBlobDescriptorCache>(RedisOptions::parse(parameters));
  });
}

} // namespace

PIER_PLUGIN(registerPlugin, "redis", PIER_PLUGIN_VERSION,
            "Blob descriptors cached in Redis, shared by every instance")
