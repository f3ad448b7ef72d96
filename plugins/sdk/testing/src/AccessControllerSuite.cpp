// The access controller conformance suite (access_controller_suite.hpp).
#include <atomic>
#include <exception>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pier/testing/access_controller_suite.hpp"

namespace pier::testing {

namespace detail {
int accessControllerConformanceAnchor() {
  return 0;
}
} // namespace detail

void PrintTo(const AccessControllerTarget& target, std::ostream* out) {
  *out << "access controller \"" << target.name << "\"";
}

void AccessControllerConformance::SetUp() {
  ASSERT_TRUE(GetParam().factory) << "the target names no factory";
  try {
    controller_ = GetParam().factory();
  } catch (const Unavailable& unavailable) {
    GTEST_SKIP() << unavailable.what();
  }
  ASSERT_NE(controller_, nullptr) << "the factory gave no access controller";
}

void AccessControllerConformance::TearDown() {
  controller_.reset();
}

AuthRequest AccessControllerConformance::request(std::vector<std::pair<std::string, std::string>> headers) {
  AuthRequest request;
  request.headers = std::move(headers);
  return completed(std::move(request));
}

AuthRequest AccessControllerConformance::completed(AuthRequest request) {
  if (request.method.empty()) request.method = "GET";
  if (request.uri.empty()) request.uri = "/v2/";
  if (request.remoteAddress.empty()) request.remoteAddress = "127.0.0.1:50000";
  return request;
}

namespace {

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(AccessControllerConformance);

// What requests want: the base endpoint, a pull, a push, a mount's two
// repositories, the catalog.
const std::vector<std::vector<Access>>& wantedSets() {
  static const std::vector<std::vector<Access>> sets{
      {},
      {{"repository", "library/alpine", "pull"}},
      {{"repository", "library/alpine", "pull"}, {"repository", "library/alpine", "push"}},
      {{"repository", "team/app", "pull"},
       {"repository", "team/app", "push"},
       {"repository", "library/alpine", "pull"}},
      {{"registry", "catalog", "*"}},
  };
  return sets;
}

std::string describe(const std::vector<Access>& wanted) {
  std::string text;
  for (const Access& access : wanted)
    text += (text.empty() ? "" : " ") + access.type + ":" + access.name + ":" + access.action;
  return text.empty() ? "(the base endpoint)" : text;
}

std::string base64(std::string_view bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(alphabet[(n >> shift) & 63]);
  }
  if (std::size_t rest = bytes.size() - i) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// Authorization headers no controller that checks credentials may grant.
std::vector<std::string> garbageHeaders() {
  std::vector<std::string> headers{
      "Basic ",
      "Basic",
      "basic   ",
      "Basic !!!!not base64!!!!",
      "Basic ====",
      "Basic " + base64("no colon at all"),
      "Basic " + base64(":"),
      "Basic " + base64("pier-conformance-nobody:"),
      "Basic " + base64("pier-conformance-nobody:wrong password"),
      "Basic " + base64(std::string("nul\0inside:pass\0word", 20)),
      "Basic " + base64(std::string(300, ':')),
      "Bearer ",
      "Bearer",
      "Bearer a.b.c",
      "Bearer ....",
      "Bearer " + base64("{\"alg\":\"none\"}") + "." + base64("{}") + ".",
      "Bearer " + std::string(4096, '.'),
      "Digest username=\"alice\", realm=\"x\", nonce=\"y\", response=\"z\"",
      "Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag",
      "Token abc",
      "Basic " + std::string(1 << 20, 'A'),
      "Bearer " + std::string(1 << 20, 'A'),
      std::string(64 * 1024, 'x'),
  };
  std::mt19937 random(15); // a fixed seed: a failure repeats
  for (int i = 0; i < 16; ++i) {
    std::string bytes(1 + random() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 256);
    if (i % 2) bytes = (i % 4 == 1 ? "Basic " : "Bearer ") + bytes;
    headers.push_back(bytes);
  }
  return headers;
}

std::string printable(const std::string& header) {
  std::string shown;
  for (char c : header.substr(0, 60))
    shown +=
        (c >= 0x20 && c < 0x7f) ? std::string(1, c) : "\\x" + std::to_string(static_cast<unsigned char>(c));
  return shown + (header.size() > 60 ? "… (" + std::to_string(header.size()) + " bytes)" : "");
}

TEST_P(AccessControllerConformance, RequestWithoutCredentialsIsChallenged) {
  for (const auto& wanted : wantedSets()) {
    SCOPED_TRACE(describe(wanted));
    for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
             {}, {{"User-Agent", "docker/24.0"}}, {{"Authorization", ""}}}) {
      AuthResult result = controller_->authorize(context_, request(headers), wanted);
      EXPECT_FALSE(result.granted);
      EXPECT_EQ(result.errorCode, "UNAUTHORIZED") << "a client without credentials is asked for them (401)";
      EXPECT_TRUE(isWellFormedRefusal(result, wanted));
    }
  }
}

TEST_P(AccessControllerConformance, GarbageAuthorizationHeadersAreRefusedWithoutAnException) {
  const std::vector<Access> wanted{{"repository", "library/alpine", "pull"}};
  for (const std::string& header : garbageHeaders()) {
    SCOPED_TRACE("Authorization: " + printable(header));
    for (const char* name : {"Authorization", "authorization"}) {
      AuthResult result;
      try {
        result = controller_->authorize(context_, request({{name, header}}), wanted);
      } catch (const std::exception& error) {
        ADD_FAILURE() << "authorize threw (a refusal is an AuthResult): " << error.what();
        continue;
      } catch (...) {
        ADD_FAILURE() << "authorize threw something that is no std::exception";
        continue;
      }
      if (GetParam().checksCredentials) {
        EXPECT_FALSE(result.granted);
      }
      if (!result.granted) {
        EXPECT_TRUE(isWellFormedRefusal(result, wanted));
      }
    }
  }
}

TEST_P(AccessControllerConformance, ValidRequestIsGranted) {
  ASSERT_TRUE(GetParam().grantedRequest) << "the target names no grantedRequest";
  for (const auto& wanted : wantedSets()) {
    SCOPED_TRACE(describe(wanted));
    AuthResult result =
        controller_->authorize(context_, completed(GetParam().grantedRequest(wanted)), wanted);
    EXPECT_TRUE(result.granted) << result.errorCode << ": " << result.message;
  }
}

TEST_P(AccessControllerConformance, RefusedRequestIsRefused) {
  if (!GetParam().refusedRequest) GTEST_SKIP() << "the target names no refusedRequest";
  for (const auto& wanted : wantedSets()) {
    SCOPED_TRACE(describe(wanted));
    AuthResult result =
        controller_->authorize(context_, completed(GetParam().refusedRequest(wanted)), wanted);
    EXPECT_TRUE(isWellFormedRefusal(result, wanted));
  }
}

TEST_P(AccessControllerConformance, ConcurrentCallsGetTheAnswersOneThreadGets) {
  ASSERT_TRUE(GetParam().grantedRequest) << "the target names no grantedRequest";
  const std::vector<Access> wanted{{"repository", "library/alpine", "pull"}};
  // The requests are made before the threads start: only authorize runs concurrently.
  std::vector<AuthRequest> requests{completed(GetParam().grantedRequest(wanted)), request(),
                                    request({{"Authorization", "Basic !!!!"}}),
                                    request({{"Authorization", "Bearer a.b.c"}})};
  if (GetParam().refusedRequest) requests.push_back(completed(GetParam().refusedRequest(wanted)));
  std::vector<AuthResult> expected;
  for (const auto& r : requests) expected.push_back(controller_->authorize(context_, r, wanted));
  ASSERT_TRUE(expected[0].granted);

  constexpr int kThreads = 8, kRounds = 20;
  std::atomic<int> failures{0};
  std::mutex mutex;
  std::string firstFailure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Context context("access-controller-conformance-" + std::to_string(t), logger_);
      for (int round = 0; round < kRounds; ++round) {
        std::size_t i = static_cast<std::size_t>(t + round) % requests.size();
        std::string failure;
        try {
          AuthResult got = controller_->authorize(context, requests[i], wanted);
          if (got.granted != expected[i].granted || got.errorCode != expected[i].errorCode ||
              got.user != expected[i].user)
            failure = "request " + std::to_string(i) + " answered " +
                      (got.granted ? "granted" : got.errorCode) + " (" + got.user + "), alone " +
                      (expected[i].granted ? "granted" : expected[i].errorCode) + " (" + expected[i].user +
                      ")";
        } catch (const std::exception& error) {
          failure = std::string("authorize threw: ") + error.what();
        }
        if (!failure.empty() && failures++ == 0) {
          std::lock_guard lock(mutex);
          firstFailure = failure;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0) << firstFailure;
}

} // namespace
} // namespace pier::testing
