// The SDK's blob descriptor cache conformance suite on the tinylru cache, and
// what only it promises: the bound, and config errors that name the key.
#include <string>

#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>

#include <pier/testing/blob_descriptor_cache_suite.hpp>

#include "TinyLruCache.hpp"

namespace {

pier::testing::BlobDescriptorCacheTarget tinyLruTarget() {
  return {"tinylru", [] { return pier_example::makeTinyLruCache(Poco::JSON::Object()); }};
}

PIER_BLOB_DESCRIPTOR_CACHE_CONFORMANCE(Example, tinyLruTarget());

std::string digestOf(int i) {
  std::string hex = std::to_string(i);
  return "sha256:" + std::string(64 - hex.size(), '0') + hex;
}

TEST(TinyLruCache, KeepsTheMostRecentlyUsedEntriesWithinItsBound) {
  Poco::JSON::Object parameters;
  parameters.set("blobdescriptorsize", 2);
  auto cache = pier_example::makeTinyLruCache(parameters);
  pier::testing::TestLogger logger;
  pier::Context context("tinylru-test", logger);
  for (int i = 1; i <= 2; ++i)
    cache->setDescriptor(context, digestOf(i), pier::Descriptor{digestOf(i), i, "application/octet-stream"});
  ASSERT_TRUE(cache->stat(context, digestOf(1))); // 1 is now the most recently used
  cache->setDescriptor(context, digestOf(3), pier::Descriptor{digestOf(3), 3, "application/octet-stream"});
  EXPECT_TRUE(cache->stat(context, digestOf(1)));
  EXPECT_FALSE(cache->stat(context, digestOf(2))); // the least recently used went
  EXPECT_TRUE(cache->stat(context, digestOf(3)));
}

TEST(TinyLruCache, ConfigErrorsNameTheKey) {
  auto errorOf = [](const std::string& key, const Poco::Dynamic::Var& value) {
    Poco::JSON::Object parameters;
    parameters.set(key, value);
    try {
      pier_example::makeTinyLruCache(parameters);
    } catch (const pier::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(errorOf("blobdescriptorsize", 0).find("storage.cache.blobdescriptorsize"), std::string::npos);
  EXPECT_NE(errorOf("blobdescriptorsize", "many").find("storage.cache.blobdescriptorsize"),
            std::string::npos);
  EXPECT_NE(errorOf("colour", "blue").find("storage.cache.colour"), std::string::npos);
}

} // namespace
