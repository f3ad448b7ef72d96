// Every parser of client or operator input, fed deterministic mutations of
// valid inputs: each answers with its own error type or a value, never a
// crash, a hang or another exception. (Coverage-guided fuzzing is for
// tests/fuzz; this keeps the guarantee in every test run.)
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <pier/errors.hpp>

#include "config/Config.hpp"
#include "errcode/ErrorCode.hpp"
#include "http/RequestParts.hpp"
#include "storage/Manifest.hpp"
#include "storage/Reference.hpp"

#include "Mutator.hpp"

namespace pier {
namespace {

using test::Mutator;

constexpr int kMutationsPerSeed = 10000;

const std::string kDigest = "sha256:" + std::string(64, 'a');

TEST(ParserRobustness, ManifestParsingOnlyEverRejectsWithRegisteredErrors) {
  const std::vector<std::string> seeds{
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
          kDigest +
          R"(","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
          kDigest +
          R"(","size":5,"urls":["http://127.0.0.1/x"]}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
          kDigest + R"(","size":1},"annotations":{"a":"b"}})",
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" +
          kDigest + R"(","size":7,"platform":{"architecture":"amd64","os":"linux"}}]})",
  };
  Mutator mutator(1);
  for (const auto& seed : seeds) {
    for (int i = 0; i < kMutationsPerSeed; ++i) {
      std::string input = mutator.mutate(seed);
      try {
        parseManifest(input, i % 2 ? "" : "application/vnd.oci.image.manifest.v1+json");
      } catch (const errcode::Exception& e) {
        ASSERT_EQ(e.errors().list().front().code.value(), "MANIFEST_INVALID") << input;
      }
      EXPECT_FALSE(detectManifestMediaType(input).empty());
    }
  }
}

TEST(ParserRobustness, ReferencesRangesAndPagesNeverThrowOtherErrors) {
  Mutator mutator(2);
  for (int i = 0; i < kMutationsPerSeed * 2; ++i) {
    std::string digest = mutator.mutate(kDigest);
    if (auto parsed = Digest::parse(digest)) {
      EXPECT_EQ(parsed->toString(), digest);
    }
    isValidRepositoryName(mutator.mutate("library/some-name_x/a.b"));
    isValidTag(mutator.mutate("v1.2.3-rc_1"));
    looksLikeDigest(digest);

    auto range = parseRangeHeader(mutator.mutate("bytes=100-2000"), 1000);
    if (range.range) {
      EXPECT_GE(range.range->start, 0);
      EXPECT_GT(range.range->length, 0);
      EXPECT_LE(range.range->start + range.range->length, 1000);
    }
    if (auto chunk = parseContentRange(mutator.mutate("0-1023"))) {
      EXPECT_GT(chunk->length, 0);
    }
    try {
      parsePageSize(mutator.mutate("100"), 10, 10000);
    } catch (const errcode::Exception& e) {
      ASSERT_EQ(e.errors().list().front().code.value(), "PAGINATION_NUMBER_INVALID");
    }
  }
}

TEST(ParserRobustness, ConfigParsingOnlyEverRejectsWithConfigErrors) {
  const std::string seed = defaultConfigText() +
                           "redis:\n  addr: 127.0.0.1:6379\n  pool:\n    maxidle: 4\n"
                           "notifications:\n  endpoints:\n    - name: a\n      url: http://127.0.0.1/\n";
  Mutator mutator(3);
  for (int i = 0; i < kMutationsPerSeed; ++i) {
    std::string input = mutator.mutate(seed);
    try {
      parseConfig(input, {}, "mutated.yml");
    } catch (const ConfigError&) {
    }
  }
}

} // namespace
} // namespace pier
