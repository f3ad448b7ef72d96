// The readonlydir storage driver: it serves what is on disk and refuses
// every write. It is no full driver, so the SDK's storage driver suite, which
// writes, does not apply; these tests check what it promises instead.
#include <filesystem>
#include <fstream>
#include <string>

#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>

#include <pier/testing/support.hpp>

#include "ReadOnlyDirectoryDriver.hpp"

namespace {

class ReadOnlyDirectoryDriverTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::filesystem::create_directories(root_.path() / "docker/registry/v2/b");
    std::ofstream(root_.path() / "docker/registry/v2/a") << "alpha";
    std::ofstream(root_.path() / "docker/registry/v2/b/data") << "bravo!";
    Poco::JSON::Object parameters;
    parameters.set("rootdirectory", root_.path().string());
    driver_ = pier_example::makeReadOnlyDirectoryDriver(parameters);
  }

  pier::testing::ScratchDirectory root_;
  pier::testing::TestLogger logger_;
  pier::Context context_{"readonlydir-test", logger_};
  std::shared_ptr<pier::StorageDriver> driver_;
};

TEST_F(ReadOnlyDirectoryDriverTest, ReadsListsAndStatsWhatIsOnDisk) {
  EXPECT_EQ(driver_->getContent(context_, "/docker/registry/v2/a"), "alpha");
  auto reader = driver_->reader(context_, "/docker/registry/v2/b/data", 2);
  char buffer[16];
  EXPECT_EQ(std::string(buffer, reader->read(buffer, sizeof buffer)), "avo!");
  EXPECT_GE(reader->fileDescriptor(), 0);
  EXPECT_EQ(driver_->list(context_, "/docker/registry/v2"),
            (std::vector<std::string>{"/docker/registry/v2/a", "/docker/registry/v2/b"}));
  EXPECT_EQ(driver_->stat(context_, "/docker/registry/v2/b/data").size, 6);
  EXPECT_TRUE(driver_->stat(context_, "/docker/registry/v2/b").isDirectory);
}

TEST_F(ReadOnlyDirectoryDriverTest, MissingPathsAreNotFoundAndBadOnesInvalid) {
  EXPECT_THROW(driver_->getContent(context_, "/docker/nothing"), pier::PathNotFoundError);
  EXPECT_THROW(driver_->stat(context_, "/docker/registry/v2/a/under-a-file"), pier::PathNotFoundError);
  EXPECT_THROW(driver_->reader(context_, "/docker/registry/v2/a", 6), pier::InvalidOffsetError);
  EXPECT_THROW(driver_->stat(context_, "/docker/../etc"), pier::InvalidPathError);
}

TEST_F(ReadOnlyDirectoryDriverTest, EveryWriteIsRefusedAndChangesNothing) {
  EXPECT_THROW(driver_->putContent(context_, "/docker/registry/v2/a", "changed"), pier::UnsupportedError);
  EXPECT_THROW(driver_->writer(context_, "/docker/new", false), pier::UnsupportedError);
  EXPECT_THROW(driver_->move(context_, "/docker/registry/v2/a", "/docker/moved"), pier::UnsupportedError);
  EXPECT_THROW(driver_->remove(context_, "/docker/registry/v2/b"), pier::UnsupportedError);
  EXPECT_EQ(driver_->getContent(context_, "/docker/registry/v2/a"), "alpha");
  EXPECT_TRUE(std::filesystem::exists(root_.path() / "docker/registry/v2/b/data"));
  EXPECT_FALSE(std::filesystem::exists(root_.path() / "docker/new"));
}

TEST(ReadOnlyDirectoryDriver, ARootThatIsNoDirectoryIsAConfigErrorNamingTheKey) {
  Poco::JSON::Object parameters;
  parameters.set("rootdirectory", "/nonexistent/readonlydir");
  try {
    pier_example::makeReadOnlyDirectoryDriver(parameters);
    FAIL() << "expected a ConfigError";
  } catch (const pier::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("storage.readonlydir.rootdirectory"), std::string::npos) << e.what();
  }
}

} // namespace
