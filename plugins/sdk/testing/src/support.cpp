#include "pier/testing/support.hpp"

#include <cerrno>
#include <cstdlib>
#include <iostream>
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
  std::string pattern = (std::filesystem::temp_directory_path() / "pier-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  path_ = pattern;
}

ScratchDirectory::~ScratchDirectory() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

} // namespace pier::testing
