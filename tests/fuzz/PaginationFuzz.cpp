// The n of tag and catalog listings: a number from 0 to the maximum, the
// fallback when absent or empty, or PAGINATION_NUMBER_INVALID; an accepted
// n means the number its digits say.
#include <string>

#include "errcode/ErrorCode.hpp"
#include "http/RequestParts.hpp"

#include "FuzzContract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pier;
  std::string_view input = fuzz::bytesOf(data, size);
  // The first byte chooses the maximum: 0, small, the registry's page limits, or the largest.
  constexpr std::size_t kMaxima[] = {0, 1, 100, 1000, 10000, std::size_t(1) << 62};
  const std::size_t max = kMaxima[fuzz::takeSelector(input) % std::size(kMaxima)];
  const std::size_t fallback = max / 2;
  std::optional<std::string> n;
  if (!input.empty() && input.front() != '\n') n = std::string(input); // "\n...": no n at all
  try {
    std::size_t pageSize = parsePageSize(n, fallback, max);
    if (!n || n->empty()) {
      PIER_FUZZ_REQUIRE(pageSize == fallback);
    } else {
      PIER_FUZZ_REQUIRE(pageSize <= max);
      std::string digits = n->substr(std::min(n->find_first_not_of('0'), n->size()));
      PIER_FUZZ_REQUIRE(std::to_string(pageSize) == (digits.empty() ? "0" : digits));
    }
  } catch (const errcode::Exception& e) {
    PIER_FUZZ_REQUIRE(n && !n->empty());
    PIER_FUZZ_REQUIRE(e.errors().list().front().code.value() == "PAGINATION_NUMBER_INVALID");
  }
  return 0;
}
