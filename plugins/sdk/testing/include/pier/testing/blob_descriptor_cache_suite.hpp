#pragma once

// The blob descriptor cache conformance suite: what every
// pier::BlobDescriptorCache must do (scopes, overwrite and clear, argument
// checks, use from eight threads), run on a cache the author names:
//
//   pier::testing::BlobDescriptorCacheTarget target{"mycache", [] { return makeEmptyCache(); }};
//   PIER_BLOB_DESCRIPTOR_CACHE_CONFORMANCE(MyPlugin, target);
//
// The factory is called once per test and must give an empty cache each
// time (e.g. flush the backend first). A factory that throws
// pier::testing::Unavailable skips the test.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include <pier/blob_descriptor_cache.hpp>

#include "pier/testing/support.hpp"

namespace pier::testing {

struct BlobDescriptorCacheTarget {
  std::string name; // names the test instances
  std::function<std::shared_ptr<BlobDescriptorCache>()> factory;
};

void PrintTo(const BlobDescriptorCacheTarget& target, std::ostream* out);

// For tests of caches: a distinct, valid digest per number, a descriptor of
// it, and a descriptor (or a miss) as text for comparisons.
std::string numberedDigest(unsigned long long n, const std::string& algorithm = "sha256");
Descriptor numberedDescriptor(unsigned long long n, std::int64_t size = 1234,
                              const std::string& mediaType = "application/vnd.oci.image.layer.v1.tar+gzip");
inline const std::string kMiss = "(miss)";
std::string
descriptorText(const std::optional<Descriptor>& descriptor); // kMiss, or "<digest> <size> [<type>]"

class BlobDescriptorCacheConformance : public ::testing::TestWithParam<BlobDescriptorCacheTarget> {
protected:
  void SetUp() override;
  void TearDown() override;

  TestLogger logger_;
  Context context_{"blob-descriptor-cache-conformance", logger_};
  std::shared_ptr<BlobDescriptorCache> cache_;
};

namespace detail {
int blobDescriptorCacheConformanceAnchor();
} // namespace detail

} // namespace pier::testing

// Runs the suite on each target: PIER_BLOB_DESCRIPTOR_CACHE_CONFORMANCE(Prefix, target...).
// gtest pastes the suite's name into identifiers and matches it, as text,
// with the TEST_P of the library: hence the alias of the same name. The
// anchor's call links the object file holding the tests.
#define PIER_BLOB_DESCRIPTOR_CACHE_CONFORMANCE(prefix, ...)                                                  \
  using BlobDescriptorCacheConformance = ::pier::testing::BlobDescriptorCacheConformance;                    \
  INSTANTIATE_TEST_SUITE_P(prefix, BlobDescriptorCacheConformance, ::testing::Values(__VA_ARGS__),           \
                           ::pier::testing::ByName());                                                       \
  [[maybe_unused]] static const int pier_blob_descriptor_cache_conformance_anchor_##prefix =                 \
      ::pier::testing::detail::blobDescriptorCacheConformanceAnchor()
