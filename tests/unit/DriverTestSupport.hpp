#pragma once

// What the storage driver tests share: sizes and reading a FileReader whole.
#include <cstddef>
#include <string>

#include <pier/storage_driver.hpp>

namespace pier::test {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// Reads to the end in calls of at most chunk bytes (small ones exercise the reader's buffering).
inline std::string readAll(FileReader& reader, std::size_t chunk = 4096) {
  std::string content;
  std::string buffer(chunk, '\0');
  while (std::size_t count = reader.read(buffer.data(), buffer.size())) content.append(buffer.data(), count);
  return content;
}

} // namespace pier::test
