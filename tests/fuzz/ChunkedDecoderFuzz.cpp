// Chunked request bodies fed as the network delivers them: decoding in
// pieces of any size (and in place) gives the same body, the same end and
// the same failure as decoding at once; only ChunkedError is thrown, and a
// failed decoder stays failed.
#include <optional>
#include <string>

#include "http/server/ChunkedDecoder.hpp"

#include "FuzzContract.hpp"

namespace {

using pier::http::ChunkedDecoder;
using pier::http::ChunkedError;

struct Outcome {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  bool failed = false;
};

// Decodes input in pieces of `piece` bytes into an output window of `window`
// bytes (in place when window is 0).
Outcome decodeInPieces(std::string_view input, std::size_t piece, std::size_t window) {
  ChunkedDecoder decoder;
  Outcome outcome;
  std::string buffer;
  // Every round makes progress (room for one byte is enough), so input.size() rounds end it.
  std::size_t offset = 0;
  for (std::size_t rounds = 0; rounds <= input.size() && !decoder.done(); ++rounds) {
    std::size_t available = std::min(piece, input.size() - offset);
    if (available == 0) break; // all input given: the body is incomplete
    buffer.assign(input.substr(offset, available));
    std::string out(window, '\0');
    char* target = window == 0 ? buffer.data() : out.data();
    std::size_t room = window == 0 ? buffer.size() : window;
    ChunkedDecoder::Result result;
    try {
      result = decoder.decode(buffer.data(), buffer.size(), target, room);
    } catch (const ChunkedError&) {
      outcome.failed = true;
      bool throwsAgain = false;
      try {
        decoder.decode(buffer.data(), buffer.size(), target, room);
      } catch (const ChunkedError&) {
        throwsAgain = true;
      }
      PIER_FUZZ_REQUIRE(throwsAgain);
      return outcome;
    }
    PIER_FUZZ_REQUIRE(result.consumed <= available && result.produced <= room);
    PIER_FUZZ_REQUIRE(result.consumed > 0 || result.done);
    PIER_FUZZ_REQUIRE(result.done == decoder.done());
    outcome.body.append(target, result.produced);
    offset += result.consumed;
    outcome.consumed = offset;
  }
  outcome.done = decoder.done();
  PIER_FUZZ_REQUIRE(decoder.bodySize() == static_cast<std::int64_t>(outcome.body.size()));
  return outcome;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = pier::fuzz::bytesOf(data, size);
  unsigned selector = pier::fuzz::takeSelector(input);
  Outcome whole = decodeInPieces(input, input.size() + 1, input.size() + 1);
  Outcome pieces = decodeInPieces(input, 1 + selector % 7, 1 + selector / 7 % 5);
  Outcome inPlace = decodeInPieces(input, 1 + selector % 13, 0);
  for (const Outcome* other : {&pieces, &inPlace}) {
    PIER_FUZZ_REQUIRE(other->failed == whole.failed);
    if (whole.failed) continue;
    PIER_FUZZ_REQUIRE(other->done == whole.done);
    PIER_FUZZ_REQUIRE(other->body == whole.body);
    if (whole.done) PIER_FUZZ_REQUIRE(other->consumed == whole.consumed);
  }
  return 0;
}
