#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The HTTP/1.x request head parser of the event loop: pure code, no I/O.
// Strict on purpose (RFC 9112): anything a proxy in front of Pier could frame
// differently is refused instead of guessed, so requests cannot be smuggled.
namespace pier::http {

struct RequestHead {
  std::string method;   // "GET"; a token (RFC 9110 tchar)
  std::string target;   // request-target as sent ("/v2/...?..." or absolute-form "http://h/p")
  int versionMinor = 1; // HTTP/1.0 -> 0, HTTP/1.1 -> 1 (only HTTP/1.x accepted)
  std::vector<std::pair<std::string, std::string>> headers; // names as sent, values trimmed of OWS, in order
  std::optional<std::int64_t> contentLength;                // when a Content-Length was sent
  bool chunked = false;                                     // Transfer-Encoding: chunked (the final coding)
  bool keepAlive =
      true; // HTTP/1.1 default unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive"
  bool expectContinue = false;                     // "Expect: 100-continue"
  std::string header(std::string_view name) const; // first value, case-insensitive name; "" when absent
};

enum class HeadStatus { incomplete, complete, error };

struct HeadParse {
  HeadStatus status = HeadStatus::incomplete;
  std::size_t consumed = 0; // bytes of the head including the final CRLFCRLF, when complete
  RequestHead head;         // when complete
  int errorStatus = 0; // when error: 400, 431 (head too large), 501 (Transfer-Encoding other than chunked),
                       // 505 (HTTP version)
  std::string errorMessage; // for the error JSON, e.g. "both Content-Length and Transfer-Encoding"
};

// At most this many header fields; past it 431.
inline constexpr std::size_t kMaxHeaderFields = 100;

// Parses the head at the start of buffer. maxHeadSize bounds the head: past it
// (no CRLFCRLF within maxHeadSize bytes, or a complete head longer) -> 431.
// Leading empty lines count in consumed and in maxHeadSize. An incomplete
// buffer is checked for line-ending, request-line and field-count errors, so a
// bad client is answered before its head ends; field semantics are checked
// once the head is complete. Each call rescans the buffer from the start.
HeadParse parseRequestHead(std::string_view buffer, std::size_t maxHeadSize);

} // namespace pier::http
