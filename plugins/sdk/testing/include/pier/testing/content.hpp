#pragma once

// Deterministic content for storage tests: the byte at a position depends on
// a seed and the position, so a misplaced, missing or repeated chunk does
// not match, and large content is checked without keeping a copy.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include <pier/context.hpp>
#include <pier/storage_driver.hpp>

namespace pier::testing {

inline constexpr std::size_t kMiB = std::size_t{1} << 20;

// The pattern's bytes [offset, offset + size) into out.
void fillPattern(char* out, std::size_t size, std::uint64_t offset, std::uint64_t seed);
std::string pattern(std::size_t size, std::uint64_t seed, std::uint64_t offset = 0);
::testing::AssertionResult matchesPattern(std::string_view data, std::uint64_t offset, std::uint64_t seed);

// Writes the pattern's bytes [begin, end) in chunks.
void writePattern(const Context& context, FileWriter& writer, std::uint64_t begin, std::uint64_t end,
                  std::uint64_t seed, std::size_t chunk = kMiB);
// Reads the reader to its end and compares with the pattern's bytes [begin, end).
::testing::AssertionResult readsPattern(FileReader& reader, std::uint64_t begin, std::uint64_t end,
                                        std::uint64_t seed, std::size_t chunk = kMiB);

// Reads to the end in calls of at most chunk bytes (small ones exercise a reader's buffering).
std::string readAll(FileReader& reader, std::size_t chunk = 4096);

} // namespace pier::testing
