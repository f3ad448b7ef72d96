#include "pier/testing/support.hpp"

#include <atomic>
#include <iostream>
#include <random>
#include <system_error>

#include <unistd.h>

namespace pier::testing {

void TestLogger::log(LogLevel level, std::string_view message) {
  std::lock_guard lock(mutex_);
  if (level >= LogLevel::warn) std::cerr << "[plugin log] " << message << '\n';
  lines_.emplace_back(message);
}

std::vector<std::string> TestLogger::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

ScratchDirectory::ScratchDirectory() {
  static std::atomic<int> counter{0};
  std::random_device random;
  path_ =
      std::filesystem::temp_directory_path() / ("pier-test-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(counter++) + "-" + std::to_string(random()));
  std::filesystem::create_directories(path_);
}

ScratchDirectory::~ScratchDirectory() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

} // namespace pier::testing
