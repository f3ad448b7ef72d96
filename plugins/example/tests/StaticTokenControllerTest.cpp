// The SDK's access controller conformance suite on the statictoken
// controller, and what only it promises: pull-only tokens, TLS only, config
// errors that name the key and never show the token.
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>

#include <pier/testing/access_controller_suite.hpp>

#include "StaticTokenController.hpp"

namespace {

const std::string kToken = "a-token-of-24-characters";

Poco::JSON::Object parametersWith(const std::string& key = "", const Poco::Dynamic::Var& value = {}) {
  Poco::JSON::Object parameters;
  parameters.set("realm", "https://auth.example.com/token");
  parameters.set("service", "registry.example.com");
  parameters.set("token", kToken);
  if (!key.empty()) parameters.set(key, value);
  return parameters;
}

pier::AuthRequest bearing(const std::string& token) {
  pier::AuthRequest request;
  request.method = "GET";
  request.uri = "/v2/";
  request.remoteAddress = "127.0.0.1";
  request.headers = {{"Authorization", "Bearer " + token}};
  return request;
}

pier::testing::AccessControllerTarget staticTokenTarget() {
  pier::testing::AccessControllerTarget target;
  target.name = "statictoken";
  target.factory = [] { return pier_example::makeStaticTokenController(parametersWith()); };
  target.grantedRequest = [](const std::vector<pier::Access>&) { return bearing(kToken); };
  target.refusedRequest = [](const std::vector<pier::Access>&) {
    return bearing("another-token-of-24-chars");
  };
  return target;
}

PIER_ACCESS_CONTROLLER_CONFORMANCE(Example, staticTokenTarget());

class StaticTokenControllerTest : public ::testing::Test {
protected:
  pier::testing::TestLogger logger_;
  pier::Context context_{"statictoken-test", logger_};
};

TEST_F(StaticTokenControllerTest, APullOnlyTokenPullsAndIsDeniedAPush) {
  auto controller = pier_example::makeStaticTokenController(parametersWith("pullonly", true));
  const std::vector<pier::Access> pull{{"repository", "a/b", "pull"}};
  const std::vector<pier::Access> push{{"repository", "a/b", "pull"}, {"repository", "a/b", "push"}};
  auto pulled = controller->authorize(context_, bearing(kToken), pull);
  EXPECT_TRUE(pulled.granted);
  EXPECT_EQ(pulled.user, "token");
  auto pushed = controller->authorize(context_, bearing(kToken), push);
  EXPECT_FALSE(pushed.granted);
  EXPECT_EQ(pushed.errorCode, "DENIED");
}

TEST_F(StaticTokenControllerTest, RequireTlsDeniesARequestWithoutIt) {
  auto controller = pier_example::makeStaticTokenController(parametersWith("requiretls", true));
  pier::AuthRequest request = bearing(kToken);
  EXPECT_EQ(controller->authorize(context_, request, {}).errorCode, "DENIED"); // no extensions: not TLS
  request.extensions = new Poco::JSON::Object;
  request.extensions->set("tls", true);
  EXPECT_TRUE(controller->authorize(context_, request, {}).granted);
}

TEST_F(StaticTokenControllerTest, ConfigErrorsNameTheKeyAndNeverTheToken) {
  auto errorOf = [](const Poco::JSON::Object& parameters) {
    try {
      pier_example::makeStaticTokenController(parameters);
    } catch (const pier::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string shortToken = errorOf(parametersWith("token", "short-secret"));
  EXPECT_NE(shortToken.find("auth.statictoken.token"), std::string::npos) << shortToken;
  EXPECT_EQ(shortToken.find("short-secret"), std::string::npos) << shortToken;
  EXPECT_NE(errorOf(parametersWith("realm", "a\"b")).find("auth.statictoken.realm"), std::string::npos);
  EXPECT_NE(errorOf(parametersWith("pullonly", "maybe")).find("auth.statictoken.pullonly"),
            std::string::npos);
  EXPECT_NE(errorOf(parametersWith("colour", "blue")).find("auth.statictoken.colour"), std::string::npos);
  Poco::JSON::Object noService = parametersWith();
  noService.remove("service");
  EXPECT_NE(errorOf(noService).find("auth.statictoken.service: is required"), std::string::npos);
}

} // namespace
