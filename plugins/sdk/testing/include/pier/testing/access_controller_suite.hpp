#pragma once

// The access controller conformance suite: what every pier::AccessController
// must do whatever its scheme. A refusal is an AuthResult (never an
// exception: the SDK's authorize() answers, it does not throw) with the code
// UNAUTHORIZED and a well-formed WWW-Authenticate challenge (Basic or Bearer,
// realm="…"; a Bearer challenge names the service and, for what was wanted,
// the scope, as Docker's token authentication specifies), or DENIED. Tests:
// no credentials are challenged; garbage Authorization headers (random bytes,
// huge, empty "Basic ", not base64, other schemes) are refused without an
// exception; the author's valid request is granted; the author's refused
// request, when given, is refused; eight threads calling at once get the
// answers one thread gets.
//
//   pier::testing::AccessControllerTarget target;
//   target.name = "mycontroller";
//   target.factory = [] { return makeController(); };
//   target.grantedRequest = [](const std::vector<pier::Access>& wanted) {
//     pier::AuthRequest request;
//     request.headers = {{"Authorization", credentialsGranting(wanted)}};
//     return request;
//   };
//   PIER_ACCESS_CONTROLLER_CONFORMANCE(MyPlugin, target);
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <pier/access_controller.hpp>

#include "pier/testing/support.hpp"

namespace pier::testing {

struct AccessControllerTarget {
  std::string name; // names the test instances
  std::function<std::shared_ptr<AccessController>()> factory;
  // A request with valid credentials, which the controller must grant for
  // `wanted`. The suite fills in method, uri and remoteAddress when empty.
  std::function<AuthRequest(const std::vector<Access>& wanted)> grantedRequest;
  // Optional: a request with credentials the controller must refuse (a wrong
  // password, a token of another issuer).
  std::function<AuthRequest(const std::vector<Access>& wanted)> refusedRequest;
  // Whether the controller checks what an Authorization header holds. A
  // development controller that grants any header (Distribution's "silly")
  // says false: the garbage headers then need not be refused, only answered
  // without an exception.
  bool checksCredentials = true;
};

void PrintTo(const AccessControllerTarget& target, std::ostream* out);

// A WWW-Authenticate challenge: its scheme as sent and its parameters
// (names in lower case, quoted-string values unescaped).
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> parameters;
};

// Parses one challenge (RFC 7235: scheme, then name=token or
// name="quoted-string" parameters separated by commas); none when the text is
// not one.
std::optional<Challenge> parseChallenge(std::string_view text);

// Success when the refusal is well-formed for what was wanted (see above).
::testing::AssertionResult isWellFormedRefusal(const AuthResult& result, const std::vector<Access>& wanted);

class AccessControllerConformance : public ::testing::TestWithParam<AccessControllerTarget> {
protected:
  void SetUp() override;
  void TearDown() override;

  // A request for the registry's API with these headers.
  static AuthRequest request(std::vector<std::pair<std::string, std::string>> headers = {});
  // The author's request with what they left empty filled in.
  static AuthRequest completed(AuthRequest request);

  TestLogger logger_;
  Context context_{"access-controller-conformance", logger_};
  std::shared_ptr<AccessController> controller_;
};

namespace detail {
int accessControllerConformanceAnchor();
} // namespace detail

} // namespace pier::testing

// Runs the suite on each target: PIER_ACCESS_CONTROLLER_CONFORMANCE(Prefix, target...).
// gtest pastes the suite's name into identifiers and matches it, as text,
// with the TEST_P of the library: hence the alias of the same name. The
// anchor's call links the object file holding the tests.
#define PIER_ACCESS_CONTROLLER_CONFORMANCE(prefix, ...)                                                      \
  using AccessControllerConformance = ::pier::testing::AccessControllerConformance;                          \
  INSTANTIATE_TEST_SUITE_P(prefix, AccessControllerConformance, ::testing::Values(__VA_ARGS__),              \
                           ::pier::testing::ByName());                                                       \
  [[maybe_unused]] static const int pier_access_controller_conformance_anchor_##prefix =                     \
      ::pier::testing::detail::accessControllerConformanceAnchor()
