#pragma once
// What every fuzz target shares: a broken contract aborts, so that libFuzzer
// reports it as a crash and saves the input (an exception of an undocumented
// type reaches libFuzzer as an uncaught exception, which aborts too).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace pier::fuzz {

[[noreturn]] inline void contractBroken(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: contract broken: %s\n", file, line, condition);
  std::abort();
}

inline std::string_view bytesOf(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Takes the first byte of the input as a small selector (0 when empty).
inline unsigned takeSelector(std::string_view& input) {
  if (input.empty()) return 0;
  auto selector = static_cast<unsigned char>(input.front());
  input.remove_prefix(1);
  return selector;
}

} // namespace pier::fuzz

#define PIER_FUZZ_REQUIRE(condition)                                                                         \
  do {                                                                                                       \
    if (!(condition)) ::pier::fuzz::contractBroken(#condition, __FILE__, __LINE__);                          \
  } while (false)
