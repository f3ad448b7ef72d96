#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pier::http {

struct ChunkedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Decodes a chunked body incrementally (RFC 9112 7.1): fed bytes as they
// arrive. Chunk extensions are skipped; trailer fields are read and dropped.
class ChunkedDecoder {
public:
  struct Result {
    std::size_t consumed = 0; // input bytes used
    std::size_t produced = 0; // body bytes written to out
    bool done = false;        // the last chunk and the trailer section were read
  };
  // Throws ChunkedError on a malformed size line, a missing CRLF after a
  // chunk's data or an overlong size or trailer line.
  Result decode(const char* input, std::size_t inputSize, char* out, std::size_t outSize);
  bool done() const { return state_ == State::done; }

private:
  enum class State { size, data, dataEnd, trailer, done };
  void sizeLine();

  State state_ = State::size;
  std::string line_; // the size or trailer line read so far
  std::int64_t left_ = 0;
};

} // namespace pier::http
