#include "http/server/RequestHead.hpp"

#include <charconv>

namespace pier::http {

namespace {

constexpr std::size_t kMaxHeaders = 100;

bool isTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text)
    if (!isTokenChar(c)) return false;
  return true;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Whether a comma-separated header value lists token (case-insensitive).
bool listHas(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    if (equalsIgnoreCase(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Whether the start of a head can still become a valid request line.
bool plausibleRequestLine(std::string_view partial) {
  std::size_t i = 0;
  while (i < partial.size() && partial[i] != ' ') {
    if (!isTokenChar(static_cast<unsigned char>(partial[i]))) return false;
    ++i;
  }
  for (; i < partial.size() && partial[i] != '\r'; ++i) {
    auto c = static_cast<unsigned char>(partial[i]);
    if (c < ' ' || c == 0x7f) return false;
  }
  return true;
}

HeadParse failure(int status, std::string message) {
  HeadParse parse;
  parse.status = HeadStatus::error;
  parse.errorStatus = status;
  parse.errorMessage = std::move(message);
  return parse;
}

} // namespace

std::string RequestHead::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (equalsIgnoreCase(key, name)) return value;
  return {};
}

HeadParse parseRequestHead(std::string_view buffer, std::size_t maxHeadSize) {
  // Empty lines before the request line are ignored (RFC 9112 2.2).
  std::size_t start = 0;
  while (buffer.substr(start, 2) == "\r\n") start += 2;
  std::size_t end = buffer.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    if (buffer.size() - start > maxHeadSize)
      return failure(431, "the request head is larger than http.maxheadsize");
    if (buffer.substr(start, 5) == "PRI *") return failure(505, "HTTP/2 is not served");
    // What cannot start a request line is refused now, not at the head
    // deadline: a TLS handshake sent to this plain-HTTP port learns at once.
    if (!plausibleRequestLine(buffer.substr(start))) return failure(400, "malformed request line");
    return {};
  }
  if (end + 4 - start > maxHeadSize) return failure(431, "the request head is larger than http.maxheadsize");
  std::string_view head = buffer.substr(start, end + 2 - start); // every line with its CRLF

  HeadParse parse;
  RequestHead& request = parse.head;
  std::size_t lineEnd = head.find("\r\n");
  std::string_view line = head.substr(0, lineEnd);
  // method SP request-target SP HTTP-version, single spaces.
  std::size_t first = line.find(' ');
  std::size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) return failure(400, "malformed request line");
  request.method = std::string(line.substr(0, first));
  std::string_view target = line.substr(first + 1, last - first - 1);
  std::string_view version = line.substr(last + 1);
  if (!isToken(request.method)) return failure(400, "malformed request method");
  if (target.empty()) return failure(400, "empty request target");
  for (unsigned char c : target)
    if (c <= ' ' || c == 0x7f) return failure(400, "malformed request target");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return failure(400, "malformed HTTP version");
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
    return failure(505, "HTTP version " + std::string(version.substr(5)) + " is not served");
  request.versionMinor = version[7] - '0';
  request.target = std::string(target);
  request.keepAlive = request.versionMinor == 1;

  int hosts = 0, contentLengths = 0, transferEncodings = 0;
  std::string_view rest = head.substr(lineEnd + 2);
  while (!rest.empty()) {
    std::size_t next = rest.find("\r\n");
    std::string_view field = rest.substr(0, next);
    rest.remove_prefix(next + 2);
    if (field.front() == ' ' || field.front() == '\t') return failure(400, "obsolete line folding");
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) return failure(400, "a header line without a colon");
    std::string_view name = field.substr(0, colon);
    if (!isToken(name)) return failure(400, "malformed header name");
    std::string_view value = trim(field.substr(colon + 1));
    for (unsigned char c : value)
      if ((c < ' ' && c != '\t') || c == 0x7f) return failure(400, "a control character in a header value");
    if (request.headers.size() == kMaxHeaders) return failure(431, "more than 100 header fields");
    request.headers.emplace_back(std::string(name), std::string(value));

    if (equalsIgnoreCase(name, "Host")) {
      ++hosts;
    } else if (equalsIgnoreCase(name, "Content-Length")) {
      // One Content-Length of digits only: a list or a second one (even equal) is refused.
      ++contentLengths;
      std::int64_t length = 0;
      auto [ptr, error] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (value.empty() || error != std::errc() || ptr != value.data() + value.size() ||
          value.front() == '-' || value.front() == '+')
        return failure(400, "Content-Length is not a number");
      request.contentLength = length;
    } else if (equalsIgnoreCase(name, "Transfer-Encoding")) {
      ++transferEncodings;
      std::string_view coding = trim(value);
      if (!equalsIgnoreCase(coding, "chunked")) {
        if (listHas(coding, "chunked")) return failure(400, "chunked must be the only transfer coding");
        return failure(501, "transfer coding \"" + std::string(coding) + "\" is not implemented");
      }
      request.chunked = true;
    } else if (equalsIgnoreCase(name, "Connection")) {
      if (listHas(value, "close"))
        request.keepAlive = false;
      else if (listHas(value, "keep-alive"))
        request.keepAlive = true;
    } else if (equalsIgnoreCase(name, "Expect")) {
      if (equalsIgnoreCase(value, "100-continue")) request.expectContinue = true;
    }
  }
  if (contentLengths > 1) return failure(400, "more than one Content-Length");
  if (transferEncodings > 1) return failure(400, "more than one Transfer-Encoding");
  if (contentLengths && transferEncodings) return failure(400, "both Content-Length and Transfer-Encoding");
  if (hosts > 1) return failure(400, "more than one Host");
  if (hosts == 0 && request.versionMinor == 1) return failure(400, "an HTTP/1.1 request without Host");
  parse.status = HeadStatus::complete;
  parse.consumed = end + 4;
  return parse;
}

} // namespace pier::http
