// The blob descriptor cache conformance suite (blob_descriptor_cache_suite.hpp).
#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pier/testing/blob_descriptor_cache_suite.hpp"

namespace pier::testing {

namespace detail {
int blobDescriptorCacheConformanceAnchor() {
  return 0;
}
} // namespace detail

void PrintTo(const BlobDescriptorCacheTarget& target, std::ostream* out) {
  *out << "blob descriptor cache \"" << target.name << "\"";
}

void BlobDescriptorCacheConformance::SetUp() {
  ASSERT_TRUE(GetParam().factory) << "the target names no factory";
  try {
    cache_ = GetParam().factory();
  } catch (const Unavailable& unavailable) {
    GTEST_SKIP() << unavailable.what();
  }
  ASSERT_NE(cache_, nullptr) << "the factory gave no cache";
}

void BlobDescriptorCacheConformance::TearDown() {
  cache_.reset();
}

std::string numberedDigest(unsigned long long n, const std::string& algorithm) {
  std::size_t length = algorithm == "sha256" ? 64 : algorithm == "sha384" ? 96 : 128;
  char tail[17];
  std::snprintf(tail, sizeof(tail), "%016llx", n);
  return algorithm + ":" + std::string(length - 16, 'a') + tail;
}

Descriptor numberedDescriptor(unsigned long long n, std::int64_t size, const std::string& mediaType) {
  return Descriptor{numberedDigest(n), size, mediaType};
}

std::string descriptorText(const std::optional<Descriptor>& descriptor) {
  if (!descriptor) return kMiss;
  return descriptor->digest + " " + std::to_string(descriptor->size) + " [" + descriptor->mediaType + "]";
}

namespace {

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BlobDescriptorCacheConformance);

// Runs body(thread) on 8 threads and joins them.
void onEightThreads(const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back(body, t);
  for (auto& thread : threads) thread.join();
}

TEST_P(BlobDescriptorCacheConformance, StatOfAnUnknownDigestIsAMiss) {
  EXPECT_EQ(descriptorText(cache_->stat(context_, numberedDigest(1))), kMiss);
  EXPECT_EQ(descriptorText(cache_->repositoryScoped("library/ubuntu")->stat(context_, numberedDigest(1))),
            kMiss);
}

TEST_P(BlobDescriptorCacheConformance, SetThenStatReturnsTheDescriptor) {
  const std::vector<Descriptor> descriptors = {
      numberedDescriptor(1),
      numberedDescriptor(2, 0, ""), // empty blob, no media type
      numberedDescriptor(3, 5LL * 1024 * 1024 * 1024, "application/octet-stream"), // beyond 32 bits
      numberedDescriptor(4, 7, "text/plain; charset=utf-8"),
      numberedDescriptor(5, 9, "odd\r\n*1\r\n$4\r\nPING\r\n"), // protocol bytes stay data
  };
  for (const auto& d : descriptors) cache_->setDescriptor(context_, d.digest, d);
  for (const auto& d : descriptors)
    EXPECT_EQ(descriptorText(cache_->stat(context_, d.digest)), descriptorText(d));
}

TEST_P(BlobDescriptorCacheConformance, SetThenStatInARepositoryScope) {
  auto repository = cache_->repositoryScoped("library/ubuntu");
  Descriptor manifest = numberedDescriptor(1, 529, "application/vnd.oci.image.manifest.v1+json");
  repository->setDescriptor(context_, manifest.digest, manifest);
  EXPECT_EQ(descriptorText(repository->stat(context_, manifest.digest)), descriptorText(manifest));
}

TEST_P(BlobDescriptorCacheConformance, SetOverwritesTheDescriptor) {
  auto repository = cache_->repositoryScoped("library/ubuntu");
  for (BlobDescriptorService* scope : {static_cast<BlobDescriptorService*>(cache_.get()), repository.get()}) {
    scope->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1, 10, "application/octet-stream"));
    Descriptor second = numberedDescriptor(1, 10, "application/vnd.docker.image.rootfs.diff.tar.gzip");
    scope->setDescriptor(context_, numberedDigest(1), second);
    EXPECT_EQ(descriptorText(scope->stat(context_, numberedDigest(1))), descriptorText(second));
  }
}

TEST_P(BlobDescriptorCacheConformance, ClearRemovesOnlyThatDigest) {
  auto repository = cache_->repositoryScoped("library/ubuntu");
  for (BlobDescriptorService* scope : {static_cast<BlobDescriptorService*>(cache_.get()), repository.get()}) {
    scope->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
    scope->setDescriptor(context_, numberedDigest(2), numberedDescriptor(2));
    scope->clear(context_, numberedDigest(1));
    EXPECT_EQ(descriptorText(scope->stat(context_, numberedDigest(1))), kMiss);
    EXPECT_EQ(descriptorText(scope->stat(context_, numberedDigest(2))),
              descriptorText(numberedDescriptor(2)));
  }
}

TEST_P(BlobDescriptorCacheConformance, ClearOfAnUnknownDigestIsNotAnError) {
  EXPECT_NO_THROW(cache_->clear(context_, numberedDigest(9)));
  EXPECT_NO_THROW(cache_->repositoryScoped("library/ubuntu")->clear(context_, numberedDigest(9)));
}

TEST_P(BlobDescriptorCacheConformance, GlobalClearLeavesRepositoryEntries) {
  auto repository = cache_->repositoryScoped("library/ubuntu");
  cache_->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  repository->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  cache_->clear(context_, numberedDigest(1));
  EXPECT_EQ(descriptorText(cache_->stat(context_, numberedDigest(1))), kMiss);
  EXPECT_EQ(descriptorText(repository->stat(context_, numberedDigest(1))),
            descriptorText(numberedDescriptor(1)));
}

TEST_P(BlobDescriptorCacheConformance, RepositoryClearLeavesTheGlobalEntry) {
  auto repository = cache_->repositoryScoped("library/ubuntu");
  cache_->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  repository->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  repository->clear(context_, numberedDigest(1));
  EXPECT_EQ(descriptorText(repository->stat(context_, numberedDigest(1))), kMiss);
  EXPECT_EQ(descriptorText(cache_->stat(context_, numberedDigest(1))), descriptorText(numberedDescriptor(1)));
}

TEST_P(BlobDescriptorCacheConformance, GlobalAndRepositoryScopesAreSeparate) {
  auto repository = cache_->repositoryScoped("library/ubuntu");
  repository->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  cache_->setDescriptor(context_, numberedDigest(2), numberedDescriptor(2));
  EXPECT_EQ(descriptorText(cache_->stat(context_, numberedDigest(1))), kMiss);
  EXPECT_EQ(descriptorText(repository->stat(context_, numberedDigest(2))), kMiss);
}

TEST_P(BlobDescriptorCacheConformance, RepositoryScopesAreIndependent) {
  auto ubuntu = cache_->repositoryScoped("library/ubuntu");
  auto nested = cache_->repositoryScoped("library/ubuntu/base");
  auto other = cache_->repositoryScoped("other");
  Descriptor asManifest = numberedDescriptor(1, 100, "application/vnd.oci.image.manifest.v1+json");
  Descriptor asIndex = numberedDescriptor(1, 100, "application/vnd.oci.image.index.v1+json");
  ubuntu->setDescriptor(context_, numberedDigest(1), asManifest);
  nested->setDescriptor(context_, numberedDigest(1), asIndex);
  EXPECT_EQ(descriptorText(other->stat(context_, numberedDigest(1))), kMiss);
  EXPECT_EQ(descriptorText(ubuntu->stat(context_, numberedDigest(1))), descriptorText(asManifest));
  EXPECT_EQ(descriptorText(nested->stat(context_, numberedDigest(1))), descriptorText(asIndex));

  other->clear(context_, numberedDigest(1));
  nested->clear(context_, numberedDigest(1));
  EXPECT_EQ(descriptorText(nested->stat(context_, numberedDigest(1))), kMiss);
  EXPECT_EQ(descriptorText(ubuntu->stat(context_, numberedDigest(1))), descriptorText(asManifest));
}

TEST_P(BlobDescriptorCacheConformance, ScopesOfOneRepositoryShareTheirEntries) {
  cache_->repositoryScoped("library/ubuntu")
      ->setDescriptor(context_, numberedDigest(1), numberedDescriptor(1));
  // A new scope object (the server makes one per request) sees what the first set.
  auto again = cache_->repositoryScoped("library/ubuntu");
  EXPECT_EQ(descriptorText(again->stat(context_, numberedDigest(1))), descriptorText(numberedDescriptor(1)));
  again->clear(context_, numberedDigest(1));
  EXPECT_EQ(descriptorText(cache_->repositoryScoped("library/ubuntu")->stat(context_, numberedDigest(1))),
            kMiss);
}

TEST_P(BlobDescriptorCacheConformance, TheServersManifestScopeIsSeparateFromTheLayerScope) {
  // BlobStore scopes manifests as "<name>/_manifests", a name no repository can have.
  auto layers = cache_->repositoryScoped("library/ubuntu");
  auto manifests = cache_->repositoryScoped("library/ubuntu/_manifests");
  Descriptor manifest = numberedDescriptor(1, 529, "application/vnd.oci.image.manifest.v1+json");
  manifests->setDescriptor(context_, manifest.digest, manifest);
  EXPECT_EQ(descriptorText(manifests->stat(context_, manifest.digest)), descriptorText(manifest));
  EXPECT_EQ(descriptorText(layers->stat(context_, manifest.digest)), kMiss);
}

TEST_P(BlobDescriptorCacheConformance, AcceptsEveryDistributionDigestAlgorithm) {
  auto repository = cache_->repositoryScoped("library/ubuntu");
  for (const std::string algorithm : {"sha256", "sha384", "sha512"}) {
    Descriptor d{numberedDigest(7, algorithm), 42, "application/octet-stream"};
    cache_->setDescriptor(context_, d.digest, d);
    repository->setDescriptor(context_, d.digest, d);
    EXPECT_EQ(descriptorText(cache_->stat(context_, d.digest)), descriptorText(d));
    EXPECT_EQ(descriptorText(repository->stat(context_, d.digest)), descriptorText(d));
  }
}

TEST_P(BlobDescriptorCacheConformance, InvalidDigestsAreRejected) {
  const std::string hex = numberedDigest(1).substr(7);
  const std::vector<std::string> invalid = {
      "",
      "sha256",
      "sha256:",
      ":" + hex,
      hex,
      "sha256:" + hex.substr(1),                             // too short
      "sha256:" + hex + "0",                                 // too long
      "sha256:" + std::string(64, 'g'),                      // not hex
      "sha256:" + std::string(64, 'A'),                      // upper case
      "SHA256:" + hex,                                       // algorithm in upper case
      "md5:" + hex.substr(0, 32),                            // no such algorithm
      "sha512:" + hex,                                       // the length of another algorithm
      "sha256:" + hex + "\r\n",                              // protocol bytes
      "library/ubuntu@sha256:" + hex,                        // what a repository key could look like
      "sha256:" + hex.substr(0, 32) + "::" + hex.substr(34), // what a Redis key separator looks like
  };
  auto repository = cache_->repositoryScoped("library/ubuntu");
  for (BlobDescriptorService* scope : {static_cast<BlobDescriptorService*>(cache_.get()), repository.get()}) {
    for (const auto& bad : invalid) {
      Descriptor d{bad, 1, "application/octet-stream"};
      EXPECT_THROW(scope->stat(context_, bad), std::invalid_argument) << "\"" << bad << "\"";
      EXPECT_THROW(scope->setDescriptor(context_, bad, d), std::invalid_argument) << "\"" << bad << "\"";
      EXPECT_THROW(scope->clear(context_, bad), std::invalid_argument) << "\"" << bad << "\"";
    }
  }
}

TEST_P(BlobDescriptorCacheConformance, InvalidDescriptorsAreRejected) {
  auto repository = cache_->repositoryScoped("library/ubuntu");
  for (BlobDescriptorService* scope : {static_cast<BlobDescriptorService*>(cache_.get()), repository.get()}) {
    EXPECT_THROW(scope->setDescriptor(context_, numberedDigest(1), Descriptor{numberedDigest(1), -1, "x/y"}),
                 std::invalid_argument);
    EXPECT_THROW(scope->setDescriptor(context_, numberedDigest(1), Descriptor{"sha256:nope", 1, "x/y"}),
                 std::invalid_argument);
    // The same algorithm naming another blob is a mistake; another algorithm is
    // another name of the same blob, as Distribution allows.
    EXPECT_THROW(scope->setDescriptor(context_, numberedDigest(1), Descriptor{numberedDigest(2), 1, "x/y"}),
                 std::invalid_argument);
    Descriptor bySha512{numberedDigest(1, "sha512"), 1, "x/y"};
    scope->setDescriptor(context_, numberedDigest(1), bySha512);
    EXPECT_EQ(descriptorText(scope->stat(context_, numberedDigest(1))), descriptorText(bySha512));
  }
}

TEST_P(BlobDescriptorCacheConformance, InvalidRepositoryNamesAreRejected) {
  for (const std::string bad :
       {"", "library:ubuntu", "library/ubuntu@sha256", "Library/Ubuntu", "a b", "a\r\nb", "repo::blobs"}) {
    EXPECT_THROW(cache_->repositoryScoped(bad), std::invalid_argument) << "\"" << bad << "\"";
  }
  EXPECT_NO_THROW(cache_->repositoryScoped("registry.example.com/team_a/app-1.2"));
}

TEST_P(BlobDescriptorCacheConformance, ConcurrentUseFromEightThreads) {
  constexpr int kIterations = 100;
  constexpr unsigned long long kShared = 999999;
  std::atomic<int> failures{0};
  std::mutex mutex;
  std::string firstFailure;
  auto fail = [&](const std::string& what) {
    if (failures++ == 0) {
      std::lock_guard lock(mutex);
      firstFailure = what;
    }
  };
  onEightThreads([&](int thread) {
    try {
      auto repository = cache_->repositoryScoped("repo" + std::to_string(thread % 2));
      for (int i = 0; i < kIterations; ++i) {
        unsigned long long n =
            static_cast<unsigned long long>(thread) * 1000 + static_cast<unsigned long long>(i);
        Descriptor own = numberedDescriptor(n, static_cast<std::int64_t>(n));
        cache_->setDescriptor(context_, own.digest, own);
        repository->setDescriptor(context_, own.digest, own);
        if (descriptorText(cache_->stat(context_, own.digest)) != descriptorText(own))
          fail("global " + own.digest);
        if (descriptorText(repository->stat(context_, own.digest)) != descriptorText(own))
          fail("repository " + own.digest);
        if (i % 3 == 0) {
          cache_->clear(context_, own.digest);
          repository->clear(context_, own.digest);
          if (cache_->stat(context_, own.digest) || repository->stat(context_, own.digest))
            fail("cleared " + own.digest);
        }
        // Every thread writes and reads one hot digest: a reader sees a whole descriptor.
        cache_->setDescriptor(context_, numberedDigest(kShared), numberedDescriptor(kShared, thread));
        auto shared = cache_->stat(context_, numberedDigest(kShared));
        if (shared && (shared->digest != numberedDigest(kShared) || shared->size < 0 || shared->size > 7))
          fail("torn " + descriptorText(shared));
      }
    } catch (const std::exception& e) {
      fail(std::string("exception: ") + e.what());
    }
  });
  EXPECT_EQ(failures.load(), 0) << firstFailure;
  // What each thread left behind is there.
  for (int thread = 0; thread < 8; ++thread) {
    unsigned long long n = static_cast<unsigned long long>(thread) * 1000 + 1;
    EXPECT_EQ(descriptorText(cache_->stat(context_, numberedDigest(n))),
              descriptorText(numberedDescriptor(n, static_cast<std::int64_t>(n))));
  }
}

} // namespace
} // namespace pier::testing
