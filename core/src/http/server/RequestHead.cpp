#include "http/server/RequestHead.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "http/server/HttpSyntax.hpp"

namespace pier::http {

using namespace syntax;

namespace {

using Field = std::pair<std::string_view, std::string_view>;

HeadParse failure(int status, std::string message) {
  HeadParse parse;
  parse.status = HeadStatus::error;
  parse.errorStatus = status;
  parse.errorMessage = std::move(message);
  return parse;
}

struct RequestLine {
  std::string_view method, target;
  int minor = 1;
};

// method SP request-target SP HTTP-version, nothing else (RFC 9112 section 3).
// Returns 0, or the status with message set.
int parseRequestLine(std::string_view line, RequestLine& out, const char*& message) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    message = "request line is not method SP request-target SP HTTP-version";
    return 400;
  }
  out.method = line.substr(0, sp1);
  if (!isToken(out.method)) {
    message = "invalid method in the request line";
    return 400;
  }
  std::string_view rest = line.substr(sp1 + 1);
  std::size_t sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos) { // "GET /": HTTP/0.9 style, no version
    message = "request line without an HTTP version";
    return 400;
  }
  out.target = rest.substr(0, sp2);
  if (out.target.empty()) {
    message = "empty request target";
    return 400;
  }
  // Visible ASCII only: a URI has no spaces, controls or raw non-ASCII bytes.
  for (unsigned char c : out.target)
    if (c <= 0x20 || c >= 0x7f) {
      message = "invalid character in the request target";
      return 400;
    }
  // origin-form ("/path"), absolute-form ("scheme://...") or asterisk-form ("*"); "v2/" is none
  // of them (RFC 9112 section 3.2), and a registry takes no CONNECT authority-form.
  std::size_t scheme = out.target.find("://");
  bool absolute =
      scheme != std::string_view::npos && scheme > 0 &&
      std::isalpha(static_cast<unsigned char>(out.target[0])) &&
      out.target.substr(0, scheme).find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") == std::string_view::npos;
  if (out.target[0] != '/' && out.target != "*" && !absolute) {
    message = "request target is neither a path nor an absolute URI";
    return 400;
  }
  std::string_view version = rest.substr(sp2 + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !digit(version[5]) || version[6] != '.' ||
      !digit(version[7])) {
    message = "invalid HTTP version in the request line";
    return 400;
  }
  if (version[5] != '1' || version[7] > '1') { // HTTP/2 preface "PRI * HTTP/2.0", HTTP/0.9, HTTP/1.2...
    message = "HTTP version not supported";
    return 505;
  }
  out.minor = version[7] - '0';
  return 0;
}

// field-name ":" OWS field-value OWS (RFC 9112 section 5). Returns nullptr or the error.
const char* parseFieldLine(std::string_view line, Field& out) {
  if (isOws(line.front())) return "obsolete line folding or whitespace before a header field";
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return "header field without a colon";
  std::string_view name = line.substr(0, colon);
  if (!name.empty() && isOws(name.back())) return "whitespace between a header field name and the colon";
  if (!isToken(name)) return "invalid header field name";
  std::string_view value = trimOws(line.substr(colon + 1));
  for (unsigned char c : value)
    if (!isFieldValueChar(c)) return "control character in a header field value";
  out = {name, value};
  return nullptr;
}

// Calls f on each trimmed comma-separated element; stops when it returns false.
template <typename F> bool forEachElement(std::string_view list, F f) {
  for (;;) {
    std::size_t comma = list.find(',');
    if (!f(trimOws(list.substr(0, comma)))) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

bool isDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

// reg-name, IP-literal or IPv4 with an optional port: no spaces, "/", "?", "#", "@".
bool isHostValue(std::string_view value) {
  for (unsigned char c : value) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '%':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '[':
    case ']':
      ok = true;
      break;
    default:
      break;
    }
    if (!ok) return false;
  }
  return true;
}

// The framing and connection semantics of a complete head (RFC 9112 sections 6, 9).
HeadParse interpret(const RequestLine& line, const Field* fields, std::size_t count) {
  std::optional<std::string_view> lengthText;
  std::int64_t length = 0;
  bool transferEncoding = false, chunked = false, otherCoding = false;
  int chunkedCount = 0;
  std::size_t codings = 0;
  int hosts = 0;
  bool close = false, keepAlive = false, expectContinue = false;

  for (std::size_t i = 0; i < count; ++i) {
    auto [name, value] = fields[i];
    if (equalsIgnoreCase(name, "content-length")) {
      // Duplicates and lists pass only when every element is the same text
      // (RFC 9110 8.6 allows identical values); anything else is ambiguous framing.
      const char* error = nullptr;
      forEachElement(value, [&](std::string_view element) {
        if (!isDigits(element)) {
          error = "Content-Length is not a decimal number";
          return false;
        }
        if (lengthText && *lengthText != element) {
          error = "several different Content-Length values";
          return false;
        }
        if (!lengthText) {
          auto [end, ec] = std::from_chars(element.data(), element.data() + element.size(), length);
          if (ec != std::errc() || end != element.data() + element.size()) {
            error = "Content-Length out of range";
            return false;
          }
          lengthText = element;
        }
        return true;
      });
      if (error) return failure(400, error);
    } else if (equalsIgnoreCase(name, "transfer-encoding")) {
      transferEncoding = true;
      const char* error = nullptr;
      forEachElement(value, [&](std::string_view element) {
        // Empty elements are refused too: no client sends them, proxies disagree on them.
        std::string_view coding = trimOws(element.substr(0, element.find(';')));
        if (!isToken(coding)) {
          error = "invalid Transfer-Encoding";
          return false;
        }
        ++codings;
        if (equalsIgnoreCase(coding, "chunked")) {
          ++chunkedCount;
          chunked = element == coding; // chunked takes no parameters
          if (!chunked) {
            error = "invalid Transfer-Encoding";
            return false;
          }
        } else {
          if (chunked) {
            error = "Transfer-Encoding chunked is not the final coding";
            return false;
          }
          otherCoding = true;
        }
        return true;
      });
      if (error) return failure(400, error);
    } else if (equalsIgnoreCase(name, "host")) {
      if (++hosts > 1) return failure(400, "more than one Host header");
      if (!isHostValue(value)) return failure(400, "invalid Host header");
    } else if (equalsIgnoreCase(name, "connection")) {
      forEachElement(value, [&](std::string_view option) {
        close = close || equalsIgnoreCase(option, "close");
        keepAlive = keepAlive || equalsIgnoreCase(option, "keep-alive");
        return true;
      });
    } else if (equalsIgnoreCase(name, "expect")) {
      forEachElement(value, [&](std::string_view expectation) {
        expectContinue = expectContinue || equalsIgnoreCase(expectation, "100-continue");
        return true;
      });
    }
  }

  if (line.minor == 1 && hosts == 0) return failure(400, "missing Host header");
  if (transferEncoding) {
    // RFC 9112 6.1: HTTP/1.0 framing with Transfer-Encoding is faulty.
    if (line.minor == 0) return failure(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (lengthText) return failure(400, "both Content-Length and Transfer-Encoding");
    if (chunkedCount > 1) return failure(400, "Transfer-Encoding chunked given twice");
    if (codings == 0) return failure(400, "empty Transfer-Encoding");
    if (!chunked) return failure(501, "Transfer-Encoding other than chunked");
    if (otherCoding) return failure(501, "Transfer-Encoding other than chunked");
  }

  HeadParse parse;
  parse.status = HeadStatus::complete;
  RequestHead& head = parse.head;
  head.method = line.method;
  head.target = line.target;
  head.versionMinor = line.minor;
  head.headers.reserve(count);
  for (std::size_t i = 0; i < count; ++i) head.headers.emplace_back(fields[i].first, fields[i].second);
  if (lengthText) head.contentLength = length;
  head.chunked = chunked;
  head.keepAlive = line.minor == 1 ? !close : keepAlive && !close;
  head.expectContinue = expectContinue && line.minor == 1; // RFC 9110 10.1.1: ignored in HTTP/1.0
  return parse;
}

} // namespace

std::string RequestHead::header(std::string_view name) const {
  for (const auto& [fieldName, value] : headers)
    if (equalsIgnoreCase(fieldName, name)) return value;
  return {};
}

namespace {

// Whether the start of a line can still become "method SP target SP version".
bool plausibleRequestLine(std::string_view partial) {
  if (partial == "\r") return true; // an empty line, still arriving
  std::size_t i = 0;
  while (i < partial.size() && partial[i] != ' ') {
    if (!isTchar(static_cast<unsigned char>(partial[i]))) return false;
    ++i;
  }
  for (; i < partial.size() && partial[i] != '\r'; ++i) {
    auto c = static_cast<unsigned char>(partial[i]);
    if (c < ' ' || c == 0x7f) return false;
  }
  return true;
}

} // namespace

HeadParse parseRequestHead(std::string_view buffer, std::size_t maxHeadSize) {
  // Only the first maxHeadSize bytes can belong to an acceptable head.
  const std::string_view view = buffer.substr(0, std::min(buffer.size(), maxHeadSize));
  const bool truncated = buffer.size() >= maxHeadSize;
  auto needMore = [&]() { return truncated ? failure(431, "request head too large") : HeadParse{}; };

  // Views into buffer: nothing is allocated until the head is complete.
  std::array<Field, kMaxHeaderFields> fields;
  std::size_t fieldCount = 0;
  RequestLine requestLine;
  bool sawRequestLine = false;

  for (std::size_t lineStart = 0;;) {
    std::size_t lf = view.find('\n', lineStart);
    std::size_t cr = view.find('\r', lineStart);
    // Every CR ends a line and every LF follows a CR: a proxy that splits
    // lines on bare CR or bare LF would frame this head differently.
    if (cr != std::string_view::npos && (lf == std::string_view::npos ? cr + 1 < view.size() : cr + 1 < lf))
      return failure(400, "CR not followed by LF");
    if (lf == std::string_view::npos) {
      // A first line that cannot become a request line is refused now, not at
      // the head deadline: a TLS handshake sent to this plain-HTTP port learns at once.
      if (!sawRequestLine && !plausibleRequestLine(view.substr(lineStart)))
        return failure(400, "malformed request line");
      return needMore();
    }
    if (cr == std::string_view::npos || cr + 1 != lf) return failure(400, "bare LF line ending");
    std::string_view line = view.substr(lineStart, cr - lineStart);
    lineStart = lf + 1;

    if (!sawRequestLine) {
      if (line.empty()) continue; // RFC 9112 2.2: empty lines before the request line are ignored
      const char* message = nullptr;
      if (int status = parseRequestLine(line, requestLine, message)) return failure(status, message);
      sawRequestLine = true;
      continue;
    }
    if (line.empty()) {
      HeadParse parse = interpret(requestLine, fields.data(), fieldCount);
      if (parse.status == HeadStatus::complete) parse.consumed = lineStart;
      return parse;
    }
    if (fieldCount == fields.size()) return failure(431, "too many header fields");
    if (const char* error = parseFieldLine(line, fields[fieldCount])) return failure(400, error);
    ++fieldCount;
  }
}

} // namespace pier::http
