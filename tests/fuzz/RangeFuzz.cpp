// Range headers of blob GETs and Content-Range headers of upload chunks: a
// served range lies inside the blob, a chunk range is non-empty and its end
// fits int64.
#include <cstring>
#include <limits>

#include "http/RequestParts.hpp"

#include "FuzzContract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pier;
  std::string_view input = fuzz::bytesOf(data, size);
  // The first eight bytes are the blob's size (any int64 >= 0), the rest is the header.
  std::int64_t blobSize = 1000;
  if (input.size() >= sizeof blobSize) {
    std::memcpy(&blobSize, input.data(), sizeof blobSize);
    blobSize &= std::numeric_limits<std::int64_t>::max();
    input.remove_prefix(sizeof blobSize);
  }

  RangeRequest request = parseRangeHeader(input, blobSize);
  PIER_FUZZ_REQUIRE(!(request.range && request.unsatisfiable));
  if (request.range) {
    PIER_FUZZ_REQUIRE(request.range->start >= 0);
    PIER_FUZZ_REQUIRE(request.range->length > 0);
    PIER_FUZZ_REQUIRE(request.range->length <= blobSize - request.range->start);
  }
  if (request.range || request.unsatisfiable) PIER_FUZZ_REQUIRE(input.substr(0, 6) == "bytes=");

  if (auto chunk = parseContentRange(input)) {
    PIER_FUZZ_REQUIRE(chunk->start >= 0);
    PIER_FUZZ_REQUIRE(chunk->length > 0);
    PIER_FUZZ_REQUIRE(chunk->length - 1 <= std::numeric_limits<std::int64_t>::max() - chunk->start);
  }
  return 0;
}
