// Request heads as the connection layer reads them, a buffer that grows as
// bytes arrive: a complete head is well-formed and its bytes alone parse the
// same; a prefix of a complete head is never an error (it is what the server
// saw before); errors have the documented statuses.
#include <algorithm>

#include "http/server/RequestHead.hpp"

#include "FuzzContract.hpp"

namespace {

using namespace pier::http;

bool isTchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void requireWellFormed(const HeadParse& parse, std::string_view buffer, std::size_t maxHeadSize) {
  const RequestHead& head = parse.head;
  PIER_FUZZ_REQUIRE(parse.consumed >= 4 && parse.consumed <= buffer.size());
  PIER_FUZZ_REQUIRE(parse.consumed <= maxHeadSize);
  PIER_FUZZ_REQUIRE(buffer.substr(parse.consumed - 4, 4) == "\r\n\r\n");
  PIER_FUZZ_REQUIRE(!head.method.empty() && std::all_of(head.method.begin(), head.method.end(), isTchar));
  PIER_FUZZ_REQUIRE(!head.target.empty());
  PIER_FUZZ_REQUIRE(head.versionMinor == 0 || head.versionMinor == 1);
  PIER_FUZZ_REQUIRE(head.headers.size() <= kMaxHeaderFields);
  PIER_FUZZ_REQUIRE(!(head.chunked && head.contentLength));
  if (head.contentLength) PIER_FUZZ_REQUIRE(*head.contentLength >= 0);
  for (const auto& [name, value] : head.headers) {
    PIER_FUZZ_REQUIRE(!name.empty() && std::all_of(name.begin(), name.end(), isTchar));
    PIER_FUZZ_REQUIRE(value.find_first_of("\r\n") == std::string::npos);
    PIER_FUZZ_REQUIRE(value.empty() || (value.front() != ' ' && value.back() != ' '));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view buffer = pier::fuzz::bytesOf(data, size);
  // The first byte chooses the head size limit: tiny ones reach the 431 paths.
  unsigned selector = pier::fuzz::takeSelector(buffer);
  const std::size_t maxHeadSize = selector < 128 ? 16 + selector * 4 : 64 * 1024;

  HeadParse parse = parseRequestHead(buffer, maxHeadSize);
  switch (parse.status) {
  case HeadStatus::incomplete:
    PIER_FUZZ_REQUIRE(buffer.size() <= maxHeadSize);
    PIER_FUZZ_REQUIRE(buffer.find("\r\n\r\n") == std::string_view::npos || buffer.find("\r\n\r\n") == 0);
    break;
  case HeadStatus::error:
    PIER_FUZZ_REQUIRE(parse.errorStatus == 400 || parse.errorStatus == 431 || parse.errorStatus == 501 ||
                      parse.errorStatus == 505);
    PIER_FUZZ_REQUIRE(!parse.errorMessage.empty());
    break;
  case HeadStatus::complete: {
    requireWellFormed(parse, buffer, maxHeadSize);
    HeadParse alone = parseRequestHead(buffer.substr(0, parse.consumed), maxHeadSize);
    PIER_FUZZ_REQUIRE(alone.status == HeadStatus::complete && alone.consumed == parse.consumed);
    PIER_FUZZ_REQUIRE(alone.head.headers == parse.head.headers && alone.head.target == parse.head.target);
    for (std::size_t cut : {parse.consumed - 1, parse.consumed / 2, std::size_t(1)}) {
      HeadParse prefix = parseRequestHead(buffer.substr(0, cut), maxHeadSize);
      PIER_FUZZ_REQUIRE(prefix.status == HeadStatus::incomplete);
    }
    break;
  }
  }
  return 0;
}
