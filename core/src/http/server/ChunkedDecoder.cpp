#include "http/server/ChunkedDecoder.hpp"

#include <algorithm>
#include <cstring>

#include "http/server/HttpSyntax.hpp"

namespace pier::http {

using namespace syntax;

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

void ChunkedDecoder::fail(const char* message) {
  state_ = State::failed;
  throw ChunkedError(message);
}

ChunkedDecoder::Result ChunkedDecoder::decode(const char* input, std::size_t inputSize, char* out,
                                              std::size_t outSize) {
  Result result;
  std::size_t in = 0;
  while (in < inputSize && state_ != State::done) {
    if (state_ == State::failed) fail("chunked body already failed");
    if (state_ == State::data) {
      std::size_t n =
          std::min({static_cast<std::size_t>(remaining_), inputSize - in, outSize - result.produced});
      if (n == 0) break;                                  // out is full
      std::memmove(out + result.produced, input + in, n); // memmove: out may be input (in place)
      in += n;
      result.produced += n;
      remaining_ -= static_cast<std::int64_t>(n);
      bodySize_ += static_cast<std::int64_t>(n);
      if (remaining_ == 0) state_ = State::dataCr;
      continue;
    }

    const char c = input[in++];
    // Line bounds, CR excluded: chunk-size line (with extensions) and trailer field lines.
    if (c != '\r') {
      if (state_ == State::size || state_ == State::sizeSpace || state_ == State::extension) {
        if (++lineLength_ > kMaxSizeLine) fail("chunk size line too long");
      } else if (state_ == State::trailerName || state_ == State::trailerValue) {
        if (++lineLength_ > kMaxTrailerLine) fail("trailer field line too long");
      }
    }
    switch (state_) {
    case State::size:
      if (int v = hexValue(c); v >= 0) {
        sawDigit_ = true;
        if (remaining_ != 0 || v != 0) ++digits_; // leading zeros are not significant
        if (digits_ > kMaxSizeDigits) fail("chunk size over 15 hex digits");
        remaining_ = remaining_ * 16 + v;
      } else if (!sawDigit_) {
        fail("chunk size is not a hex number");
      } else if (c == '\r') {
        state_ = State::sizeLf;
      } else if (c == ';') {
        state_ = State::extension;
      } else if (isOws(c)) {
        state_ = State::sizeSpace;
      } else {
        fail("chunk size is not a hex number");
      }
      break;
    case State::sizeSpace: // BWS is allowed only before ";" (RFC 9112 7.1.1)
      if (c == ';')
        state_ = State::extension;
      else if (!isOws(c))
        fail("invalid character after the chunk size");
      break;
    case State::extension:
      // Extensions are ignored; their bytes must still be field-value bytes, so
      // a bare LF or a control byte cannot end the line early for a proxy.
      if (c == '\r')
        state_ = State::sizeLf;
      else if (!isFieldValueChar(static_cast<unsigned char>(c)))
        fail("invalid character in a chunk extension");
      break;
    case State::sizeLf:
      if (c != '\n') fail("chunk size line not ended by CRLF");
      state_ = remaining_ == 0 ? State::trailerStart : State::data;
      break;
    case State::dataCr:
      if (c != '\r') fail("chunk data not followed by CRLF");
      state_ = State::dataLf;
      break;
    case State::dataLf:
      if (c != '\n') fail("chunk data not followed by CRLF");
      state_ = State::size;
      lineLength_ = 0;
      digits_ = 0;
      sawDigit_ = false;
      break;
    case State::trailerStart:
      if (c == '\r') {
        state_ = State::endLf;
      } else {
        if (isOws(c)) fail("obsolete line folding in the trailer section");
        if (!isTchar(static_cast<unsigned char>(c))) fail("invalid trailer field name");
        if (++trailerFields_ > kMaxTrailerFields) fail("too many trailer fields");
        state_ = State::trailerName;
        lineLength_ = 1;
      }
      break;
    case State::trailerName:
      if (c == ':')
        state_ = State::trailerValue;
      else if (!isTchar(static_cast<unsigned char>(c)))
        fail("invalid trailer field name");
      break;
    case State::trailerValue:
      if (c == '\r')
        state_ = State::trailerLf;
      else if (!isFieldValueChar(static_cast<unsigned char>(c)))
        fail("invalid character in a trailer field");
      break;
    case State::trailerLf:
      if (c != '\n') fail("trailer field line not ended by CRLF");
      state_ = State::trailerStart;
      break;
    case State::endLf:
      if (c != '\n') fail("chunked body not ended by CRLF");
      state_ = State::done;
      break;
    case State::data:
    case State::done:
    case State::failed:
      break; // handled above
    }
  }
  if (state_ == State::failed) fail("chunked body already failed");
  result.consumed = in;
  result.done = state_ == State::done;
  return result;
}

} // namespace pier::http
