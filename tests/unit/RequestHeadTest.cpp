// The strict HTTP/1.x request head parser of the event loop: framing rules
// that keep requests from being smuggled past a proxy, incremental feeding,
// pipelining, limits and a bounded mutation loop.
#include "http/server/RequestHead.hpp"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "Mutator.hpp"

namespace pier::http {
namespace {

using test::Mutator;

constexpr std::size_t kMax = 8192;

HeadParse parse(std::string_view text, std::size_t max = kMax) {
  return parseRequestHead(text, max);
}

// The head with these header lines (each ending in CRLF) after a GET request line.
std::string get(std::string_view fields, std::string_view version = "HTTP/1.1") {
  return "GET /v2/ " + std::string(version) + "\r\n" + std::string(fields) + "\r\n";
}

void expectError(std::string_view text, int status, std::string_view context = {}) {
  HeadParse result = parse(text);
  EXPECT_EQ(result.status, HeadStatus::error) << context << "\n" << text;
  EXPECT_EQ(result.errorStatus, status) << context << "\n" << text;
  EXPECT_FALSE(result.errorMessage.empty());
}

void expectComplete(std::string_view text) {
  HeadParse result = parse(text);
  EXPECT_EQ(result.status, HeadStatus::complete) << result.errorMessage << "\n" << text;
}

TEST(RequestHead, ParsesAValidHead) {
  std::string text = "PUT /v2/a/b/blobs/uploads/x?digest=sha256:1 HTTP/1.1\r\n"
                     "Host: registry:5000\r\n"
                     "content-LENGTH:  12 \r\n"
                     "X-Empty:\r\n"
                     "X-Tab:\tv a l\t\r\n"
                     "X-Obs-Text: caf\xc3\xa9\r\n"
                     "\r\n";
  HeadParse result = parse(text);
  ASSERT_EQ(result.status, HeadStatus::complete) << result.errorMessage;
  EXPECT_EQ(result.consumed, text.size());
  const RequestHead& head = result.head;
  EXPECT_EQ(head.method, "PUT");
  EXPECT_EQ(head.target, "/v2/a/b/blobs/uploads/x?digest=sha256:1");
  EXPECT_EQ(head.versionMinor, 1);
  ASSERT_EQ(head.headers.size(), 5u);
  EXPECT_EQ(head.headers[1].first, "content-LENGTH"); // as sent
  EXPECT_EQ(head.headers[1].second, "12");            // OWS trimmed
  EXPECT_EQ(head.headers[2].second, "");
  EXPECT_EQ(head.headers[3].second, "v a l");
  EXPECT_EQ(head.headers[4].second, "caf\xc3\xa9");
  EXPECT_EQ(head.contentLength, 12);
  EXPECT_FALSE(head.chunked);
  EXPECT_TRUE(head.keepAlive);
  EXPECT_FALSE(head.expectContinue);
  EXPECT_EQ(head.header("content-length"), "12");
  EXPECT_EQ(head.header("HOST"), "registry:5000");
  EXPECT_EQ(head.header("absent"), "");
}

TEST(RequestHead, HeaderReturnsTheFirstValue) {
  HeadParse result = parse(get("Host: h\r\nX-A: 1\r\nx-a: 2\r\n"));
  ASSERT_EQ(result.status, HeadStatus::complete);
  EXPECT_EQ(result.head.header("X-a"), "1");
  EXPECT_FALSE(result.head.contentLength);
}

TEST(RequestHead, AbsoluteFormAndAsteriskTargets) {
  HeadParse result = parse("GET http://h/v2/?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(result.status, HeadStatus::complete);
  EXPECT_EQ(result.head.target, "http://h/v2/?q=1");
  expectComplete("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  for (const char* target : {"v2/", "h:80", "://h/v2/", "1http://h/", "ht tp://h/"})
    expectError("GET " + std::string(target) + " HTTP/1.1\r\nHost: h\r\n\r\n", 400, target);
}

TEST(RequestHead, EverySplitPointIsIncompleteThenComplete) {
  std::string text = "\r\nPOST /v2/a/blobs/uploads/ HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                     "Connection: keep-alive\r\n\r\n";
  for (std::size_t i = 0; i < text.size(); ++i) {
    HeadParse partial = parse(std::string_view(text).substr(0, i));
    EXPECT_EQ(partial.status, HeadStatus::incomplete) << i << ": " << partial.errorMessage;
  }
  HeadParse whole = parse(text);
  ASSERT_EQ(whole.status, HeadStatus::complete);
  EXPECT_EQ(whole.consumed, text.size());
}

TEST(RequestHead, PipelinedBytesAreNotConsumed) {
  std::string first = get("Host: h\r\n");
  std::string text = first + get("Host: h\r\n") + "GET /partial";
  HeadParse result = parse(text);
  ASSERT_EQ(result.status, HeadStatus::complete);
  EXPECT_EQ(result.consumed, first.size());
  HeadParse second = parse(std::string_view(text).substr(result.consumed));
  ASSERT_EQ(second.status, HeadStatus::complete);
  EXPECT_EQ(second.consumed, first.size());
  EXPECT_EQ(parse(std::string_view(text).substr(2 * first.size())).status, HeadStatus::incomplete);
}

TEST(RequestHead, LeadingEmptyLinesAreSkippedAndCounted) {
  std::string head = get("Host: h\r\n");
  HeadParse result = parse("\r\n\r\n" + head);
  ASSERT_EQ(result.status, HeadStatus::complete);
  EXPECT_EQ(result.consumed, head.size() + 4);
  EXPECT_EQ(result.head.method, "GET");
  EXPECT_EQ(parse("\r\n\r\n").status, HeadStatus::incomplete);
  expectError("\n" + head, 400, "leading bare LF");
  expectError(" " + head, 400, "leading space");
  expectError("\r" + head, 400, "leading bare CR");
}

TEST(RequestHead, HeadSizeLimit) {
  std::string head = get("Host: h\r\n");
  EXPECT_EQ(parse(head, head.size()).status, HeadStatus::complete);
  HeadParse over = parse(head, head.size() - 1);
  EXPECT_EQ(over.status, HeadStatus::error);
  EXPECT_EQ(over.errorStatus, 431);
  // No CRLFCRLF within the limit: 431 as soon as the limit is reached, incomplete before.
  std::string endless = "GET /v2/ HTTP/1.1\r\nX-Long: " + std::string(200, 'a');
  EXPECT_EQ(parse(endless, endless.size() + 1).status, HeadStatus::incomplete);
  EXPECT_EQ(parse(endless, endless.size()).errorStatus, 431);
  EXPECT_EQ(parse(endless, 64).errorStatus, 431);
  // Leading empty lines count too, so endless CRLFs cannot hold a connection.
  std::string emptyLines;
  for (int i = 0; i < 30; ++i) emptyLines += "\r\n";
  EXPECT_EQ(parse(emptyLines, 50).errorStatus, 431);
  EXPECT_EQ(parse(emptyLines, 61).status, HeadStatus::incomplete);
}

TEST(RequestHead, AtMostOneHundredHeaderFields) {
  std::string fields = "Host: h\r\n";
  for (int i = 1; i < 100; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
  HeadParse hundred = parse(get(fields));
  ASSERT_EQ(hundred.status, HeadStatus::complete);
  EXPECT_EQ(hundred.head.headers.size(), 100u);
  expectError(get(fields + "X-101: v\r\n"), 431, "101 fields");
  // Known before the head ends.
  HeadParse partial = parse("GET / HTTP/1.1\r\n" + fields + "X-101: v\r\n");
  EXPECT_EQ(partial.errorStatus, 431);
}

TEST(RequestHead, RequestLineMustBeExact) {
  const char* bad[] = {
      "GET  /v2/ HTTP/1.1",  // two spaces
      "GET /v2/  HTTP/1.1",  //
      "GET\t/v2/ HTTP/1.1",  // tab separator
      "GET /v2/\tHTTP/1.1",  //
      "GET /v2/ HTTP/1.1 ",  // trailing space
      " GET /v2/ HTTP/1.1",  // leading space
      "GET /v2/",            // HTTP/0.9 style
      "GET",                 //
      "GET /v2/ http/1.1",   // the version is case-sensitive
      "GET /v2/ HTTP/1",     //
      "GET /v2/ HTTP/1.1.1", //
      "GET /v2/ HTTP/11.0",  //
      "GET /v2/ HTTP/1.x",   //
      "GET /v 2/ HTTP/1.1",  // space in the target
      "G(T /v2/ HTTP/1.1",   // method not a token
      "GET /v2/\x7f HTTP/1.1",
      "GET /caf\xc3\xa9 HTTP/1.1",
  };
  for (const char* line : bad) expectError(std::string(line) + "\r\nHost: h\r\n\r\n", 400, line);
  expectError(std::string("GET /v2/\0 HTTP/1.1\r\nHost: h\r\n\r\n", 31), 400, "NUL in the target");
  expectError(std::string("GET /v2/\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), 400, "control in the target");
  // Early: the head has not ended yet.
  EXPECT_EQ(parse("GET  / HTTP/1.1\r\nHo").errorStatus, 400);
}

TEST(RequestHead, OnlyHttp10And11) {
  for (const char* version : {"HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/3.0", "HTTP/1.9"})
    expectError(get("Host: h\r\n", version), 505, version);
  expectError("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2 preface");
  EXPECT_EQ(parse("PRI * HTTP/2.0\r\n").errorStatus, 505); // before the head ends
  HeadParse old = parse(get("", "HTTP/1.0"));
  ASSERT_EQ(old.status, HeadStatus::complete) << old.errorMessage; // no Host needed
  EXPECT_EQ(old.head.versionMinor, 0);
}

TEST(RequestHead, LineEndingsAreCrlfOnly) {
  expectError("GET /v2/ HTTP/1.1\nHost: h\r\n\r\n", 400, "bare LF after the request line");
  expectError("GET /v2/ HTTP/1.1\r\nHost: h\n\r\n", 400, "bare LF after a field");
  expectError("GET /v2/ HTTP/1.1\r\nHost: h\r\n\n", 400, "bare LF as the end");
  expectError("GET /v2/ HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400, "bare CR in a field");
  expectError("GET /v2/ HTTP/1.1\r\nHost: h\r\r\n\r\n", 400, "CR CR LF");
  expectError("GET /v2/ HTTP/1.1\r\nHost: h\r\n\r\r\n", 400, "CR CR LF as the end");
  expectError("GET /v2/ HTTP/1.1\rHost: h\r\n\r\n", 400, "bare CR after the request line");
  // Known before the head ends; a CR at the end of the buffer may still get its LF.
  EXPECT_EQ(parse("GET /v2/ HTTP/1.1\nHo").errorStatus, 400);
  EXPECT_EQ(parse("GET /v2/ HTTP/1.1\r").status, HeadStatus::incomplete);
  EXPECT_EQ(parse("GET /v2/ HTTP/1.1\rX").errorStatus, 400);
}

TEST(RequestHead, FieldLineSyntax) {
  expectError(get("Host: h\r\nX-A : 1\r\n"), 400, "space before the colon");
  expectError(get("Host: h\r\nX-A\t: 1\r\n"), 400, "tab before the colon");
  expectError(get("Host : h\r\n"), 400, "space before the colon of Host");
  expectError(get("Host: h\r\nX-A: 1\r\n  folded\r\n"), 400, "obs-fold with spaces");
  expectError(get("Host: h\r\nX-A: 1\r\n\tfolded\r\n"), 400, "obs-fold with a tab");
  expectError(get(" Host: h\r\n"), 400, "whitespace before the first field");
  expectError(get("Host: h\r\nX(A): 1\r\n"), 400, "name not a token");
  expectError(get("Host: h\r\n: 1\r\n"), 400, "empty name");
  expectError(get("Host: h\r\nno colon\r\n"), 400, "no colon");
  expectError(get("Host: h\r\nX-\xc3\xa9: 1\r\n"), 400, "non-ASCII name");
  expectError(get("Host: h\r\nX-A: a\x01z\r\n"), 400, "control in a value");
  expectError(get("Host: h\r\nX-A: a\x7fz\r\n"), 400, "DEL in a value");
  expectError(get("Host: h\r\nX-A: a" + std::string(1, '\0') + "z\r\n"), 400, "NUL in a value");
  expectComplete(get("Host: h\r\nX-A: a:b:c\r\n"));
}

TEST(RequestHead, ContentLength) {
  HeadParse ok = parse(get("Host: h\r\nContent-Length: 9223372036854775807\r\n"));
  ASSERT_EQ(ok.status, HeadStatus::complete);
  EXPECT_EQ(ok.head.contentLength, INT64_MAX);
  EXPECT_EQ(parse(get("Host: h\r\nContent-Length: 0\r\n")).head.contentLength, 0);
  // Identical values, as repeated fields or a list, are one length (RFC 9110 8.6).
  EXPECT_EQ(parse(get("Host: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n")).head.contentLength, 5);
  EXPECT_EQ(parse(get("Host: h\r\nContent-Length: 5, 5,5\r\n")).head.contentLength, 5);
  const char* bad[] = {
      "Content-Length: 5\r\nContent-Length: 6\r\n",
      "Content-Length: 5, 6\r\n",
      "Content-Length: 5\r\nContent-Length: 05\r\n", // same number, different text
      "Content-Length: 5,\r\n",
      "Content-Length: ,5\r\n",
      "Content-Length:\r\n",
      "Content-Length: +5\r\n",
      "Content-Length: -1\r\n",
      "Content-Length: 5 5\r\n",
      "Content-Length: 0x5\r\n",
      "Content-Length: 5.0\r\n",
      "Content-Length: 9223372036854775808\r\n",
      "Content-Length: 99999999999999999999999\r\n",
  };
  for (const char* field : bad) expectError(get("Host: h\r\n" + std::string(field)), 400, field);
}

TEST(RequestHead, TransferEncoding) {
  for (const char* value : {"chunked", "Chunked", "CHUNKED"}) {
    HeadParse result = parse(get("Host: h\r\nTransfer-Encoding: " + std::string(value) + "\r\n"));
    ASSERT_EQ(result.status, HeadStatus::complete) << value;
    EXPECT_TRUE(result.head.chunked);
    EXPECT_FALSE(result.head.contentLength);
  }
  struct Case {
    const char* fields;
    int status;
  } cases[] = {
      {"Transfer-Encoding: gzip\r\n", 501},
      {"Transfer-Encoding: identity\r\n", 501},
      {"Transfer-Encoding: gzip, chunked\r\n", 501},
      {"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501},
      {"Transfer-Encoding: chunked, gzip\r\n", 400},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", 400},
      {"Transfer-Encoding: chunked, chunked\r\n", 400},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400},
      {"Transfer-Encoding: chunked;x=1\r\n", 400},
      {"Transfer-Encoding: , chunked\r\n", 400},
      {"Transfer-Encoding:\r\n", 400},
      {"Transfer-Encoding: \"chunked\"\r\n", 400},
      {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400},
      {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400},
      {"Content-Length: 5\r\nTransfer-Encoding: gzip\r\n", 400},
  };
  for (const Case& c : cases) expectError(get("Host: h\r\n" + std::string(c.fields)), c.status, c.fields);
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
  expectError(get("Transfer-Encoding: chunked\r\n", "HTTP/1.0"), 400, "HTTP/1.0 chunked");
}

TEST(RequestHead, Host) {
  expectError(get(""), 400, "no Host in HTTP/1.1");
  expectError(get("Host: a\r\nHost: a\r\n"), 400, "two Hosts");
  expectError(get("Host: a\r\nhost: b\r\n", "HTTP/1.0"), 400, "two Hosts in HTTP/1.0");
  expectError(get("Host: a b\r\n"), 400, "space in Host");
  expectError(get("Host: a/b\r\n"), 400, "slash in Host");
  expectError(get("Host: u@a\r\n"), 400, "userinfo in Host");
  expectComplete(get("Host: [::1]:5000\r\n"));
  expectComplete(get("Host: 127.0.0.1\r\n"));
  expectComplete(get("Host:\r\n")); // RFC 9112 3.2: empty when the target has no authority
}

TEST(RequestHead, KeepAlive) {
  auto keepAlive = [](std::string_view fields, std::string_view version) {
    HeadParse result = parse(get(fields, version));
    EXPECT_EQ(result.status, HeadStatus::complete) << result.errorMessage;
    return result.head.keepAlive;
  };
  EXPECT_TRUE(keepAlive("Host: h\r\n", "HTTP/1.1"));
  EXPECT_FALSE(keepAlive("Host: h\r\nConnection: close\r\n", "HTTP/1.1"));
  EXPECT_FALSE(keepAlive("Host: h\r\nConnection: Upgrade, CLOSE\r\n", "HTTP/1.1"));
  EXPECT_FALSE(keepAlive("Host: h\r\nConnection: keep-alive\r\nConnection: close\r\n", "HTTP/1.1"));
  EXPECT_FALSE(keepAlive("", "HTTP/1.0"));
  EXPECT_TRUE(keepAlive("Connection: Keep-Alive\r\n", "HTTP/1.0"));
  EXPECT_FALSE(keepAlive("Connection: keep-alive, close\r\n", "HTTP/1.0"));
}

TEST(RequestHead, ExpectContinue) {
  EXPECT_TRUE(parse(get("Host: h\r\nExpect: 100-continue\r\n")).head.expectContinue);
  EXPECT_TRUE(parse(get("Host: h\r\nexpect: 100-Continue\r\n")).head.expectContinue);
  EXPECT_FALSE(parse(get("Host: h\r\nExpect: something\r\n")).head.expectContinue);
  // RFC 9110 10.1.1: ignored in HTTP/1.0.
  EXPECT_FALSE(parse(get("Expect: 100-continue\r\n", "HTTP/1.0")).head.expectContinue);
}

// Deterministic mutations of valid heads: no crash, and only the documented outcomes.
TEST(RequestHead, MutationsGiveOnlyDocumentedOutcomes) {
  const std::string seeds[] = {
      "PUT /v2/a/blobs/uploads/1 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
      "PATCH /v2/a/blobs/uploads/1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
      "\r\nGET /v2/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /",
  };
  Mutator mutator(
      8, std::string{'\r', '\n', ' ', '\t', ':', ',', '\0', '\x7f', '\xff', 'a', '0', '/', ';', '"'});
  std::uint32_t state = 12345; // xorshift: the same mutations every run
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  int outcomes[3] = {};
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[next() % 3];
    text = mutator.mutate(text);
    std::size_t max = next() % 2 ? kMax : 40 + next() % 60;
    HeadParse result = parseRequestHead(text, max);
    ++outcomes[static_cast<int>(result.status)];
    if (result.status == HeadStatus::error) {
      EXPECT_TRUE(result.errorStatus == 400 || result.errorStatus == 431 || result.errorStatus == 501 ||
                  result.errorStatus == 505)
          << result.errorStatus;
      EXPECT_FALSE(result.errorMessage.empty());
    } else if (result.status == HeadStatus::complete) {
      EXPECT_LE(result.consumed, std::min(text.size(), max));
      EXPECT_EQ(text.compare(result.consumed - 4, 4, "\r\n\r\n"), 0);
      EXPECT_FALSE(result.head.method.empty());
      EXPECT_FALSE(result.head.chunked && result.head.contentLength);
    } else {
      EXPECT_EQ(result.errorStatus, 0);
    }
  }
  // Each outcome happens, so the loop explores more than one path.
  EXPECT_GT(outcomes[0], 0);
  EXPECT_GT(outcomes[1], 0);
  EXPECT_GT(outcomes[2], 0);
}

} // namespace
} // namespace pier::http

namespace pier::http {
namespace {

// A TLS ClientHello sent to the plain-HTTP port gets its 400 before any line ends.
TEST(RequestHead, WhatCannotStartARequestLineIsRefusedBeforeItEnds) {
  const std::string clientHello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  HeadParse tls = parseRequestHead(clientHello, 65536);
  EXPECT_EQ(tls.status, HeadStatus::error);
  EXPECT_EQ(tls.errorStatus, 400);
  EXPECT_EQ(parseRequestHead("GET /v2/\x01", 65536).status, HeadStatus::error);
  EXPECT_EQ(parseRequestHead("GET /v2/ HTT", 65536).status, HeadStatus::incomplete);
}

} // namespace
} // namespace pier::http
