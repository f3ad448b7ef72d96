// The blob descriptor cache plugins, created through the real plugin loader:
// the SDK's conformance suite (<pier/testing/blob_descriptor_cache_suite.hpp>)
// run on every cache ("inmemory" and "redis"), then
// what is particular to each (the LRU bound of inmemory; the layout, pool,
// outages and configuration of redis). The Redis tests start their own
// redis-server (the Debian package) and are skipped when it is not installed.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include <pier/testing/blob_descriptor_cache_suite.hpp>

#include "RecordingLogger.hpp"
#include "RedisServerProcess.hpp"
#include "plugin/PluginLoader.hpp"

namespace pier {
namespace {

using namespace std::chrono_literals;
using test::RecordingLogger;
using test::RedisReply;
using test::RedisServerProcess;
using testing::descriptorText;
using testing::kMiss;
using testing::numberedDescriptor;
using testing::numberedDigest;
using Clock = std::chrono::steady_clock;

// Helpers --------------------------------------------------------------------

PluginLoader& plugins() {
  static PluginLoader loader;
  static std::once_flag loaded;
  std::call_once(loaded, [] { loader.loadDirectory(PIER_TEST_PLUGIN_DIR); });
  return loader;
}

Poco::JSON::Object::Ptr json(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::shared_ptr<BlobDescriptorCache> createCache(const std::string& name, const std::string& parameters) {
  return plugins().catalog().createBlobDescriptorCache(name, *json(parameters));
}

// The ConfigError's message, or a note that there was none.
std::string configError(const std::string& name, const std::string& parameters) {
  try {
    createCache(name, parameters);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError for " + parameters + ")";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The redis-server shared by the tests that do not stop it: started on first
// use, stopped at exit (and killed with the test process should it crash).
struct SharedRedis {
  std::unique_ptr<RedisServerProcess> server;
  std::string error;
};

SharedRedis& sharedRedis() {
  static SharedRedis shared;
  static std::once_flag started;
  std::call_once(started, [] {
    try {
      shared.server = std::make_unique<RedisServerProcess>();
    } catch (const std::exception& e) {
      shared.error = e.what();
    }
  });
  return shared;
}

std::string skipReason() {
  return "redis-server not found at " + RedisServerProcess::executable().string() +
         " (install the Debian package redis-server, or set PIER_REDIS_SERVER)";
}

// Parameters for a redis cache at the address; extra is more JSON members.
std::string redisParameters(const std::string& address, const std::string& extra = "") {
  return R"({"addr": ")" + address + R"(", "dialtimeout": "2s", "readtimeout": "2s", "writetimeout": "2s")" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

// Runs body(thread) on 8 threads and joins them.
void onEightThreads(const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back(body, t);
  for (auto& thread : threads) thread.join();
}

// The SDK's conformance suite (pier::sdk_testing) ---------------------------------

// Each test gets a new cache: redis on the shared server, flushed first.
testing::BlobDescriptorCacheTarget inmemoryCacheTarget() {
  return {"inmemory", [] { return createCache("inmemory", "{}"); }};
}

testing::BlobDescriptorCacheTarget redisCacheTarget() {
  return {"redis", [] {
            if (!RedisServerProcess::available()) throw testing::Unavailable(skipReason());
            RedisServerProcess* redis = sharedRedis().server.get();
            if (!redis) throw std::runtime_error("redis-server did not start: " + sharedRedis().error);
            if (redis->command({"FLUSHALL"}).text != "OK") throw std::runtime_error("FLUSHALL failed");
            return createCache("redis", redisParameters(redis->address()));
          }};
}

PIER_BLOB_DESCRIPTOR_CACHE_CONFORMANCE(Plugins, inmemoryCacheTarget(), redisCacheTarget());

// inmemory ------------------------------------------------------------------------

class InMemoryBlobDescriptorCache : public ::testing::Test {
protected:
  std::shared_ptr<BlobDescriptorCache> withSize(int size) {
    return createCache("inmemory", R"({"blobdescriptorsize": )" + std::to_string(size) + "}");
  }
  std::size_t hits(BlobDescriptorService& scope, unsigned long long from, unsigned long long to) {
    std::size_t n = 0;
    for (unsigned long long i = from; i < to; ++i) n += scope.stat(context_, numberedDigest(i)).has_value();
    return n;
  }

  RecordingLogger logger_;
  Context context_{"test-request", logger_};
};

TEST_F(InMemoryBlobDescriptorCache, HoldsBlobDescriptorSizeEntries) {
  auto cache = withSize(100);
  for (unsigned long long i = 0; i < 100; ++i)
    cache->setDescriptor(context_, numberedDigest(i), numberedDescriptor(i));
  EXPECT_EQ(hits(*cache, 0, 100), 100u);
}

TEST_F(InMemoryBlobDescriptorCache, EvictsTheLeastRecentlyUsedEntry) {
  auto cache = withSize(3);
  for (unsigned long long i = 1; i <= 3; ++i)
    cache->setDescriptor(context_, numberedDigest(i), numberedDescriptor(i));
  ASSERT_TRUE(cache->stat(context_, numberedDigest(1))); // 2 is now the least recently used
  cache->setDescriptor(context_, numberedDigest(4), numberedDescriptor(4));
  EXPECT_EQ(descriptorText(cache->stat(context_, numberedDigest(2))), kMiss);
  EXPECT_EQ(descriptorText(cache->stat(context_, numberedDigest(1))), descriptorText(numberedDescriptor(1)));
  EXPECT_EQ(descriptorText(cache->stat(context_, numberedDigest(3))), descriptorText(numberedDescriptor(3)));
  EXPECT_EQ(descriptorText(cache->stat(context_, numberedDigest(4))), descriptorText(numberedDescriptor(4)));
}

TEST_F(InMemoryBlobDescriptorCache, NeverHoldsMoreThanBlobDescriptorSize) {
  auto cache = withSize(100);
  for (unsigned long long i = 0; i < 1000; ++i)
    cache->setDescriptor(context_, numberedDigest(i), numberedDescriptor(i));
  // The 100 most recent stay, in a cache that evicts least recently used first.
  EXPECT_EQ(hits(*cache, 900, 1000), 100u);
  EXPECT_EQ(hits(*cache, 0, 900), 0u);
}

TEST_F(InMemoryBlobDescriptorCache, OneBoundCoversEveryScope) {
  auto cache = withSize(2);
  cache->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  cache->repositoryScoped("a")->setDescriptor(context_, numberedDigest(2), numberedDescriptor(2));
  cache->repositoryScoped("b")->setDescriptor(context_, numberedDigest(3), numberedDescriptor(3));
  EXPECT_EQ(descriptorText(cache->stat(context_, numberedDigest(1))), kMiss);
  EXPECT_EQ(descriptorText(cache->repositoryScoped("a")->stat(context_, numberedDigest(2))),
            descriptorText(numberedDescriptor(2)));
  EXPECT_EQ(descriptorText(cache->repositoryScoped("b")->stat(context_, numberedDigest(3))),
            descriptorText(numberedDescriptor(3)));
}

TEST_F(InMemoryBlobDescriptorCache, StaysBoundedUnderConcurrentUse) {
  constexpr int kSize = 64;
  auto cache = withSize(kSize);
  onEightThreads([&](int thread) {
    for (unsigned long long i = 0; i < 500; ++i) {
      unsigned long long n = static_cast<unsigned long long>(thread) * 1000 + i;
      cache->setDescriptor(context_, numberedDigest(n), numberedDescriptor(n));
      cache->stat(context_, numberedDigest(n / 2));
    }
  });
  std::size_t held = 0;
  for (int thread = 0; thread < 8; ++thread)
    held += hits(*cache, static_cast<unsigned long long>(thread) * 1000,
                 static_cast<unsigned long long>(thread) * 1000 + 500);
  EXPECT_LE(held, static_cast<std::size_t>(kSize));
  EXPECT_GT(held, 0u);
}

TEST_F(InMemoryBlobDescriptorCache, RefusesABadBlobDescriptorSize) {
  EXPECT_TRUE(contains(configError("inmemory", R"({"blobdescriptorsize": "many"})"),
                       "storage.cache.blobdescriptorsize"));
  EXPECT_TRUE(
      contains(configError("inmemory", R"({"blobdescriptorsize": 0})"), "storage.cache.blobdescriptorsize"));
  EXPECT_TRUE(contains(configError("inmemory", R"({"blobdescriptorsize": true})"),
                       "storage.cache.blobdescriptorsize"));
  EXPECT_TRUE(contains(configError("inmemory", R"({"size": 10})"), "storage.cache.size"));
}

// redis: configuration ------------------------------------------------------------

TEST(RedisBlobDescriptorCacheConfig, AddrIsRequired) {
  std::string error = configError("redis", "{}");
  EXPECT_TRUE(contains(error, "redis.addr")) << error;
  EXPECT_TRUE(contains(error, "required")) << error;
}

TEST(RedisBlobDescriptorCacheConfig, WrongTypesAndValuesNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"addr": 6379})", "redis.addr"},
      {R"({"addr": "localhost"})", "redis.addr"},
      {R"({"addr": "localhost:0"})", "redis.addr"},
      {R"({"addr": "localhost:70000"})", "redis.addr"},
      {R"({"addr": "localhost:port"})", "redis.addr"},
      {R"({"addr": "::1:6379"})", "redis.addr"},
      {R"({"addr": "localhost:6379", "password": 1234})", "redis.password"},
      {R"({"addr": "localhost:6379", "db": "zero"})", "redis.db"},
      {R"({"addr": "localhost:6379", "db": -1})", "redis.db"},
      {R"({"addr": "localhost:6379", "db": true})", "redis.db"},
      {R"({"addr": "localhost:6379", "dialtimeout": "soon"})", "redis.dialtimeout"},
      {R"({"addr": "localhost:6379", "readtimeout": true})", "redis.readtimeout"},
      {R"({"addr": "localhost:6379", "writetimeout": -1})", "redis.writetimeout"},
      {R"({"addr": "localhost:6379", "pool": "big"})", "redis.pool"},
      {R"({"addr": "localhost:6379", "pool": {"maxidle": "x"}})", "redis.pool.maxidle"},
      {R"({"addr": "localhost:6379", "pool": {"maxactive": 0}})", "redis.pool.maxactive"},
      {R"({"addr": "localhost:6379", "pool": {"idletimeout": "later"}})", "redis.pool.idletimeout"},
      {R"({"addr": "localhost:6379", "pool": {"size": 3}})", "redis.pool.size"},
      {R"({"addr": "localhost:6379", "tls": {"enabled": "yes"}})", "redis.tls.enabled"},
      {R"({"addr": "localhost:6379", "tls": {"enabled": true}})", "redis.tls.enabled"},
      {R"({"addr": "localhost:6379", "tls": {"certificate": "/c.pem"}})", "redis.tls.certificate"},
      {R"({"addr": "localhost:6379", "bogus": 1})", "redis.bogus"},
      {R"({"addrs": "localhost:6379"})", "redis.addrs"},
      {R"({"addrs": ["a:6379", "b:6379"]})", "redis.addrs"},
      {R"({"addrs": [6379]})", "redis.addrs"},
      {R"({"addr": "a:6379", "addrs": ["b:6379"]})", "redis.addrs"},
      {R"({"addrs": ["a:6379"], "mastername": "mymaster"})", "redis.mastername"},
      {R"({"addrs": ["a:6379"], "maxretries": 3})", "redis.maxretries"},
      {R"({"addrs": ["a:6379"], "poolsize": "ten"})", "redis.poolsize"},
      {R"({"addrs": ["a:6379"], "poolsize": 5, "pool": {"maxactive": 5}})", "redis.poolsize"},
      {R"({"addrs": ["a:6379"], "username": "pier"})", "redis.password"},
  };
  for (const auto& [parameters, key] : cases) {
    std::string error = configError("redis", parameters);
    EXPECT_TRUE(contains(error, key + ":")) << parameters << " -> " << error;
  }
  EXPECT_TRUE(
      contains(configError("redis", R"({"addr": "h:1", "tls": {"enabled": true}})"), "not supported"));
}

TEST(RedisBlobDescriptorCacheConfig, AcceptsDistributionConfigsWithoutConnecting) {
  // Nothing listens on port 1: creating the cache must not need Redis.
  EXPECT_NO_THROW(createCache("redis", R"({
      "addr": "127.0.0.1:1", "password": "secret", "db": 0,
      "dialtimeout": "10ms", "readtimeout": "10ms", "writetimeout": "10ms",
      "pool": {"maxidle": 16, "maxactive": 64, "idletimeout": "300s"},
      "tls": {"enabled": false}})"));
  EXPECT_NO_THROW(createCache("redis", R"({
      "addrs": ["[::1]:6379"], "username": "pier", "password": "secret", "db": 1,
      "dialtimeout": "5s", "readtimeout": 3, "writetimeout": "3s", "clientname": "pier",
      "poolsize": 10, "maxidleconns": 4, "pooltimeout": "4s", "connmaxidletime": "30m",
      "connmaxlifetime": "1h"})"));
}

// redis: with a server --------------------------------------------------------------

class RedisBlobDescriptorCache : public ::testing::Test {
protected:
  void SetUp() override {
    if (!RedisServerProcess::available()) GTEST_SKIP() << skipReason();
    redis_ = sharedRedis().server.get();
    ASSERT_NE(redis_, nullptr) << sharedRedis().error;
    ASSERT_EQ(redis_->command({"FLUSHALL"}).text, "OK");
  }

  std::shared_ptr<BlobDescriptorCache> cache(const std::string& extra = "") {
    return createCache("redis", redisParameters(redis_->address(), extra));
  }

  // Connections the cache opened, known by the clientname it gives them.
  std::size_t namedClients(RedisServerProcess& server, const std::string& name) {
    std::string list = server.command({"CLIENT", "LIST"}).text;
    std::size_t n = 0;
    for (std::size_t at = list.find(" name=" + name + " "); at != std::string::npos;
         at = list.find(" name=" + name + " ", at + 1))
      ++n;
    return n;
  }

  // Waits (bounded) until the server sees at most `most` named connections.
  std::size_t settledClients(RedisServerProcess& server, const std::string& name, std::size_t most) {
    std::size_t n = namedClients(server, name);
    for (auto deadline = Clock::now() + 3s; n > most && Clock::now() < deadline;
         n = namedClients(server, name))
      std::this_thread::sleep_for(20ms);
    return n;
  }

  RecordingLogger logger_;
  Context context_{"test-request", logger_};
  RedisServerProcess* redis_ = nullptr;
};

TEST_F(RedisBlobDescriptorCache, StoresDescriptorsInDistributionsLayout) {
  auto cache = this->cache();
  Descriptor layer = numberedDescriptor(1, 2048, "application/vnd.oci.image.layer.v1.tar+gzip");
  cache->setDescriptor(context_, layer.digest, layer);
  RedisReply global = redis_->command({"HMGET", "blobs::" + layer.digest, "digest", "size", "mediatype"});
  ASSERT_EQ(global.elements.size(), 3u);
  EXPECT_EQ(global.elements[0].text, layer.digest);
  EXPECT_EQ(global.elements[1].text, "2048");
  EXPECT_EQ(global.elements[2].text, layer.mediaType);

  cache->repositoryScoped("library/ubuntu")->setDescriptor(context_, layer.digest, layer);
  EXPECT_EQ(redis_->command({"SISMEMBER", "repository::library/ubuntu::blobs", layer.digest}).integer, 1);
  EXPECT_EQ(redis_->command({"HGET", "repository::library/ubuntu::blobs::" + layer.digest, "mediatype"}).text,
            layer.mediaType);

  cache->repositoryScoped("library/ubuntu")->clear(context_, layer.digest);
  EXPECT_EQ(redis_->command({"SISMEMBER", "repository::library/ubuntu::blobs", layer.digest}).integer, 0);
  EXPECT_EQ(redis_->command({"EXISTS", "repository::library/ubuntu::blobs::" + layer.digest}).integer, 0);
  EXPECT_EQ(redis_->command({"EXISTS", "blobs::" + layer.digest}).integer, 1);
  cache->clear(context_, layer.digest);
  EXPECT_EQ(redis_->command({"EXISTS", "blobs::" + layer.digest}).integer, 0);
}

TEST_F(RedisBlobDescriptorCache, ReadsEntriesDistributionWrote) {
  // As Distribution's redis cache writes them: HMSET digest/size, HSETNX mediatype;
  // a repository keeps set membership and its own media type only.
  const std::string d = numberedDigest(1);
  redis_->command({"HMSET", "blobs::" + d, "digest", d, "size", "77"});
  redis_->command({"HSETNX", "blobs::" + d, "mediatype", "application/octet-stream"});
  redis_->command({"SADD", "repository::library/ubuntu::blobs", d});
  redis_->command({"HSET", "repository::library/ubuntu::blobs::" + d, "mediatype",
                   "application/vnd.docker.distribution.manifest.v2+json"});
  auto cache = this->cache();
  EXPECT_EQ(descriptorText(cache->stat(context_, d)),
            descriptorText(Descriptor{d, 77, "application/octet-stream"}));
  EXPECT_EQ(descriptorText(cache->repositoryScoped("library/ubuntu")->stat(context_, d)),
            descriptorText(Descriptor{d, 77, "application/vnd.docker.distribution.manifest.v2+json"}));

  // An old entry with "length" for "size" is a miss; so is membership without the repository hash.
  const std::string old = numberedDigest(2);
  redis_->command({"HMSET", "blobs::" + old, "digest", old, "length", "5"});
  EXPECT_EQ(descriptorText(cache->stat(context_, old)), kMiss);
  redis_->command({"SADD", "repository::other::blobs", d});
  EXPECT_EQ(descriptorText(cache->repositoryScoped("other")->stat(context_, d)), kMiss);
}

TEST_F(RedisBlobDescriptorCache, UsesTheConfiguredDatabase) {
  auto cache = this->cache(R"("db": 5)");
  cache->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  std::string keyspace = redis_->command({"INFO", "keyspace"}).text;
  EXPECT_TRUE(contains(keyspace, "db5:keys=1,")) << keyspace;
  EXPECT_FALSE(contains(keyspace, "db0:")) << keyspace;
  EXPECT_EQ(descriptorText(cache->stat(context_, numberedDigest(1))), descriptorText(numberedDescriptor(1)));
  EXPECT_EQ(descriptorText(this->cache()->stat(context_, numberedDigest(1))), kMiss); // db 0
}

TEST_F(RedisBlobDescriptorCache, AuthenticatesWithThePasswordAndUsername) {
  RedisServerProcess secured({"--requirepass", "s3cret"}, "s3cret");
  ASSERT_EQ(secured.command({"ACL", "SETUSER", "pier", "on", ">pier-pass", "~*", "+@all"}).text, "OK");
  auto withPassword = createCache("redis", redisParameters(secured.address(), R"("password": "s3cret")"));
  withPassword->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  EXPECT_EQ(descriptorText(withPassword->stat(context_, numberedDigest(1))),
            descriptorText(numberedDescriptor(1)));

  auto asUser = createCache(
      "redis", redisParameters(secured.address(), R"("username": "pier", "password": "pier-pass")"));
  EXPECT_EQ(descriptorText(asUser->stat(context_, numberedDigest(1))), descriptorText(numberedDescriptor(1)));

  auto wrong = createCache("redis", redisParameters(secured.address(), R"("password": "wrong")"));
  EXPECT_THROW(wrong->stat(context_, numberedDigest(1)), CacheUnavailableError);
  auto none = createCache("redis", redisParameters(secured.address()));
  EXPECT_THROW(none->stat(context_, numberedDigest(1)), CacheUnavailableError);
}

TEST_F(RedisBlobDescriptorCache, ReusesPooledConnections) {
  auto cache = this->cache(R"("clientname": "pier-reuse", "pool": {"maxactive": 4, "maxidle": 4})");
  long long before = redis_->infoNumber("total_connections_received");
  std::atomic<int> errors{0};
  onEightThreads([&](int thread) {
    for (int i = 0; i < 50; ++i) {
      try {
        unsigned long long n =
            static_cast<unsigned long long>(thread) * 100 + static_cast<unsigned long long>(i);
        cache->setDescriptor(context_, numberedDigest(n), numberedDescriptor(n));
        cache->stat(context_, numberedDigest(n));
      } catch (const std::exception&) {
        ++errors;
      }
    }
  });
  EXPECT_EQ(errors.load(), 0);
  // 800 calls on 8 threads, and never more than pool.maxactive connections.
  long long opened = redis_->infoNumber("total_connections_received") - before;
  EXPECT_GE(opened, 1);
  EXPECT_LE(opened, 4);
  EXPECT_LE(namedClients(*redis_, "pier-reuse"), 4u);
}

TEST_F(RedisBlobDescriptorCache, WaitsForAFreeConnectionWhenAllAreInUse) {
  auto cache = this->cache(R"("pool": {"maxactive": 1})");
  long long before = redis_->infoNumber("total_connections_received");
  std::atomic<int> errors{0};
  onEightThreads([&](int thread) {
    for (int i = 0; i < 20; ++i) {
      try {
        cache->stat(context_, numberedDigest(static_cast<unsigned long long>(thread)));
      } catch (const std::exception&) {
        ++errors;
      }
    }
  });
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(redis_->infoNumber("total_connections_received") - before, 1);
}

TEST_F(RedisBlobDescriptorCache, KeepsAtMostMaxIdleConnections) {
  auto cache = this->cache(R"("clientname": "pier-idle", "pool": {"maxactive": 8, "maxidle": 2})");
  onEightThreads([&](int thread) {
    for (int i = 0; i < 30; ++i)
      cache->stat(context_, numberedDigest(static_cast<unsigned long long>(thread)));
  });
  EXPECT_LE(settledClients(*redis_, "pier-idle", 2), 2u);
  EXPECT_GE(namedClients(*redis_, "pier-idle"), 1u);
}

TEST_F(RedisBlobDescriptorCache, ClosesConnectionsIdleLongerThanIdleTimeout) {
  auto cache = this->cache(R"("clientname": "pier-aging", "pool": {"idletimeout": "200ms"})");
  long long before = redis_->infoNumber("total_connections_received");
  cache->stat(context_, numberedDigest(1));
  cache->stat(context_, numberedDigest(1)); // the same connection again
  EXPECT_EQ(redis_->infoNumber("total_connections_received") - before, 1);
  std::this_thread::sleep_for(400ms);
  cache->stat(context_, numberedDigest(1)); // the idle one is closed, a new one opened
  EXPECT_EQ(redis_->infoNumber("total_connections_received") - before, 2);
  EXPECT_EQ(settledClients(*redis_, "pier-aging", 1), 1u);
}

TEST_F(RedisBlobDescriptorCache, FailsFastWhileRedisIsDown) {
  RedisServerProcess server;
  std::string address = server.address();
  server.stop();
  auto cache = createCache("redis", redisParameters(address, R"("dialtimeout": "300ms")"));
  auto started = Clock::now();
  EXPECT_THROW(cache->stat(context_, numberedDigest(1)), CacheUnavailableError);
  EXPECT_LT(Clock::now() - started, 1500ms);
  // Backing off: no dial at all, so each call costs next to nothing.
  started = Clock::now();
  for (int i = 0; i < 50; ++i) {
    EXPECT_THROW(cache->stat(context_, numberedDigest(1)), CacheUnavailableError);
    EXPECT_THROW(cache->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1)),
                 CacheUnavailableError);
    EXPECT_THROW(cache->repositoryScoped("a")->clear(context_, numberedDigest(1)), CacheUnavailableError);
  }
  EXPECT_LT(Clock::now() - started, 1s);
  EXPECT_EQ(logger_.count("unavailable"), 1u) << "one warning for the outage, not one per call";
}

TEST_F(RedisBlobDescriptorCache, WorksAgainAfterRedisIsStoppedAndStarted) {
  RedisServerProcess server;
  auto cache = createCache("redis", redisParameters(server.address(),
                                                    R"("dialtimeout": "300ms", "readtimeout": "300ms",
                                                       "writetimeout": "300ms")"));
  auto repository = cache->repositoryScoped("library/ubuntu");
  // Several pooled connections, all of which the stop will close.
  onEightThreads([&](int thread) {
    for (int i = 0; i < 10; ++i) {
      unsigned long long n = static_cast<unsigned long long>(thread);
      cache->setDescriptor(context_, numberedDigest(n), numberedDescriptor(n));
      repository->setDescriptor(context_, numberedDigest(n), numberedDescriptor(n));
    }
  });
  ASSERT_EQ(descriptorText(cache->stat(context_, numberedDigest(1))), descriptorText(numberedDescriptor(1)));

  server.stop();
  for (int i = 0; i < 20; ++i) {
    auto started = Clock::now();
    EXPECT_THROW(cache->stat(context_, numberedDigest(1)), CacheUnavailableError);
    EXPECT_THROW(repository->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1)),
                 CacheUnavailableError);
    EXPECT_LT(Clock::now() - started, 1500ms) << "call " << i;
  }

  server.start(); // same port, empty: no persistence
  // The same cache instance: used again once its back-off has passed.
  bool answering = false;
  for (auto deadline = Clock::now() + 10s; !answering && Clock::now() < deadline;) {
    try {
      cache->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
      answering = true;
    } catch (const CacheUnavailableError&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(answering) << "the cache did not use Redis again within 10s";
  EXPECT_EQ(descriptorText(cache->stat(context_, numberedDigest(1))), descriptorText(numberedDescriptor(1)));
  EXPECT_EQ(descriptorText(cache->stat(context_, numberedDigest(2))),
            kMiss); // what was there went with the old server
  repository->setDescriptor(context_, numberedDigest(3), numberedDescriptor(3));
  EXPECT_EQ(descriptorText(repository->stat(context_, numberedDigest(3))),
            descriptorText(numberedDescriptor(3)));
  EXPECT_EQ(logger_.count("unavailable"), 1u);
  EXPECT_EQ(logger_.count("answers again"), 1u);
}

TEST_F(RedisBlobDescriptorCache, ARedisThatDoesNotAnswerCostsAtMostTheReadTimeout) {
  RedisServerProcess server;
  auto cache = createCache(
      "redis", redisParameters(server.address(), R"("readtimeout": "300ms", "writetimeout": "300ms")"));
  cache->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));

  server.pause(); // accepts connections, answers nothing
  auto started = Clock::now();
  EXPECT_THROW(cache->stat(context_, numberedDigest(1)), CacheUnavailableError);
  auto waited = Clock::now() - started;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 2s);
  started = Clock::now();
  for (int i = 0; i < 20; ++i) EXPECT_THROW(cache->stat(context_, numberedDigest(1)), CacheUnavailableError);
  EXPECT_LT(Clock::now() - started, 2s) << "calls during the back-off do not wait for Redis";

  server.resume();
  std::optional<Descriptor> found;
  for (auto deadline = Clock::now() + 10s; !found && Clock::now() < deadline;) {
    try {
      found = cache->stat(context_, numberedDigest(1));
    } catch (const CacheUnavailableError&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_EQ(descriptorText(found), descriptorText(numberedDescriptor(1)));
}

TEST_F(RedisBlobDescriptorCache, ACancelledRequestDoesNotCallRedis) {
  auto cache = this->cache();
  auto cancelled = std::make_shared<std::atomic<bool>>(true);
  Context done("cancelled", logger_, Context::Clock::time_point::max(), cancelled);
  EXPECT_THROW(cache->stat(done, numberedDigest(1)), CancelledError);
}

} // namespace
} // namespace pier
