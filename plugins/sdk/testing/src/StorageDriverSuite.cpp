// The storage driver conformance suite, part one: content in and out —
// putContent, readers, writers (append, cancel, commit) and concurrent
// writers. Part two (StorageDriverTreeSuite.cpp) is the tree: list, walk,
// move, remove, stat and path checks.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pier/errors.hpp>

#include "pier/testing/storage_driver_suite.hpp"

namespace pier::testing {

namespace detail {
int storageDriverTreeAnchor();

int storageDriverConformanceAnchor() {
  return storageDriverTreeAnchor();
}
} // namespace detail

void PrintTo(const StorageDriverTarget& target, std::ostream* out) {
  *out << "storage driver \"" << target.name << "\"";
}

std::ostream& operator<<(std::ostream& out, const Visit& visit) {
  return out << visit.path << (visit.isDirectory ? "/" : "");
}

void StorageDriverConformance::SetUp() {
  ASSERT_TRUE(GetParam().factory) << "the target names no factory";
  try {
    driver_ = GetParam().factory();
  } catch (const Unavailable& unavailable) {
    GTEST_SKIP() << unavailable.what();
  }
  ASSERT_NE(driver_, nullptr) << "the factory gave no driver";
}

void StorageDriverConformance::TearDown() {
  driver_.reset();
}

void StorageDriverConformance::commitFile(const std::string& path, std::string_view content) {
  auto writer = driver_->writer(context_, path, false);
  writer->write(context_, content.data(), content.size());
  writer->commit(context_);
}

std::vector<Visit>
StorageDriverConformance::walk(const std::string& path,
                               const std::function<WalkControl(const FileInfo&)>& control) {
  std::vector<Visit> visits;
  driver_->walk(context_, path, [&](const FileInfo& info) {
    visits.push_back({info.path, info.isDirectory});
    return control ? control(info) : WalkControl::proceed;
  });
  return visits;
}

namespace {

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StorageDriverConformance);

TEST_P(StorageDriverConformance, HasItsRegisteredName) {
  EXPECT_EQ(driver_->name(), GetParam().name);
}

TEST_P(StorageDriverConformance, PutContentRoundTripsEmptyAndSmallContent) {
  driver_->putContent(context_, "/empty", "");
  EXPECT_EQ(driver_->getContent(context_, "/empty"), "");
  EXPECT_EQ(driver_->stat(context_, "/empty").size, 0);

  const std::string binary("small\0content\xff\x01 with every byte", 32);
  driver_->putContent(context_, "/a/b/small", binary);
  EXPECT_EQ(driver_->getContent(context_, "/a/b/small"), binary);
  FileInfo info = driver_->stat(context_, "/a/b/small");
  EXPECT_EQ(info.path, "/a/b/small");
  EXPECT_EQ(info.size, 32);
  EXPECT_FALSE(info.isDirectory);

  driver_->putContent(context_, "/a/b/small", "replaced");
  EXPECT_EQ(driver_->getContent(context_, "/a/b/small"), "replaced");
  EXPECT_EQ(driver_->stat(context_, "/a/b/small").size, 8);
}

TEST_P(StorageDriverConformance, PutContentRoundTrips100MiB) {
  const std::size_t kLarge = GetParam().largeSize;
  {
    std::string content = pattern(kLarge, 1);
    driver_->putContent(context_, "/large/data", content);
  }
  EXPECT_EQ(driver_->stat(context_, "/large/data").size, static_cast<std::int64_t>(kLarge));
  std::string content = driver_->getContent(context_, "/large/data");
  ASSERT_EQ(content.size(), kLarge);
  EXPECT_TRUE(matchesPattern(content, 0, 1));
}

TEST_P(StorageDriverConformance, WriterAndReaderRoundTripEmptyAndSmallContent) {
  auto writer = driver_->writer(context_, "/w/empty", false);
  EXPECT_EQ(writer->size(), 0);
  writer->commit(context_);
  EXPECT_EQ(driver_->getContent(context_, "/w/empty"), "");
  EXPECT_EQ(readAll(*driver_->reader(context_, "/w/empty", 0)), "");

  writer = driver_->writer(context_, "/w/small", false);
  writePattern(context_, *writer, 0, 1234, 2, 100);
  EXPECT_EQ(writer->size(), 1234);
  writer->commit(context_);
  EXPECT_EQ(driver_->stat(context_, "/w/small").size, 1234);
  EXPECT_TRUE(readsPattern(*driver_->reader(context_, "/w/small", 0), 0, 1234, 2, 7));
  EXPECT_TRUE(matchesPattern(driver_->getContent(context_, "/w/small"), 0, 2));
}

TEST_P(StorageDriverConformance, WriterAndReaderRoundTrip100MiB) {
  const std::size_t kLarge = GetParam().largeSize;
  auto writer = driver_->writer(context_, "/w/large", false);
  writePattern(context_, *writer, 0, kLarge, 3);
  EXPECT_EQ(writer->size(), static_cast<std::int64_t>(kLarge));
  writer->commit(context_);
  writer.reset();
  EXPECT_EQ(driver_->stat(context_, "/w/large").size, static_cast<std::int64_t>(kLarge));
  EXPECT_TRUE(readsPattern(*driver_->reader(context_, "/w/large", 0), 0, kLarge, 3));
  const std::int64_t middle = static_cast<std::int64_t>(kLarge / 2 + 12345);
  EXPECT_TRUE(readsPattern(*driver_->reader(context_, "/w/large", middle), middle, kLarge, 3));
}

TEST_P(StorageDriverConformance, ReadersStartAtTheirOffset) {
  const std::string content = pattern(1000, 4);
  driver_->putContent(context_, "/r/file", content);

  EXPECT_EQ(readAll(*driver_->reader(context_, "/r/file", 0), 7), content);
  EXPECT_EQ(readAll(*driver_->reader(context_, "/r/file", 500)), content.substr(500));
  EXPECT_EQ(readAll(*driver_->reader(context_, "/r/file", 999)), content.substr(999));

  auto atEnd = driver_->reader(context_, "/r/file", 1000);
  char buffer[16];
  EXPECT_EQ(atEnd->read(buffer, sizeof buffer), 0u);
  EXPECT_EQ(atEnd->read(buffer, sizeof buffer), 0u);

  EXPECT_THROW(driver_->reader(context_, "/r/file", 1001), pier::InvalidOffsetError);
  EXPECT_THROW(driver_->reader(context_, "/r/file", -1), pier::InvalidOffsetError);

  driver_->putContent(context_, "/r/empty", "");
  EXPECT_EQ(driver_->reader(context_, "/r/empty", 0)->read(buffer, sizeof buffer), 0u);
  EXPECT_THROW(driver_->reader(context_, "/r/empty", 1), pier::InvalidOffsetError);
}

TEST_P(StorageDriverConformance, ReaderKeepsReadingWhenTheFileIsReplaced) {
  driver_->putContent(context_, "/r/file", "original content");
  auto reader = driver_->reader(context_, "/r/file", 9);
  driver_->putContent(context_, "/r/file", "new");
  EXPECT_EQ(readAll(*reader), "content");
  EXPECT_EQ(driver_->getContent(context_, "/r/file"), "new");
}

TEST_P(StorageDriverConformance, WriterAppendsAcrossReopen) {
  const std::string path = "/uploads/one/data";
  auto writer = driver_->writer(context_, path, false);
  writer->write(context_, "hello ", 6);
  EXPECT_EQ(writer->size(), 6);
  writer->close(context_);
  writer.reset();

  writer = driver_->writer(context_, path, true);
  EXPECT_EQ(writer->size(), 6);
  writer->write(context_, "world", 5);
  EXPECT_EQ(writer->size(), 11);
  writer->commit(context_);
  EXPECT_EQ(driver_->getContent(context_, path), "hello world");
  EXPECT_EQ(driver_->stat(context_, path).size, 11);

  // Three sessions of pattern bytes with odd boundaries; the second ends by
  // destruction, which keeps the content as close() does.
  const std::string large = "/uploads/two/data";
  const std::uint64_t first = kMiB + 17, second = 3 * kMiB + 5, total = 4 * kMiB + 1;
  writer = driver_->writer(context_, large, false);
  writePattern(context_, *writer, 0, first, 5, 65536);
  writer->close(context_);
  writer = driver_->writer(context_, large, true);
  EXPECT_EQ(writer->size(), static_cast<std::int64_t>(first));
  writePattern(context_, *writer, first, second, 5, 10000);
  writer.reset();
  writer = driver_->writer(context_, large, true);
  EXPECT_EQ(writer->size(), static_cast<std::int64_t>(second));
  writePattern(context_, *writer, second, total, 5);
  EXPECT_EQ(writer->size(), static_cast<std::int64_t>(total));
  writer->commit(context_);
  EXPECT_EQ(driver_->stat(context_, large).size, static_cast<std::int64_t>(total));
  EXPECT_TRUE(readsPattern(*driver_->reader(context_, large, 0), 0, total, 5));
}

TEST_P(StorageDriverConformance, WriterWithoutAppendDiscardsUncommittedContent) {
  auto writer = driver_->writer(context_, "/u/data", false);
  writer->write(context_, "old content", 11);
  writer->close(context_);

  writer = driver_->writer(context_, "/u/data", false);
  EXPECT_EQ(writer->size(), 0);
  writer->write(context_, "new", 3);
  writer->commit(context_);
  EXPECT_EQ(driver_->getContent(context_, "/u/data"), "new");

  // With nothing uncommitted, appending continues the committed content,
  // which stays readable as it was until the commit.
  writer = driver_->writer(context_, "/u/data", true);
  EXPECT_EQ(writer->size(), 3);
  writer->write(context_, "er", 2);
  EXPECT_EQ(driver_->getContent(context_, "/u/data"), "new");
  writer->commit(context_);
  EXPECT_EQ(driver_->getContent(context_, "/u/data"), "newer");
}

TEST_P(StorageDriverConformance, UncommittedContentIsNotVisible) {
  driver_->putContent(context_, "/dir/file", "old");
  auto replacing = driver_->writer(context_, "/dir/file", false);
  replacing->write(context_, "new content", 11);
  auto creating = driver_->writer(context_, "/dir/other", false);
  creating->write(context_, "x", 1);

  auto expectOnlyTheOldFile = [&] {
    EXPECT_EQ(driver_->getContent(context_, "/dir/file"), "old");
    EXPECT_EQ(driver_->stat(context_, "/dir/file").size, 3);
    EXPECT_EQ(readAll(*driver_->reader(context_, "/dir/file", 0)), "old");
    EXPECT_THROW(driver_->stat(context_, "/dir/other"), pier::PathNotFoundError);
    EXPECT_THROW(driver_->getContent(context_, "/dir/other"), pier::PathNotFoundError);
    EXPECT_THROW(driver_->reader(context_, "/dir/other", 0), pier::PathNotFoundError);
    EXPECT_EQ(driver_->list(context_, "/dir"), std::vector<std::string>{"/dir/file"});
    EXPECT_EQ(walk("/"), (std::vector<Visit>{{"/dir", true}, {"/dir/file", false}}));
  };
  expectOnlyTheOldFile();
  replacing->close(context_);
  creating->close(context_);
  expectOnlyTheOldFile();

  replacing = driver_->writer(context_, "/dir/file", true);
  replacing->commit(context_);
  creating = driver_->writer(context_, "/dir/other", true);
  creating->commit(context_);
  EXPECT_EQ(driver_->getContent(context_, "/dir/file"), "new content");
  EXPECT_EQ(driver_->getContent(context_, "/dir/other"), "x");
  EXPECT_EQ(driver_->list(context_, "/dir"), (std::vector<std::string>{"/dir/file", "/dir/other"}));
}

TEST_P(StorageDriverConformance, CancelDiscardsContent) {
  auto writer = driver_->writer(context_, "/c/data", false);
  writer->write(context_, "data", 4);
  writer->cancel(context_);
  EXPECT_THROW(driver_->stat(context_, "/c/data"), pier::PathNotFoundError);
  writer = driver_->writer(context_, "/c/data", true);
  EXPECT_EQ(writer->size(), 0);
  writer->cancel(context_);

  // Cancel discards the earlier content the writer appended to as well.
  writer = driver_->writer(context_, "/c/data", false);
  writer->write(context_, "first", 5);
  writer->close(context_);
  writer = driver_->writer(context_, "/c/data", true);
  writer->write(context_, "second", 6);
  writer->cancel(context_);
  writer = driver_->writer(context_, "/c/data", true);
  EXPECT_EQ(writer->size(), 0);
  writer->cancel(context_);
  EXPECT_THROW(driver_->getContent(context_, "/c/data"), pier::PathNotFoundError);

  // Cancelling a replacement keeps the committed file.
  driver_->putContent(context_, "/c/kept", "keep");
  writer = driver_->writer(context_, "/c/kept", false);
  writer->write(context_, "lost", 4);
  writer->cancel(context_);
  EXPECT_EQ(driver_->getContent(context_, "/c/kept"), "keep");
}

TEST_P(StorageDriverConformance, ConcurrentWritersToDifferentPathsAllLandIntact) {
  constexpr int kThreads = 8;
  auto sizeOf = [](int i) { return static_cast<std::uint64_t>(2 * kMiB + 1000 * i + i); };
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      try {
        const std::string directory = "/concurrent/" + std::to_string(i);
        auto writer = driver_->writer(context_, directory + "/data", false);
        writePattern(context_, *writer, 0, sizeOf(i), 100 + i, 4096 + 17 * i);
        writer->commit(context_);
        driver_->putContent(context_, directory + "/meta", "writer " + std::to_string(i));
      } catch (const std::exception& error) {
        std::lock_guard lock(mutex);
        failures.push_back("writer " + std::to_string(i) + ": " + error.what());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(failures.empty()) << failures.front();

  std::vector<std::string> expected;
  for (int i = 0; i < kThreads; ++i) {
    const std::string directory = "/concurrent/" + std::to_string(i);
    expected.push_back(directory);
    EXPECT_EQ(driver_->stat(context_, directory + "/data").size, static_cast<std::int64_t>(sizeOf(i)));
    EXPECT_TRUE(readsPattern(*driver_->reader(context_, directory + "/data", 0), 0, sizeOf(i), 100 + i)) << i;
    EXPECT_EQ(driver_->getContent(context_, directory + "/meta"), "writer " + std::to_string(i));
  }
  EXPECT_EQ(driver_->list(context_, "/concurrent"), expected);
}

} // namespace
} // namespace pier::testing
