#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pier::http {

// A parsed request head (RFC 9112), after the checks that keep a request
// from meaning one thing to a proxy in front of Pier and another to Pier.
struct RequestHead {
  std::string method;                                       // a token
  std::string target;                                       // request-target as sent
  int versionMinor = 1;                                     // HTTP/1.0 -> 0, HTTP/1.1 -> 1
  std::vector<std::pair<std::string, std::string>> headers; // names as sent, values trimmed of OWS
  std::optional<std::int64_t> contentLength;
  bool chunked = false;
  bool keepAlive = true;
  bool expectContinue = false;
  std::string header(std::string_view name) const; // first value, case-insensitive; "" when absent
};

enum class HeadStatus { incomplete, complete, error };

struct HeadParse {
  HeadStatus status = HeadStatus::incomplete;
  std::size_t consumed = 0; // bytes of the head with its final CRLFCRLF, when complete
  RequestHead head;
  int errorStatus = 0; // 400, 431, 501 or 505
  std::string errorMessage;
};

// Parses the head at the start of buffer; past maxHeadSize bytes without an end: 431.
HeadParse parseRequestHead(std::string_view buffer, std::size_t maxHeadSize);

} // namespace pier::http
