// One suite every storage driver runs (StorageDriverTest, parameterised by the
// driver's name), plus tests of what only the filesystem driver promises. The
// drivers are the real plugins, loaded by the real plugin loader.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>

#include <pier/context.hpp>
#include <pier/errors.hpp>
#include <pier/storage_driver.hpp>

#include "DriverTestSupport.hpp"
#include "S3TestServer.hpp"
#include "plugin/PluginLoader.hpp"

namespace {

namespace fs = std::filesystem;
using pier::FileInfo;
using pier::WalkControl;

using pier::test::kMiB;
using pier::test::readAll;
constexpr std::size_t kLarge = 100 * kMiB;

// Keeps what drivers log; prints warnings and errors so that a failing test shows them.
class TestLogger final : public pier::Logger {
public:
  void log(pier::LogLevel level, std::string_view message) override {
    std::lock_guard lock(mutex_);
    if (level >= pier::LogLevel::warn) std::cerr << "[driver log] " << message << '\n';
    lines_.emplace_back(message);
  }
  bool enabled(pier::LogLevel /*level*/) const override { return true; }

private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

// One loader for the whole program: the plugin libraries stay loaded until exit,
// after every driver made from them is gone.
pier::PluginLoader& pluginLoader() {
  static pier::PluginLoader loader;
  static std::once_flag loaded;
  std::call_once(loaded, [] { loader.loadDirectory(PIER_TEST_PLUGIN_DIR); });
  return loader;
}

std::shared_ptr<pier::StorageDriver>
createDriver(const std::string& name, const Poco::JSON::Object& parameters = Poco::JSON::Object()) {
  return pluginLoader().catalog().createStorageDriver(name, parameters);
}

std::shared_ptr<pier::StorageDriver> createFilesystemDriver(const fs::path& root) {
  Poco::JSON::Object parameters;
  parameters.set("rootdirectory", root.string());
  return createDriver("filesystem", parameters);
}

// A fresh directory under the system's temporary directory, removed with everything in it.
class ScratchDirectory {
public:
  ScratchDirectory() {
    static std::atomic<int> counter{0};
    std::random_device random;
    path_ = fs::temp_directory_path() / ("pier-driver-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter++) + "-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  ~ScratchDirectory() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

// Deterministic content: the byte at a position depends on the seed and the
// position, so a misplaced, missing or repeated chunk does not match.
std::uint64_t mix(std::uint64_t seed, std::uint64_t block) {
  std::uint64_t z = block * 0x9E3779B97F4A7C15ull + seed * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void fillPattern(char* out, std::size_t size, std::uint64_t offset, std::uint64_t seed) {
  std::size_t i = 0;
  while (i < size) {
    std::uint64_t position = offset + i;
    std::uint64_t value = mix(seed, position / 8);
    std::size_t skip = position % 8;
    std::size_t count = std::min<std::size_t>(8 - skip, size - i);
    std::memcpy(out + i, reinterpret_cast<const char*>(&value) + skip, count);
    i += count;
  }
}

std::string pattern(std::size_t size, std::uint64_t seed, std::uint64_t offset = 0) {
  std::string content(size, '\0');
  fillPattern(content.data(), size, offset, seed);
  return content;
}

::testing::AssertionResult matchesPattern(std::string_view data, std::uint64_t offset, std::uint64_t seed) {
  std::string expected(kMiB, '\0');
  for (std::size_t done = 0; done < data.size();) {
    std::size_t count = std::min(kMiB, data.size() - done);
    fillPattern(expected.data(), count, offset + done, seed);
    if (std::memcmp(expected.data(), data.data() + done, count) != 0) {
      std::size_t at = 0;
      while (expected[at] == data[done + at]) ++at;
      return ::testing::AssertionFailure() << "content differs at byte " << (offset + done + at);
    }
    done += count;
  }
  return ::testing::AssertionSuccess();
}

// Writes the pattern's bytes [begin, end) in chunks.
void writePattern(const pier::Context& context, pier::FileWriter& writer, std::uint64_t begin, std::uint64_t end, std::uint64_t seed,
                  std::size_t chunk = kMiB) {
  std::string buffer(chunk, '\0');
  for (std::uint64_t position = begin; position < end;) {
    std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, end - position));
    fillPattern(buffer.data(), count, position, seed);
    writer.write(context, buffer.data(), count);
    position += count;
  }
}

// Reads the reader to its end and compares with the pattern's bytes [begin, end).
::testing::AssertionResult readsPattern(pier::FileReader& reader, std::uint64_t begin, std::uint64_t end,
                                        std::uint64_t seed, std::size_t chunk = kMiB) {
  std::string buffer(chunk, '\0');
  std::uint64_t position = begin;
  for (;;) {
    std::size_t count = reader.read(buffer.data(), chunk);
    if (count == 0) break;
    if (position + count > end)
      return ::testing::AssertionFailure()
             << "read past the expected end " << end << " (at " << position << ")";
    auto result = matchesPattern(std::string_view(buffer.data(), count), position, seed);
    if (!result) return result;
    position += count;
  }
  if (position != end)
    return ::testing::AssertionFailure() << "read ended at " << position << ", expected " << end;
  return ::testing::AssertionSuccess();
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> directoryNames(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

struct Visit {
  std::string path;
  bool isDirectory;
  bool operator==(const Visit&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Visit& visit) {
  return out << visit.path << (visit.isDirectory ? "/" : "");
}

class StorageDriverTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (GetParam() == "filesystem") {
      scratch_ = std::make_unique<ScratchDirectory>();
      root_ = scratch_->path() / "root"; // created by the driver when it first writes
      driver_ = createFilesystemDriver(root_);
    } else if (GetParam() == "s3") {
      Poco::JSON::Object parameters = pier::test::s3TestParameters();
      parameters.set("rootdirectory", pier::test::uniqueS3Root());
      driver_ = createDriver("s3", parameters);
    } else {
      driver_ = createDriver(GetParam());
    }
    ASSERT_NE(driver_, nullptr);
  }

  void TearDown() override {
    if (driver_ && GetParam() == "s3") {
      try {
        driver_->remove(context_, "/");
      } catch (const std::exception&) {
      }
    }
    driver_.reset();
    scratch_.reset();
  }

  bool isFilesystem() const { return GetParam() == "filesystem"; }

  void commitFile(const std::string& path, std::string_view content) {
    auto writer = driver_->writer(context_, path, false);
    writer->write(context_, content.data(), content.size());
    writer->commit(context_);
  }

  std::vector<Visit> walk(const std::string& path,
                          const std::function<WalkControl(const FileInfo&)>& control = nullptr) {
    std::vector<Visit> visits;
    driver_->walk(context_, path, [&](const FileInfo& info) {
      visits.push_back({info.path, info.isDirectory});
      return control ? control(info) : WalkControl::proceed;
    });
    return visits;
  }

  TestLogger logger_;
  pier::Context context_{"storage-driver-test", logger_};
  std::unique_ptr<ScratchDirectory> scratch_;
  fs::path root_;
  std::shared_ptr<pier::StorageDriver> driver_;
};

TEST_P(StorageDriverTest, HasItsRegisteredName) {
  EXPECT_EQ(driver_->name(), GetParam());
}

TEST_P(StorageDriverTest, PutContentRoundTripsEmptyAndSmallContent) {
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

TEST_P(StorageDriverTest, PutContentRoundTrips100MiB) {
  {
    std::string content = pattern(kLarge, 1);
    driver_->putContent(context_, "/large/data", content);
  }
  EXPECT_EQ(driver_->stat(context_, "/large/data").size, static_cast<std::int64_t>(kLarge));
  std::string content = driver_->getContent(context_, "/large/data");
  ASSERT_EQ(content.size(), kLarge);
  EXPECT_TRUE(matchesPattern(content, 0, 1));
}

TEST_P(StorageDriverTest, WriterAndReaderRoundTripEmptyAndSmallContent) {
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

TEST_P(StorageDriverTest, WriterAndReaderRoundTrip100MiB) {
  auto writer = driver_->writer(context_, "/w/large", false);
  writePattern(context_, *writer, 0, kLarge, 3);
  EXPECT_EQ(writer->size(), static_cast<std::int64_t>(kLarge));
  writer->commit(context_);
  writer.reset();
  EXPECT_EQ(driver_->stat(context_, "/w/large").size, static_cast<std::int64_t>(kLarge));
  EXPECT_TRUE(readsPattern(*driver_->reader(context_, "/w/large", 0), 0, kLarge, 3));
  const std::int64_t middle = kLarge / 2 + 12345;
  EXPECT_TRUE(readsPattern(*driver_->reader(context_, "/w/large", middle), middle, kLarge, 3));
}

TEST_P(StorageDriverTest, ReadersStartAtTheirOffset) {
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

TEST_P(StorageDriverTest, ReaderKeepsReadingWhenTheFileIsReplaced) {
  driver_->putContent(context_, "/r/file", "original content");
  auto reader = driver_->reader(context_, "/r/file", 9);
  driver_->putContent(context_, "/r/file", "new");
  EXPECT_EQ(readAll(*reader), "content");
  EXPECT_EQ(driver_->getContent(context_, "/r/file"), "new");
}

TEST_P(StorageDriverTest, WriterAppendsAcrossReopen) {
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

TEST_P(StorageDriverTest, WriterWithoutAppendDiscardsUncommittedContent) {
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

TEST_P(StorageDriverTest, UncommittedContentIsNotVisible) {
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

TEST_P(StorageDriverTest, CancelDiscardsContent) {
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

TEST_P(StorageDriverTest, ConcurrentWritersToDifferentPathsAllLandIntact) {
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

TEST_P(StorageDriverTest, ListsChildrenInLexicalOrder) {
  EXPECT_EQ(driver_->list(context_, "/"), std::vector<std::string>{});
  for (const char* name : {"ab", "a0", "a.b", "a-b", "B", "a/inside"})
    driver_->putContent(context_, std::string("/tree/") + name, name);
  EXPECT_EQ(
      driver_->list(context_, "/tree"),
      (std::vector<std::string>{"/tree/B", "/tree/a", "/tree/a-b", "/tree/a.b", "/tree/a0", "/tree/ab"}));
  EXPECT_EQ(driver_->list(context_, "/tree/a"), std::vector<std::string>{"/tree/a/inside"});
  EXPECT_EQ(driver_->list(context_, "/"), std::vector<std::string>{"/tree"});
  EXPECT_THROW(driver_->list(context_, "/tree/ab"), pier::PathNotFoundError) << "a file is not a directory";
}

TEST_P(StorageDriverTest, ListPagesFollowLexicalOrder) {
  for (const char* name : {"ab", "a0", "a.b", "a-b", "B", "a/inside"})
    driver_->putContent(context_, std::string("/tree/") + name, name);
  const std::vector<std::string> all{"/tree/B", "/tree/a", "/tree/a-b", "/tree/a.b", "/tree/a0", "/tree/ab"};
  // Pages of two, each starting after the last path of the one before, cover every child once.
  std::vector<std::string> paged;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    pier::ListPage got = driver_->listPage(context_, "/tree", after, 2);
    ASSERT_LE(got.paths.size(), 2u);
    paged.insert(paged.end(), got.paths.begin(), got.paths.end());
    if (!got.truncated) break;
    ASSERT_FALSE(got.paths.empty()) << "a truncated page holds something";
    after = got.paths.back();
  }
  EXPECT_EQ(paged, all);
  // startAfter need not be a child, and a page past the end is empty.
  EXPECT_EQ(driver_->listPage(context_, "/tree", "/tree/a-", 100).paths,
            (std::vector<std::string>{"/tree/a-b", "/tree/a.b", "/tree/a0", "/tree/ab"}));
  pier::ListPage end = driver_->listPage(context_, "/tree", "/tree/ab", 100);
  EXPECT_TRUE(end.paths.empty());
  EXPECT_FALSE(end.truncated);
  EXPECT_THROW(driver_->listPage(context_, "/missing", "", 10), pier::PathNotFoundError);
}

TEST_P(StorageDriverTest, CapabilitiesAreWhatTheDriverDoes) {
  pier::DriverCapabilities capabilities = driver_->capabilities();
  driver_->putContent(context_, "/cap/file", "content");
  // A driver that says it redirects gives a URL for a file it holds.
  EXPECT_EQ(driver_->redirectURL(context_, {"GET", "/cap/file", std::chrono::seconds(60), {}}).has_value(),
            capabilities.redirects);
  if (capabilities.resumableWriters) {
    // What a closed writer left is there for a writer that appends.
    auto writer = driver_->writer(context_, "/cap/resumed", false);
    writer->write(context_, "left by one", 11);
    writer->close(context_);
    auto resumed = driver_->writer(context_, "/cap/resumed", true);
    EXPECT_EQ(resumed->size(), 11);
    resumed->cancel(context_);
  }
}

TEST_P(StorageDriverTest, WalksDeepTreesDepthFirstInLexicalOrder) {
  driver_->putContent(context_, "/w/a/b/c/d/e/f/deep", "deep");
  driver_->putContent(context_, "/w/a/b/x", "x");
  driver_->putContent(context_, "/w/a/b-c/y", "y");
  driver_->putContent(context_, "/w/a/z", "z");
  driver_->putContent(context_, "/w/b", "b");

  // "/w/a/b" and everything below it come before "/w/a/b-c", although '-' sorts before '/'.
  const std::vector<Visit> all{{"/w/a", true},
                               {"/w/a/b", true},
                               {"/w/a/b/c", true},
                               {"/w/a/b/c/d", true},
                               {"/w/a/b/c/d/e", true},
                               {"/w/a/b/c/d/e/f", true},
                               {"/w/a/b/c/d/e/f/deep", false},
                               {"/w/a/b/x", false},
                               {"/w/a/b-c", true},
                               {"/w/a/b-c/y", false},
                               {"/w/a/z", false},
                               {"/w/b", false}};
  EXPECT_EQ(walk("/w"), all);

  std::vector<Visit> fromRoot{{"/w", true}};
  fromRoot.insert(fromRoot.end(), all.begin(), all.end());
  EXPECT_EQ(walk("/"), fromRoot);

  std::int64_t sizes = 0;
  driver_->walk(context_, "/w", [&](const FileInfo& info) {
    if (info.isDirectory) {
      EXPECT_EQ(info.size, 0) << info.path;
    }
    sizes += info.size;
    return WalkControl::proceed;
  });
  EXPECT_EQ(sizes, 4 + 1 + 1 + 1 + 1);

  auto skipB = walk("/w", [](const FileInfo& info) {
    return info.path == "/w/a/b" ? WalkControl::skipDirectory : WalkControl::proceed;
  });
  EXPECT_EQ(skipB, (std::vector<Visit>{{"/w/a", true},
                                       {"/w/a/b", true},
                                       {"/w/a/b-c", true},
                                       {"/w/a/b-c/y", false},
                                       {"/w/a/z", false},
                                       {"/w/b", false}}));

  auto stopAtX = walk("/w", [](const FileInfo& info) {
    return info.path == "/w/a/b/x" ? WalkControl::stop : WalkControl::proceed;
  });
  EXPECT_EQ(stopAtX, std::vector<Visit>(all.begin(), all.begin() + 8));

  EXPECT_TRUE(walk("/w/a/b/c/d/e/f").size() == 1);
  EXPECT_THROW(walk("/w/missing"), pier::PathNotFoundError);
}

TEST_P(StorageDriverTest, MoveReplacesAnExistingDestination) {
  driver_->putContent(context_, "/src/file", "new");
  driver_->putContent(context_, "/dst/file", "old");
  driver_->move(context_, "/src/file", "/dst/file");
  EXPECT_EQ(driver_->getContent(context_, "/dst/file"), "new");
  EXPECT_THROW(driver_->stat(context_, "/src/file"), pier::PathNotFoundError);

  // The destination's parents are created.
  driver_->move(context_, "/dst/file", "/moved/to/a/deep/place");
  EXPECT_EQ(driver_->getContent(context_, "/moved/to/a/deep/place"), "new");
  EXPECT_THROW(driver_->getContent(context_, "/dst/file"), pier::PathNotFoundError);

  driver_->putContent(context_, "/kept", "kept");
  EXPECT_THROW(driver_->move(context_, "/missing", "/kept"), pier::PathNotFoundError);
  EXPECT_THROW(driver_->move(context_, "/src/missing", "/elsewhere"), pier::PathNotFoundError);
  EXPECT_EQ(driver_->getContent(context_, "/kept"), "kept");
  EXPECT_THROW(driver_->stat(context_, "/elsewhere"), pier::PathNotFoundError);
}

TEST_P(StorageDriverTest, RemoveDeletesRecursively) {
  for (const char* path : {"/r/a/b/c/1", "/r/a/b/2", "/r/a/3", "/r/keep"})
    driver_->putContent(context_, path, path);
  driver_->remove(context_, "/r/a");
  for (const char* path : {"/r/a", "/r/a/b", "/r/a/b/c", "/r/a/b/c/1", "/r/a/b/2", "/r/a/3"})
    EXPECT_THROW(driver_->stat(context_, path), pier::PathNotFoundError) << path;
  EXPECT_THROW(driver_->getContent(context_, "/r/a/b/c/1"), pier::PathNotFoundError);
  EXPECT_EQ(driver_->list(context_, "/r"), std::vector<std::string>{"/r/keep"});
  EXPECT_THROW(driver_->remove(context_, "/r/a"), pier::PathNotFoundError);

  driver_->remove(context_, "/r/keep");
  EXPECT_THROW(driver_->getContent(context_, "/r/keep"), pier::PathNotFoundError);
  if (GetParam() == "s3") // directories are the keys' prefixes: an emptied one is gone, as in Distribution
    EXPECT_THROW(driver_->list(context_, "/r"), pier::PathNotFoundError);
  else
    EXPECT_EQ(driver_->list(context_, "/r"), std::vector<std::string>{});
}

TEST_P(StorageDriverTest, MissingPathsAreNotFound) {
  driver_->putContent(context_, "/file", "content");
  driver_->putContent(context_, "/dir/inner", "content");
  for (const std::string path : {"/missing", "/missing/deeper", "/file/below-a-file", "/dir/missing"}) {
    SCOPED_TRACE(path);
    EXPECT_THROW(driver_->getContent(context_, path), pier::PathNotFoundError);
    EXPECT_THROW(driver_->reader(context_, path, 0), pier::PathNotFoundError);
    EXPECT_THROW(driver_->stat(context_, path), pier::PathNotFoundError);
    EXPECT_THROW(driver_->list(context_, path), pier::PathNotFoundError);
    EXPECT_THROW(driver_->remove(context_, path), pier::PathNotFoundError);
    EXPECT_THROW(driver_->move(context_, path, "/elsewhere"), pier::PathNotFoundError);
    EXPECT_THROW(walk(path), pier::PathNotFoundError);
  }
  // A directory is not a file to read.
  EXPECT_THROW(driver_->getContent(context_, "/dir"), pier::PathNotFoundError);
  EXPECT_THROW(driver_->reader(context_, "/dir", 0), pier::PathNotFoundError);
  try {
    driver_->getContent(context_, "/missing");
  } catch (const pier::PathNotFoundError& error) {
    EXPECT_EQ(error.path(), "/missing");
  }
}

TEST_P(StorageDriverTest, FilesAndDirectoriesDoNotReplaceEachOther) {
  if (GetParam() == "s3")
    GTEST_SKIP() << "S3 has no directories: a key and a prefix of the same name may coexist, as with "
                    "Distribution's s3 driver; refusing it would cost a request per ancestor on every write";
  driver_->putContent(context_, "/dir/file", "content");
  EXPECT_THROW(driver_->putContent(context_, "/dir", "over a directory"), pier::StorageError);
  EXPECT_THROW(driver_->putContent(context_, "/dir/file/below", "below a file"), pier::StorageError);
  EXPECT_THROW(driver_->writer(context_, "/dir/file/below", false), pier::StorageError);
  auto writer = driver_->writer(context_, "/dir", false);
  writer->write(context_, "over a directory", 16);
  EXPECT_THROW(writer->commit(context_), pier::StorageError);
  writer->cancel(context_);
  EXPECT_EQ(driver_->getContent(context_, "/dir/file"), "content");
  EXPECT_TRUE(driver_->stat(context_, "/dir").isDirectory);
}

TEST_P(StorageDriverTest, StatDescribesFilesAndDirectories) {
  auto before = std::chrono::system_clock::now();
  driver_->putContent(context_, "/s/file", "12345");
  auto after = std::chrono::system_clock::now();
  FileInfo file = driver_->stat(context_, "/s/file");
  EXPECT_EQ(file.path, "/s/file");
  EXPECT_EQ(file.size, 5);
  EXPECT_FALSE(file.isDirectory);
  // Filesystem timestamps come from a coarser clock.
  EXPECT_GE(file.modTime, before - std::chrono::seconds(2));
  EXPECT_LE(file.modTime, after + std::chrono::seconds(2));

  FileInfo directory = driver_->stat(context_, "/s");
  EXPECT_EQ(directory.path, "/s");
  EXPECT_TRUE(directory.isDirectory);
  EXPECT_EQ(directory.size, 0);
  EXPECT_TRUE(driver_->stat(context_, "/").isDirectory);
}

TEST_P(StorageDriverTest, RejectsPathsThatAreInvalidOrEscapeTheRoot) {
  driver_->putContent(context_, "/valid/file", "valid");
  const std::string escapeName = "pier-escape-" + std::to_string(::getpid());
  const std::vector<std::string> badPaths{"/../x",
                                          "/a/../../x",
                                          "/../../" + escapeName,
                                          "/valid/../../x",
                                          "relative",
                                          "x/../..",
                                          "/a//b",
                                          "//x",
                                          "/a/",
                                          "",
                                          "/a/./b",
                                          "/./x",
                                          "/a/..",
                                          "/a b",
                                          "/a\\b",
                                          std::string("/a\0b", 4),
                                          "/caf\xc3\xa9"};
  for (const std::string& path : badPaths) {
    SCOPED_TRACE("path \"" + path + "\"");
    EXPECT_THROW(driver_->getContent(context_, path), pier::InvalidPathError);
    EXPECT_THROW(driver_->putContent(context_, path, "escaped"), pier::InvalidPathError);
    EXPECT_THROW(driver_->reader(context_, path, 0), pier::InvalidPathError);
    EXPECT_THROW(driver_->writer(context_, path, false), pier::InvalidPathError);
    EXPECT_THROW(driver_->writer(context_, path, true), pier::InvalidPathError);
    EXPECT_THROW(driver_->stat(context_, path), pier::InvalidPathError);
    EXPECT_THROW(driver_->list(context_, path), pier::InvalidPathError);
    EXPECT_THROW(driver_->move(context_, path, "/valid/moved"), pier::InvalidPathError);
    EXPECT_THROW(driver_->move(context_, "/valid/file", path), pier::InvalidPathError);
    EXPECT_THROW(driver_->remove(context_, path), pier::InvalidPathError);
    EXPECT_THROW(walk(path), pier::InvalidPathError);
  }

  EXPECT_EQ(driver_->getContent(context_, "/valid/file"), "valid");
  EXPECT_EQ(walk("/"), (std::vector<Visit>{{"/valid", true}, {"/valid/file", false}}));
  if (isFilesystem()) {
    EXPECT_EQ(directoryNames(scratch_->path()), std::vector<std::string>{"root"});
    EXPECT_FALSE(fs::exists(fs::temp_directory_path() / escapeName));
    std::vector<std::string> onDisk;
    for (const auto& entry : fs::recursive_directory_iterator(scratch_->path()))
      onDisk.push_back(entry.path().lexically_relative(scratch_->path()).string());
    std::sort(onDisk.begin(), onDisk.end());
    EXPECT_EQ(onDisk, (std::vector<std::string>{"root", "root/valid", "root/valid/file"}));
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, StorageDriverTest, ::testing::Values("inmemory", "filesystem", "s3"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// What only the filesystem driver promises.
class FilesystemDriverTest : public ::testing::Test {
protected:
  void SetUp() override { driver_ = createFilesystemDriver(root_); }
  void TearDown() override { driver_.reset(); }

  TestLogger logger_;
  pier::Context context_{"filesystem-driver-test", logger_};
  ScratchDirectory scratch_;
  fs::path root_ = scratch_.path() / "root";
  std::shared_ptr<pier::StorageDriver> driver_;
};

TEST_F(FilesystemDriverTest, CommittedFilesLiveAtRootPlusPath) {
  const std::string blob = "/docker/registry/v2/blobs/sha256/ab/abcd/data";
  auto writer = driver_->writer(context_, blob, false);
  writer->write(context_, "blob content", 12);
  writer->commit(context_);
  EXPECT_EQ(readFile(root_ / "docker/registry/v2/blobs/sha256/ab/abcd/data"), "blob content");
  EXPECT_EQ(directoryNames(root_ / "docker/registry/v2/blobs/sha256/ab/abcd"),
            std::vector<std::string>{"data"});

  driver_->putContent(context_, "/docker/registry/v2/repositories/library/alpine/_layers/link",
                      "sha256:abcd");
  const fs::path link = root_ / "docker/registry/v2/repositories/library/alpine/_layers";
  EXPECT_EQ(readFile(link / "link"), "sha256:abcd");
  EXPECT_EQ(directoryNames(link), std::vector<std::string>{"link"}) << "no temporary file is left behind";

  // Files put there by someone else are served.
  fs::create_directories(root_ / "external");
  std::ofstream(root_ / "external/file", std::ios::binary) << "from outside";
  EXPECT_EQ(driver_->getContent(context_, "/external/file"), "from outside");
}

TEST_F(FilesystemDriverTest, UncommittedWriterLeavesNothingAtTheFinalPath) {
  auto writer = driver_->writer(context_, "/uploads/u/data", false);
  writer->write(context_, "partial", 7);
  writer->close(context_);
  EXPECT_FALSE(fs::exists(root_ / "uploads/u/data"));
  EXPECT_EQ(directoryNames(root_ / "uploads/u"), std::vector<std::string>{".pier-partial.data"});
  EXPECT_EQ(driver_->list(context_, "/uploads/u"), std::vector<std::string>{});

  writer = driver_->writer(context_, "/uploads/u/data", true);
  writer->commit(context_);
  EXPECT_EQ(directoryNames(root_ / "uploads/u"), std::vector<std::string>{"data"});
  EXPECT_EQ(readFile(root_ / "uploads/u/data"), "partial");

  writer = driver_->writer(context_, "/uploads/u/other", false);
  writer->write(context_, "gone", 4);
  writer->cancel(context_);
  EXPECT_EQ(directoryNames(root_ / "uploads/u"), std::vector<std::string>{"data"});
}

TEST_F(FilesystemDriverTest, WriterResumesInANewDriverInstance) {
  const std::string path = "/uploads/restart/data";
  const std::uint64_t first = kMiB + 123, total = 3 * kMiB + 7;
  auto writer = driver_->writer(context_, path, false);
  writePattern(context_, *writer, 0, first, 9);
  writer.reset(); // as close()
  driver_.reset();

  // A new process: another instance over the same root.
  auto restarted = createFilesystemDriver(root_);
  writer = restarted->writer(context_, path, true);
  EXPECT_EQ(writer->size(), static_cast<std::int64_t>(first));
  writePattern(context_, *writer, first, total, 9);
  writer->commit(context_);
  EXPECT_EQ(restarted->stat(context_, path).size, static_cast<std::int64_t>(total));
  EXPECT_TRUE(readsPattern(*restarted->reader(context_, path, 0), 0, total, 9));
}

TEST_F(FilesystemDriverTest, SupersededWriterCannotCommit) {
  auto stale = driver_->writer(context_, "/u/data", false);
  stale->write(context_, "stale", 5);
  auto current = driver_->writer(context_, "/u/data", false);
  current->write(context_, "current", 7);
  EXPECT_THROW(stale->commit(context_), pier::StorageError);
  current->commit(context_);
  EXPECT_EQ(driver_->getContent(context_, "/u/data"), "current");
}

TEST_F(FilesystemDriverTest, ReaderExposesAFileDescriptorAtItsOffset) {
  driver_->putContent(context_, "/fd/file", "0123456789");
  auto reader = driver_->reader(context_, "/fd/file", 3);
  int fd = reader->fileDescriptor();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 3);
  char buffer[16];
  ssize_t count = ::read(fd, buffer, sizeof buffer);
  ASSERT_EQ(count, 7);
  EXPECT_EQ(std::string(buffer, 7), "3456789");
}

TEST_F(FilesystemDriverTest, HidesAndRefusesItsOwnNames) {
  fs::create_directories(root_ / "d");
  std::ofstream(root_ / "d/.pier-tmp.file.0123") << "temporary";
  std::ofstream(root_ / "d/.pier-partial.file") << "partial";
  std::ofstream(root_ / "d/not valid") << "a name no path can address";
  std::ofstream(root_ / "d/file") << "file";
  EXPECT_EQ(driver_->list(context_, "/d"), std::vector<std::string>{"/d/file"});
  std::vector<std::string> walked;
  driver_->walk(context_, "/d", [&](const FileInfo& info) {
    walked.push_back(info.path);
    return WalkControl::proceed;
  });
  EXPECT_EQ(walked, std::vector<std::string>{"/d/file"});
  for (const std::string path : {"/d/.pier-partial.file", "/d/.pier-tmp.file.0123", "/.pier-x/y"}) {
    EXPECT_THROW(driver_->stat(context_, path), pier::InvalidPathError) << path;
    EXPECT_THROW(driver_->getContent(context_, path), pier::InvalidPathError) << path;
    EXPECT_THROW(driver_->putContent(context_, path, "x"), pier::InvalidPathError) << path;
  }
}

TEST_F(FilesystemDriverTest, MissingRootIsEmpty) {
  EXPECT_FALSE(fs::exists(root_));
  EXPECT_EQ(driver_->list(context_, "/"), std::vector<std::string>{});
  bool visited = false;
  driver_->walk(context_, "/", [&](const FileInfo&) {
    visited = true;
    return WalkControl::proceed;
  });
  EXPECT_FALSE(visited);
  EXPECT_THROW(driver_->stat(context_, "/x"), pier::PathNotFoundError);
  EXPECT_FALSE(fs::exists(root_)) << "reading creates nothing";
}

void expectConfigError(const std::string& driver, const Poco::JSON::Object& parameters,
                       const std::string& key) {
  try {
    createDriver(driver, parameters);
    ADD_FAILURE() << "no ConfigError for " << key;
  } catch (const pier::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(key), std::string::npos) << error.what();
  }
}

TEST(StorageDriverParametersTest, BadParametersAreConfigErrorsNamingTheKey) {
  ScratchDirectory scratch;
  auto with = [&](const std::string& key, const Poco::Dynamic::Var& value) {
    Poco::JSON::Object parameters;
    parameters.set("rootdirectory", scratch.path().string());
    parameters.set(key, value);
    return parameters;
  };
  expectConfigError("filesystem", with("bogus", 1), "storage.filesystem.bogus: unknown parameter");
  expectConfigError("filesystem", with("maxthreads", 24), "storage.filesystem.maxthreads");
  expectConfigError("filesystem", with("maxthreads", -1), "storage.filesystem.maxthreads");
  expectConfigError("filesystem", with("maxthreads", "many"), "storage.filesystem.maxthreads");
  expectConfigError("filesystem", with("maxthreads", 30.5), "storage.filesystem.maxthreads");
  expectConfigError("filesystem", with("rootdirectory", 42), "storage.filesystem.rootdirectory");
  expectConfigError("filesystem", with("rootdirectory", ""), "storage.filesystem.rootdirectory");

  EXPECT_NE(createDriver("filesystem", with("maxthreads", 25)), nullptr);
  EXPECT_NE(createDriver("filesystem", with("maxthreads", "50")), nullptr);
  EXPECT_NE(createDriver("filesystem", Poco::JSON::Object()), nullptr) << "the default root is used lazily";

  Poco::JSON::Object inmemory;
  inmemory.set("rootdirectory", "/tmp");
  expectConfigError("inmemory", inmemory, "storage.inmemory.rootdirectory: unknown parameter");
  EXPECT_NE(createDriver("inmemory", Poco::JSON::Object()), nullptr);
}

} // namespace
