#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>

// The chunked transfer coding for request bodies: pure code, no I/O.
namespace pier::http {

struct ChunkedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Decodes a chunked body incrementally (RFC 9112 section 7.1): feed it bytes as they arrive.
class ChunkedDecoder {
public:
  struct Result {
    std::size_t consumed = 0; // input bytes used
    std::size_t produced = 0; // body bytes written to out
    bool done = false;        // the last chunk and the trailer section were read
  };

  static constexpr std::size_t kMaxSizeLine = 4096;    // chunk-size line without its CRLF
  static constexpr std::size_t kMaxTrailerLine = 4096; // one trailer field line without its CRLF
  static constexpr std::size_t kMaxTrailerFields = 100;
  static constexpr int kMaxSizeDigits = 15; // significant hex digits: 2^60 - 1 fits int64

  // Decodes from input into out (at most outSize bytes). Throws ChunkedError on
  // a malformed chunk size (not hex, empty, over 15 hex digits / over INT64), a
  // missing CRLF after chunk data, or a malformed trailer line; chunk extensions
  // (";name=value") are skipped, but at most 4096 bytes of size line.
  // out may be input itself (in-place decoding): data moves only backwards.
  // Once done, nothing more is consumed (bytes of a pipelined request stay).
  // After a throw the decoder stays failed and every call throws again.
  Result decode(const char* input, std::size_t inputSize, char* out, std::size_t outSize);
  bool done() const { return state_ == State::done; }

  // Body bytes produced so far (a worker compares them with its size limit).
  std::int64_t bodySize() const { return bodySize_; }

private:
  enum class State {
    size,         // chunk-size hex digits
    sizeSpace,    // BWS after the size: only ";" may follow
    extension,    // chunk-ext bytes, skipped up to CR
    sizeLf,       // CR seen, LF must follow
    data,         // chunk-data, remaining_ bytes left
    dataCr,       // CRLF after chunk-data
    dataLf,       //
    trailerStart, // a trailer field line or the final CRLF
    trailerName,  // field-name up to ":"
    trailerValue, // field-value up to CR
    trailerLf,    // LF after a field line
    endLf,        // LF of the final CRLF
    done,
    failed,
  };

  [[noreturn]] void fail(const char* message);

  State state_ = State::size;
  std::int64_t remaining_ = 0; // chunk-size being read, then chunk-data left
  int digits_ = 0;             // significant digits of the size so far
  bool sawDigit_ = false;
  std::size_t lineLength_ = 0; // bytes of the current size or trailer line
  std::size_t trailerFields_ = 0;
  std::int64_t bodySize_ = 0;
};

} // namespace pier::http
