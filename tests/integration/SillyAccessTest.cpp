// The silly access controller (auth/silly) in the real server: any
// Authorization header is enough, none is a Bearer challenge for what the
// route wants, and the server warns at startup that this is for development.
#include <regex>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "TestTokens.hpp"

namespace pier::test::api {
namespace {

const std::string kSillyConfig =
    "auth:\n  silly:\n    realm: https://auth.example/token\n    service: \"silly \\\"registry\\\"\"\n";

std::map<std::string, std::string> challengeOf(const HttpResponse& response) {
  return bearerChallenge(response.header("WWW-Authenticate"));
}

class SillyAccessTest : public ::testing::Test {
protected:
  TempDir root;
  PierServer server{filesystemConfig(root.path(), kSillyConfig)};
  Client anonymous{server.port()};
};

TEST_F(SillyAccessTest, WithoutAnAuthorizationHeaderTheClientIsChallenged) {
  auto base = anonymous.get("/v2/");
  EXPECT_TRUE(isError(base, 401, "UNAUTHORIZED"));
  // The service's quotes come back escaped; /v2/ wants no scope.
  EXPECT_EQ(base.header("WWW-Authenticate"),
            "Bearer realm=\"https://auth.example/token\",service=\"silly \\\"registry\\\"\"");
  std::map<std::string, std::string> expected{{"realm", "https://auth.example/token"},
                                              {"service", "silly \"registry\""},
                                              {"scope", "repository:lib/app:pull"}};
  EXPECT_EQ(challengeOf(anonymous.get("/v2/lib/app/tags/list")), expected);
  auto mount = anonymous.request("POST", "/v2/lib/app/blobs/uploads/?mount=" + sha256Of("x") + "&from=src/x");
  EXPECT_TRUE(isError(mount, 401, "UNAUTHORIZED"));
  EXPECT_EQ(challengeOf(mount)["scope"], "repository:lib/app:push repository:src/x:pull");
}

TEST_F(SillyAccessTest, AnyAuthorizationHeaderIsGrantedEverythingAsSilly) {
  Client client(server.port(), {{"Authorization", "anything at all"}});
  EXPECT_EQ(client.get("/v2/").status, 200);
  Content blob = makeContent("silly layer");
  client.pushBlob("lib/app", blob);
  EXPECT_EQ(client.get("/v2/lib/app/blobs/" + blob.digest).body, blob.bytes);
  EXPECT_EQ(client.get("/v2/_catalog").status, 200);
  EXPECT_EQ(client.del("/v2/lib/app/blobs/" + blob.digest).status, 202);
  EXPECT_TRUE(std::regex_search(server.log(),
                                std::regex(R"(msg=request method=GET path=/v2/ status=200 .*user=silly)")))
      << server.log();
}

TEST_F(SillyAccessTest, TheServerWarnsAtStartupThatThisIsForDevelopmentOnly) {
  std::string log = server.log();
  std::smatch warning;
  ASSERT_TRUE(
      std::regex_search(log, warning, std::regex(R"(level=warn msg="the silly access controller[^\n]*)")))
      << log;
  EXPECT_NE(warning.str().find("for development only"), std::string::npos);
  // Before the server listens: it is a startup warning.
  EXPECT_LT(log.find("silly access controller"), log.find("msg=listening"));
}

TEST(SillyAccessConfig, RealmAndServiceAreRequiredAndNothingElseIsKnown) {
  TempDir dir;
  struct Case {
    std::string lines, expected;
  } cases[] = {
      {"    service: s\n", "auth.silly.realm: is required"},
      {"    realm: r\n", "auth.silly.service: is required"},
      {"    realm: r\n    service: s\n    issuer: i\n", "auth.silly.issuer: unknown parameter"},
  };
  for (const auto& c : cases) {
    writeFile(dir / "config.yml", filesystemConfig(dir / "storage", "auth:\n  silly:\n" + c.lines));
    CommandResult result =
        runPier({"serve", (dir / "config.yml").string()}, {}, {}, std::chrono::seconds(20));
    EXPECT_EQ(result.exitCode, 1) << c.expected;
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << result.output;
  }
}

} // namespace
} // namespace pier::test::api
