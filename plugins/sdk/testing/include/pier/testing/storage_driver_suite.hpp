#pragma once

// The storage driver conformance suite: what every pier::StorageDriver must
// do, run on a driver the author names. In a test file linked with
// pier::sdk_testing (and GTest::gtest_main):
//
//   #include <pier/testing/storage_driver_suite.hpp>
//
//   pier::testing::StorageDriverTarget myDriver() {
//     pier::testing::StorageDriverTarget target;
//     target.name = "mydriver";          // what the driver's name() returns
//     target.factory = [] { return std::make_shared<MyDriver>(/* an empty root */); };
//     return target;
//   }
//   PIER_STORAGE_DRIVER_CONFORMANCE(MyPlugin, myDriver());
//
// The factory is called once per test and must give a driver on an empty
// root each time. To clean up after a test (a bucket's objects, a scratch
// directory), return the driver through pier::testing::onRelease. A factory
// that throws pier::testing::Unavailable skips the test.
#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <pier/storage_driver.hpp>

#include "pier/testing/content.hpp"
#include "pier/testing/support.hpp"

namespace pier::testing {

struct StorageDriverTarget {
  std::string name; // the driver's name(); also names the test instances
  std::function<std::shared_ptr<StorageDriver>()> factory;
  // Directories are only the prefixes of files' paths (as on S3): an emptied
  // directory is gone, and a file and a directory may share a path.
  bool directoriesArePrefixes = false;
  // The size of the large round trips; lower it for a slow backend.
  std::size_t largeSize = 100 * kMiB;
};

void PrintTo(const StorageDriverTarget& target, std::ostream* out);

struct Visit {
  std::string path;
  bool isDirectory;
  bool operator==(const Visit&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Visit& visit);

class StorageDriverConformance : public ::testing::TestWithParam<StorageDriverTarget> {
protected:
  void SetUp() override;
  void TearDown() override;

  void commitFile(const std::string& path, std::string_view content);
  // The paths walk() visits, with the visit's answer from control (proceed when null).
  std::vector<Visit> walk(const std::string& path,
                          const std::function<WalkControl(const FileInfo&)>& control = nullptr);

  TestLogger logger_;
  Context context_{"storage-driver-conformance", logger_};
  std::shared_ptr<StorageDriver> driver_;
};

namespace detail {
// Defined next to the suite's tests: referencing it links them in from the static library.
int storageDriverConformanceAnchor();
} // namespace detail

} // namespace pier::testing

// Runs the suite on each target: PIER_STORAGE_DRIVER_CONFORMANCE(Prefix, target...).
// gtest pastes the suite's name into identifiers and matches it, as text,
// with the TEST_P of the library: hence the alias of the same name. The
// anchor's call links the object file holding the tests.
#define PIER_STORAGE_DRIVER_CONFORMANCE(prefix, ...)                                                         \
  using StorageDriverConformance = ::pier::testing::StorageDriverConformance;                                \
  INSTANTIATE_TEST_SUITE_P(prefix, StorageDriverConformance, ::testing::Values(__VA_ARGS__),                 \
                           ::pier::testing::ByName());                                                       \
  [[maybe_unused]] static const int pier_storage_driver_conformance_anchor_##prefix =                        \
      ::pier::testing::detail::storageDriverConformanceAnchor()
