#include "http/RequestParts.hpp"

#include <charconv>

#include "errcode/ErrorCode.hpp"

namespace pier {

namespace {

// 1*DIGIT (RFC 9110's ranges; n of listings): no sign, so "-0" is no number.
std::optional<std::int64_t> parseNumber(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value); // 18 digits always fit
  return value;
}

} // namespace

Digest requireDigest(std::string_view text) {
  auto digest = Digest::parse(text);
  if (!digest)
    throw errcode::Exception(errcode::DigestInvalid, "invalid digest \"" + std::string(text) + "\"",
                             std::string(text));
  return *digest;
}

RangeRequest parseRangeHeader(std::string_view header, std::int64_t size) {
  RangeRequest result;
  constexpr std::string_view kUnit = "bytes=";
  if (header.substr(0, kUnit.size()) != kUnit) return result;
  std::string_view spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return result;
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return result;
  std::string_view first = spec.substr(0, dash), last = spec.substr(dash + 1);
  if (first.empty()) {
    auto suffix = parseNumber(last);
    if (!suffix) return result;
    if (*suffix == 0 || size == 0) {
      result.unsatisfiable = true;
      return result;
    }
    std::int64_t length = std::min(*suffix, size);
    result.range = ByteRange{size - length, length};
    return result;
  }
  auto start = parseNumber(first);
  if (!start) return result;
  std::optional<std::int64_t> end = last.empty() ? std::optional<std::int64_t>(*start) : parseNumber(last);
  if (!end) return result;
  if (*end < *start) return result; // syntactically invalid: ignored
  if (*start >= size) {
    result.unsatisfiable = true;
    return result;
  }
  std::int64_t stop = last.empty() ? size - 1 : std::min(*end, size - 1);
  result.range = ByteRange{*start, stop - *start + 1};
  return result;
}

std::optional<ByteRange> parseContentRange(std::string_view header) {
  if (header.substr(0, 6) == "bytes ")
    header = header.substr(6);
  else if (header.substr(0, 6) == "bytes=")
    header = header.substr(6);
  std::size_t dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto start = parseNumber(header.substr(0, dash));
  std::string_view endText = header.substr(dash + 1);
  if (std::size_t slash = endText.find('/'); slash != std::string_view::npos)
    endText = endText.substr(0, slash);
  auto end = parseNumber(endText);
  if (!start || !end || *end < *start) return std::nullopt;
  return ByteRange{*start, *end - *start + 1};
}

std::size_t parsePageSize(const std::optional<std::string>& n, std::size_t fallback, std::size_t max) {
  if (!n || n->empty()) return fallback; // "?n=" is no n, as in Distribution
  auto value = parseNumber(*n);
  if (!value || static_cast<std::uint64_t>(*value) > max)
    throw errcode::Exception(errcode::PaginationNumberInvalid,
                             "n must be a number from 0 to " + std::to_string(max), *n);
  return static_cast<std::size_t>(*value);
}

} // namespace pier
