#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/Paths.hpp"
#include "storage/Reference.hpp"

// Parsers of the parts of registry requests: digests, byte ranges, pagination.
namespace pier {

// The digest or DIGEST_INVALID.
Digest requireDigest(std::string_view text);

struct ByteRange {
  std::int64_t start = 0;
  std::int64_t length = 0;
};

struct RangeRequest {
  std::optional<ByteRange> range; // nothing: serve the whole blob
  bool unsatisfiable = false;     // 416
};

// A Range header ("bytes=a-b", "bytes=a-", "bytes=-n") against a blob's size.
// Headers of another unit or with several ranges are ignored, as RFC 9110 allows.
RangeRequest parseRangeHeader(std::string_view header, std::int64_t size);

// A Content-Range of an upload chunk: "start-end" (inclusive), optionally
// prefixed "bytes ". Nothing when malformed.
std::optional<ByteRange> parseContentRange(std::string_view header);

// The n of a listing: absent or empty → fallback; not a number ≥ 0 or above max → PAGINATION_NUMBER_INVALID.
std::size_t parsePageSize(const std::optional<std::string>& n, std::size_t fallback, std::size_t max);

} // namespace pier
