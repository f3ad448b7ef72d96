#include "pier/testing/content.hpp"

#include <algorithm>
#include <cstring>

namespace pier::testing {
namespace {

// SplitMix64 of the seed and the 8-byte block: cheap, and no two blocks alike.
std::uint64_t mix(std::uint64_t seed, std::uint64_t block) {
  std::uint64_t z = block * 0x9E3779B97F4A7C15ull + seed * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

} // namespace

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

std::string pattern(std::size_t size, std::uint64_t seed, std::uint64_t offset) {
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

void writePattern(const Context& context, FileWriter& writer, std::uint64_t begin, std::uint64_t end,
                  std::uint64_t seed, std::size_t chunk) {
  std::string buffer(chunk, '\0');
  for (std::uint64_t position = begin; position < end;) {
    std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, end - position));
    fillPattern(buffer.data(), count, position, seed);
    writer.write(context, buffer.data(), count);
    position += count;
  }
}

::testing::AssertionResult readsPattern(FileReader& reader, std::uint64_t begin, std::uint64_t end,
                                        std::uint64_t seed, std::size_t chunk) {
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

std::string readAll(FileReader& reader, std::size_t chunk) {
  std::string content;
  std::string buffer(chunk, '\0');
  while (std::size_t count = reader.read(buffer.data(), buffer.size())) content.append(buffer.data(), count);
  return content;
}

} // namespace pier::testing
