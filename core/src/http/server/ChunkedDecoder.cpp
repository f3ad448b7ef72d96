#include "http/server/ChunkedDecoder.hpp"

#include <algorithm>
#include <cstring>

namespace pier::http {

namespace {
constexpr std::size_t kMaxLine = 4096;
}

void ChunkedDecoder::sizeLine() {
  // chunk-size [ ";" extensions ]; at most 15 hex digits (fits int64).
  std::size_t digits = 0;
  std::int64_t size = 0;
  while (digits < line_.size()) {
    char c = line_[digits];
    int value = c >= '0' && c <= '9'                     ? c - '0'
                : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                         : -1;
    if (value < 0) break;
    if (++digits > 15) throw ChunkedError("chunk size too large");
    size = size * 16 + value;
  }
  if (digits == 0) throw ChunkedError("malformed chunk size");
  std::string_view rest = std::string_view(line_).substr(digits);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  if (!rest.empty() && rest.front() != ';') throw ChunkedError("malformed chunk size");
  left_ = size;
  state_ = size == 0 ? State::trailer : State::data;
}

ChunkedDecoder::Result ChunkedDecoder::decode(const char* input, std::size_t inputSize, char* out,
                                              std::size_t outSize) {
  Result result;
  while (result.consumed < inputSize && state_ != State::done) {
    const char* at = input + result.consumed;
    std::size_t available = inputSize - result.consumed;
    if (state_ == State::data) {
      if (result.produced == outSize) break;
      std::size_t take = static_cast<std::size_t>(
          std::min<std::int64_t>({left_, static_cast<std::int64_t>(available),
                                  static_cast<std::int64_t>(outSize - result.produced)}));
      std::memcpy(out + result.produced, at, take);
      result.produced += take;
      result.consumed += take;
      left_ -= static_cast<std::int64_t>(take);
      if (left_ == 0) state_ = State::dataEnd;
      continue;
    }
    // Lines: the size line, the CRLF after data, trailer lines.
    const char* newline = static_cast<const char*>(std::memchr(at, '\n', available));
    std::size_t take = newline ? static_cast<std::size_t>(newline - at) + 1 : available;
    line_.append(at, take);
    result.consumed += take;
    if (line_.size() > kMaxLine) throw ChunkedError("chunk line too long");
    if (!newline) break;
    if (line_.size() < 2 || line_[line_.size() - 2] != '\r') throw ChunkedError("chunk line without CRLF");
    line_.resize(line_.size() - 2);
    if (state_ == State::size) {
      sizeLine();
    } else if (state_ == State::dataEnd) {
      if (!line_.empty()) throw ChunkedError("chunk data longer than its size");
      state_ = State::size;
    } else if (line_.empty()) { // trailer section ends with an empty line
      state_ = State::done;
    } else if (line_.find(':') == std::string::npos) {
      throw ChunkedError("malformed trailer field");
    }
    line_.clear();
  }
  result.done = state_ == State::done;
  return result;
}

} // namespace pier::http
