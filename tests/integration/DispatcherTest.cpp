// The dispatcher over real HTTP: the access records each route asks the
// access controller for, its challenges as error JSON, the granted user in
// the access log and in events, and the events every successful push, pull,
// mount and delete produces (logged at debug level until notifications land).
// The access controller is tests/plugins/ScopeAccessController.cpp.
#include <regex>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "ScopesAccess.hpp"

namespace pier::test::api {
namespace {

// The scope="..." of a challenge.
std::string challengedScopes(const HttpResponse& response) {
  std::smatch match;
  std::string header = response.header("WWW-Authenticate");
  if (!std::regex_search(header, match, std::regex(R"(scope="([^"]*)\")"))) return "<no challenge>";
  return match[1];
}

// The event lines of a server log: "action repository digest tag actor" each.
std::vector<std::string> events(const std::string& log) {
  std::vector<std::string> found;
  static const std::regex line(
      R"(msg=event action=(\S+) repository=(\S+) digest=(\S*) tag=(\S*) media_type=\S* size=\S+ actor=(\S*))");
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) {
    const auto& m = *it;
    auto value = [&](int i) { return m[i].str() == "\"\"" ? std::string() : m[i].str(); };
    found.push_back(value(1) + " " + value(2) + " " + value(3) + " " + value(4) + " " + value(5));
  }
  return found;
}

class DispatcherAccessTest : public ::testing::Test {
protected:
  TempDir root;
  TempDir plugins;
  PierServer server{scopesConfig(root, plugins)};
  Client anonymous{server.port()};
};

TEST_F(DispatcherAccessTest, EachRouteAsksForItsAccessRecords) {
  const std::string digest = sha256Of("x");
  const std::string upload = "/v2/lib/app/blobs/uploads/0b7f1c2e-6a4d-4c55-9a1e-3f2b8c9d0e11";
  struct Case {
    std::string method, target, scopes;
  } cases[] = {
      {"GET", "/v2/", ""},
      {"GET", "/v2/_catalog", "registry:catalog:*"},
      {"GET", "/v2/lib/app/tags/list", "repository:lib/app:pull"},
      {"GET", "/v2/lib/app/manifests/latest", "repository:lib/app:pull"},
      {"HEAD", "/v2/lib/app/manifests/latest", "repository:lib/app:pull"},
      {"PUT", "/v2/lib/app/manifests/latest", "repository:lib/app:push"},
      {"DELETE", "/v2/lib/app/manifests/latest", "repository:lib/app:delete"},
      {"GET", "/v2/lib/app/blobs/" + digest, "repository:lib/app:pull"},
      {"DELETE", "/v2/lib/app/blobs/" + digest, "repository:lib/app:delete"},
      {"POST", "/v2/lib/app/blobs/uploads/", "repository:lib/app:push"},
      {"POST", "/v2/lib/app/blobs/uploads/?mount=" + digest + "&from=other/repo",
       "repository:lib/app:push repository:other/repo:pull"},
      {"GET", upload, "repository:lib/app:pull"},
      {"PATCH", upload, "repository:lib/app:push"},
      {"PUT", upload + "?digest=" + digest, "repository:lib/app:push"},
      {"DELETE", upload, "repository:lib/app:delete"},
      {"GET", "/v2/lib/app/referrers/" + digest, "repository:lib/app:pull"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target);
    auto response = anonymous.request(c.method, c.target);
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(challengedScopes(response), c.scopes);
    // AuthRequest::extensions reach the plugin: this server listens without TLS.
    EXPECT_NE(response.header("WWW-Authenticate").find("tls=\"false\""), std::string::npos)
        << response.header("WWW-Authenticate");
    if (c.method == "HEAD") continue;
    EXPECT_TRUE(isError(response, 401, "UNAUTHORIZED"));
    // The error's detail lists the access records, as Distribution's does.
    auto detail = parseJson(response.body)->getArray("errors")->getObject(0)->getArray("detail");
    if (c.scopes.empty()) {
      EXPECT_FALSE(detail);
    } else {
      ASSERT_TRUE(detail);
      EXPECT_EQ(detail->getObject(0)->getValue<std::string>("Type"), c.scopes.substr(0, c.scopes.find(':')));
    }
  }
  // The health endpoint asks nothing; an invalid name is refused before anyone is asked.
  EXPECT_EQ(anonymous.get("/debug/health").status, 200);
  EXPECT_TRUE(isError(anonymous.get("/v2/Lib/app/tags/list"), 400, "NAME_INVALID"));
}

TEST_F(DispatcherAccessTest, GrantedUserWorksAndIsNamedInLogsAndEvents) {
  Client alice(server.port(), scopes("alice", "repository:lib/app:pull repository:lib/app:push"));
  EXPECT_EQ(alice.get("/v2/").status, 200);
  auto [layer, config, manifest, digest] = alice.pushImage("lib/app", "v1", "layer of alice", "{}");
  EXPECT_EQ(alice.get("/v2/lib/app/manifests/v1").body, manifest);
  EXPECT_EQ(alice.get("/v2/lib/app/blobs/" + layer.digest).body, layer.bytes);

  // Scopes that do not cover the route are denied (403), and nothing happens.
  Client reader(server.port(), scopes("bob", "repository:lib/app:pull"));
  auto denied = reader.putManifest("lib/app", "v2", manifest, mediatype::kOciManifest);
  EXPECT_TRUE(isError(denied, 403, "DENIED"));
  EXPECT_EQ(challengedScopes(denied), "repository:lib/app:push");
  EXPECT_TRUE(isError(reader.get("/v2/lib/app/manifests/v2"), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(isError(reader.del("/v2/lib/app/manifests/v1"), 403, "DENIED"));
  EXPECT_EQ(reader.get("/v2/lib/app/manifests/" + digest).status, 200);

  std::string log = server.log();
  EXPECT_TRUE(std::regex_search(
      log, std::regex(R"(msg=request method=PUT path=/v2/lib/app/manifests/v1 status=201 .*user=alice)")))
      << log;
  EXPECT_TRUE(std::regex_search(
      log, std::regex(R"(msg=request method=PUT path=/v2/lib/app/manifests/v2 status=403 )")));
  auto produced = events(log);
  std::vector<std::string> expected{
      "push lib/app " + layer.digest + "  alice", "push lib/app " + config.digest + "  alice",
      "push lib/app " + digest + " v1 alice",     "pull lib/app " + digest + " v1 alice",
      "pull lib/app " + layer.digest + "  alice", "pull lib/app " + digest + "  bob",
  };
  EXPECT_EQ(produced, expected);
}

// The events of every successful push, pull, mount and delete, and none for
// HEAD requests or for what failed.
TEST(DispatcherEvents, EverySuccessfulChangeAndReadIsAnEvent) {
  TempDir root;
  PierServer server(withDebugLog(filesystemConfig(root.path())));
  Client client(server.port());
  Content layer = makeContent("event layer");
  Content config = makeContent("{\"event\":true}");
  client.pushBlob("a/repo", layer);
  client.pushBlobChunked("a/repo", config, 4);
  std::string manifest = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                                       {descriptorJson(media::kOciLayer, layer)});
  std::string digest = client.pushManifest("a/repo", "latest", manifest, mediatype::kOciManifest);
  EXPECT_EQ(client.head("/v2/a/repo/manifests/latest").status, 200);
  EXPECT_EQ(client.head("/v2/a/repo/blobs/" + layer.digest).status, 200);
  EXPECT_EQ(client.get("/v2/a/repo/manifests/latest").status, 200);
  EXPECT_EQ(client.get("/v2/a/repo/blobs/" + layer.digest).status, 200);
  EXPECT_EQ(client.request("POST", "/v2/b/repo/blobs/uploads/?mount=" + layer.digest + "&from=a/repo").status,
            201);
  EXPECT_EQ(client.get("/v2/a/repo/blobs/" + sha256Of("missing")).status, 404);
  EXPECT_EQ(client.del("/v2/b/repo/blobs/" + layer.digest).status, 202);
  EXPECT_EQ(client.del("/v2/a/repo/manifests/latest").status, 202);
  EXPECT_EQ(client.del("/v2/a/repo/manifests/latest").status, 404);
  EXPECT_EQ(client.del("/v2/a/repo/manifests/" + digest).status, 202);

  std::vector<std::string> expected{
      "push a/repo " + layer.digest + "  ",   "push a/repo " + config.digest + "  ",
      "push a/repo " + digest + " latest ",   "pull a/repo " + digest + " latest ",
      "pull a/repo " + layer.digest + "  ",   "mount b/repo " + layer.digest + "  ",
      "delete b/repo " + layer.digest + "  ", "delete a/repo  latest ",
      "delete a/repo " + digest + "  ",
  };
  EXPECT_EQ(events(server.log()), expected) << server.log();
}

} // namespace
} // namespace pier::test::api
