// The SDK's storage driver conformance suite (pier::sdk_testing,
// <pier/testing/storage_driver_suite.hpp>) run on every in-tree driver, plus
// tests of what only the filesystem driver promises. The drivers are the real
// plugins, loaded by the real plugin loader.

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
#include <pier/testing/storage_driver_suite.hpp>

#include "S3TestServer.hpp"
#include "plugin/PluginLoader.hpp"

namespace {

namespace fs = std::filesystem;
using pier::FileInfo;
using pier::WalkControl;

using pier::testing::kMiB;
using pier::testing::readsPattern;
using pier::testing::ScratchDirectory;
using pier::testing::TestLogger;
using pier::testing::writePattern;

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

// The SDK's conformance suite (pier::sdk_testing) on the in-tree drivers,
// each made by the real plugin loader on an empty root.
pier::testing::StorageDriverTarget inmemoryTarget() {
  pier::testing::StorageDriverTarget target;
  target.name = "inmemory";
  target.factory = [] { return createDriver("inmemory"); };
  return target;
}

pier::testing::StorageDriverTarget filesystemTarget() {
  pier::testing::StorageDriverTarget target;
  target.name = "filesystem";
  target.factory = [] {
    auto scratch = std::make_shared<ScratchDirectory>();
    // The root is created by the driver when it first writes; the directory
    // goes when the suite lets go of the driver.
    return pier::testing::onRelease<pier::StorageDriver>(createFilesystemDriver(scratch->path() / "root"),
                                                         [scratch](pier::StorageDriver&) {});
  };
  return target;
}

pier::testing::StorageDriverTarget s3Target() {
  pier::testing::StorageDriverTarget target;
  target.name = "s3";
  target.directoriesArePrefixes = true; // see docs/ARCHITECTURE.md, "The s3 driver"
  target.factory = [] {
    Poco::JSON::Object parameters = pier::test::s3TestParameters();
    parameters.set("rootdirectory", pier::test::uniqueS3Root());
    return pier::testing::onRelease<pier::StorageDriver>(
        createDriver("s3", parameters), [](pier::StorageDriver& driver) {
          pier::testing::TestLogger logger;
          driver.remove(pier::Context("cleanup", logger), "/");
        });
  };
  return target;
}

PIER_STORAGE_DRIVER_CONFORMANCE(Drivers, inmemoryTarget(), filesystemTarget(), s3Target());

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

// The suite's invalid paths, checked on disk: nothing was made outside the root.
TEST_F(FilesystemDriverTest, RejectedPathsLeaveNothingOutsideTheRoot) {
  driver_->putContent(context_, "/valid/file", "valid");
  const std::string escapeName = "pier-escape-" + std::to_string(::getpid());
  const std::vector<std::string> escaping{
      "/../x", "/a/../../x", "/../../" + escapeName, "/valid/../../x", "x/../..", "//x", "/./x", "/a/.."};
  for (const std::string& path : escaping) {
    SCOPED_TRACE("path \"" + path + "\"");
    EXPECT_THROW(driver_->putContent(context_, path, "escaped"), pier::InvalidPathError);
    EXPECT_THROW(driver_->writer(context_, path, false), pier::InvalidPathError);
    EXPECT_THROW(driver_->move(context_, "/valid/file", path), pier::InvalidPathError);
  }
  EXPECT_EQ(directoryNames(scratch_.path()), std::vector<std::string>{"root"});
  EXPECT_FALSE(fs::exists(fs::temp_directory_path() / escapeName));
  std::vector<std::string> onDisk;
  for (const auto& entry : fs::recursive_directory_iterator(scratch_.path()))
    onDisk.push_back(entry.path().lexically_relative(scratch_.path()).string());
  std::sort(onDisk.begin(), onDisk.end());
  EXPECT_EQ(onDisk, (std::vector<std::string>{"root", "root/valid", "root/valid/file"}));
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
