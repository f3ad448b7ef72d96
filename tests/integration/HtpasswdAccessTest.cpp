// The htpasswd access controller (auth/htpasswd) in the real `pier serve`:
// Basic credentials against a file the real `htpasswd -B` (apache2-utils)
// writes, its challenge as error JSON, pushes and pulls by a user named in the
// access log, every bcrypt variant, the file edited while the server runs,
// and files the server refuses to start with.
#include <chrono>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

using namespace std::chrono_literals;

const std::string kHtpasswd = "/usr/bin/htpasswd";

void htpasswd(const std::vector<std::string>& arguments) {
  CommandResult result = runCommand(kHtpasswd, arguments);
  ASSERT_EQ(result.exitCode, 0) << "htpasswd failed: " << result.output;
}

std::string htpasswdConfig(const TempDir& root, const std::filesystem::path& file) {
  return filesystemConfig(root.path(),
                          "auth:\n  htpasswd:\n    realm: Pier test\n    path: " + file.string() + "\n");
}

std::map<std::string, std::string> credentials(const std::string& user, const std::string& password) {
  return {{"Authorization", basicAuthorization(user + ":" + password)}};
}

int statusOf(std::uint16_t port, const std::string& user, const std::string& password) {
  return httpRequest(port, "GET", "/v2/", {}, credentials(user, password)).status;
}

::testing::AssertionResult isChallenge(const HttpResponse& response) {
  if (auto error = isError(response, 401, "UNAUTHORIZED"); !error) return error;
  if (response.header("WWW-Authenticate") != "Basic realm=\"Pier test\"")
    return ::testing::AssertionFailure() << "WWW-Authenticate: " << response.header("WWW-Authenticate");
  std::string message =
      parseJson(response.body)->getArray("errors")->getObject(0)->getValue<std::string>("message");
  if (message != "authentication required") return ::testing::AssertionFailure() << "message: " << message;
  return ::testing::AssertionSuccess();
}

class HtpasswdAccessTest : public ::testing::Test {
protected:
  TempDir root;
  TempDir auth;
  std::filesystem::path file = auth / "htpasswd";
  std::unique_ptr<PierServer> server;

  void SetUp() override {
    htpasswd({"-B", "-b", "-c", file.string(), "alice", "alice's secret"});
    server = std::make_unique<PierServer>(htpasswdConfig(root, file));
  }
};

TEST_F(HtpasswdAccessTest, WithoutValidCredentialsEveryRouteIsChallenged) {
  Client anonymous(server->port());
  EXPECT_TRUE(isChallenge(anonymous.get("/v2/")));
  EXPECT_TRUE(isChallenge(anonymous.get("/v2/_catalog")));
  EXPECT_TRUE(isChallenge(anonymous.get("/v2/lib/app/tags/list")));
  EXPECT_TRUE(isChallenge(anonymous.request("POST", "/v2/lib/app/blobs/uploads/")));
  EXPECT_EQ(anonymous.head("/v2/lib/app/manifests/latest").status, 401);

  EXPECT_TRUE(isChallenge(Client(server->port(), credentials("alice", "wrong")).get("/v2/")));
  EXPECT_TRUE(isChallenge(Client(server->port(), credentials("alice", "")).get("/v2/")));
  EXPECT_TRUE(isChallenge(Client(server->port(), credentials("mallory", "alice's secret")).get("/v2/")));

  // Malformed Authorization headers are challenges too, and leave the server serving.
  const std::vector<std::string> malformed{
      "Bearer abc",        "Basic", "Basic !!!!", "Basic YWxpY2U=",
      "Basic YWxpY2U6cHc", "basic", "Basic OnB3", "Basic " + std::string(10000, 'A')};
  for (const auto& header : malformed) {
    SCOPED_TRACE(header.substr(0, 40));
    EXPECT_TRUE(isChallenge(Client(server->port(), {{"Authorization", header}}).get("/v2/")));
  }
  EXPECT_EQ(anonymous.get("/debug/health").status, 200);
  EXPECT_EQ(statusOf(server->port(), "alice", "alice's secret"), 200);
}

TEST_F(HtpasswdAccessTest, TheUserPushesAndPullsAndIsNamedInTheAccessLog) {
  // As docker does: first without credentials, then with them.
  EXPECT_EQ(Client(server->port()).get("/v2/").status, 401);
  Client alice(server->port(), credentials("alice", "alice's secret"));
  EXPECT_EQ(alice.get("/v2/").status, 200);
  Content layer = makeContent("a layer of alice");
  alice.pushBlob("lib/app", layer);
  HttpResponse pulled = alice.get("/v2/lib/app/blobs/" + layer.digest);
  EXPECT_EQ(pulled.status, 200);
  EXPECT_EQ(pulled.body, layer.bytes);
  // Every action is granted to who authenticates, as in Distribution.
  EXPECT_EQ(alice.get("/v2/_catalog").status, 200);
  EXPECT_EQ(alice.del("/v2/lib/app/blobs/" + layer.digest).status, 202);

  std::string log = server->log();
  EXPECT_TRUE(std::regex_search(log, std::regex("msg=request method=GET path=/v2/lib/app/blobs/" +
                                                layer.digest + " status=200 .*user=alice")))
      << log;
  EXPECT_TRUE(std::regex_search(log, std::regex(R"(msg=request method=GET path=/v2/ status=401 )"))) << log;
  EXPECT_EQ(log.find("alice's secret"), std::string::npos);
}

TEST_F(HtpasswdAccessTest, UsersAddedAndRemovedCountWithoutARestart) {
  std::uint16_t port = server->port();
  EXPECT_EQ(statusOf(port, "alice", "alice's secret"), 200); // verified, so remembered
  EXPECT_EQ(statusOf(port, "bob", "bob's secret"), 401);

  htpasswd({"-B", "-b", file.string(), "bob", "bob's secret"});
  EXPECT_TRUE(eventually([&] { return statusOf(port, "bob", "bob's secret") == 200; }));
  EXPECT_EQ(statusOf(port, "alice", "alice's secret"), 200);

  htpasswd({"-D", file.string(), "alice"});
  EXPECT_TRUE(eventually([&] { return statusOf(port, "alice", "alice's secret") == 401; }));
  EXPECT_EQ(statusOf(port, "bob", "bob's secret"), 200);
  EXPECT_TRUE(std::regex_search(server->log(),
                                std::regex("auth.htpasswd: read " + file.string() + " again: 1 users")))
      << server->log();

  // A file that no longer loads keeps the users there were, with a warning.
  writeFile(file, readFile(file) + "carol:$apr1$Vx6s7CPn$CGjAmQOZ7K6AnbKldYFDO/\n");
  EXPECT_TRUE(eventually([&] {
    statusOf(port, "bob", "bob's secret");
    return server->log().find("line 2: user \\\"carol\\\" has an MD5 hash") != std::string::npos;
  })) << server->log();
  EXPECT_EQ(statusOf(port, "bob", "bob's secret"), 200);
  EXPECT_EQ(statusOf(port, "alice", "alice's secret"), 401);
  EXPECT_EQ(server->stop(SIGTERM), 0);
}

TEST(HtpasswdVariants, TwoYTwoAAndTwoBAreAllBcrypt) {
  TempDir root, auth;
  std::filesystem::path file = auth / "htpasswd";
  htpasswd({"-B", "-b", "-c", file.string(), "y-user", "pw y"});
  htpasswd({"-B", "-b", file.string(), "a-user", "pw a"});
  htpasswd({"-B", "-b", file.string(), "b-user", "pw b"});
  std::string text = readFile(file);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
  ASSERT_NE(text.find("a-user:$2y$"), std::string::npos) << text;
  // bcrypt's variants hash alike; only the prefix differs.
  text.replace(text.find("a-user:$2y$") + 7, 4, "$2a$");
  text.replace(text.find("b-user:$2y$") + 7, 4, "$2b$");
  writeFile(file, "# one user per variant\n" + text);

  PierServer server(htpasswdConfig(root, file));
  for (const std::string variant : {"y", "a", "b"}) {
    SCOPED_TRACE(variant);
    EXPECT_EQ(statusOf(server.port(), variant + "-user", "pw " + variant), 200);
    EXPECT_EQ(statusOf(server.port(), variant + "-user", "pw"), 401);
  }
}

// `pier serve` with the file: exits non-zero, naming the key and the line.
CommandResult serveWith(const TempDir& dir, const std::string& authSection) {
  writeFile(dir / "config.yml", filesystemConfig(dir / "root", authSection));
  return runPier({"serve", (dir / "config.yml").string()}, {}, {}, 20s);
}

TEST(HtpasswdStartup, FilesWithOtherHashesOrBadLinesStopTheServer) {
  TempDir dir;
  std::filesystem::path good = dir / "good", md5 = dir / "md5", sha = dir / "sha";
  htpasswd({"-B", "-b", "-c", good.string(), "alice", "pw"});
  htpasswd({"-m", "-b", "-c", md5.string(), "bob", "pw"});
  htpasswd({"-s", "-b", "-c", sha.string(), "bob", "pw"});
  std::string goodLine = readFile(good);
  struct Case {
    std::string name, badLine, expected;
  } cases[] = {
      {"md5", readFile(md5), "user \"bob\" has an MD5 hash ($apr1$"},
      {"sha1", readFile(sha), "user \"bob\" has a SHA-1 hash ({SHA}"},
      {"no colon", "bob\n", "no colon between user and password hash"},
      {"unknown hash", "bob:$3$not-a-hash\n", "user \"bob\" has an unknown hash type"},
      {"plain", "bob:pw\n", "user \"bob\" has no hash Pier knows"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::filesystem::path file = dir / ("htpasswd-" + c.name);
    writeFile(file, "# users\n" + goodLine + c.badLine);
    CommandResult result =
        serveWith(dir, "auth:\n  htpasswd:\n    realm: r\n    path: " + file.string() + "\n");
    EXPECT_NE(result.exitCode, 0) << result.output;
    EXPECT_NE(result.output.find("auth.htpasswd.path: " + file.string() + " line 3: " + c.expected),
              std::string::npos)
        << result.output;
    EXPECT_EQ(result.output.find("msg=listening"), std::string::npos) << result.output;
  }
}

TEST(HtpasswdStartup, AMissingFileOrKeyStopsTheServer) {
  TempDir dir;
  std::filesystem::path file = dir / "htpasswd";
  htpasswd({"-B", "-b", "-c", file.string(), "alice", "pw"});
  struct Case {
    std::string section, expected;
  } cases[] = {
      {"realm: r\n    path: " + (dir / "missing").string(),
       "auth.htpasswd.path: cannot open " + (dir / "missing").string() + ": No such file or directory"},
      {"realm: r\n    path: " + dir.path().string(),
       "auth.htpasswd.path: " + dir.path().string() + " is not a regular file"},
      {"path: " + file.string(), "auth.htpasswd.realm: is required"},
      {"realm: r", "auth.htpasswd.path: is required"},
      {"realm: r\n    path: " + file.string() + "\n    users: x", "auth.htpasswd.users: unknown parameter"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.section);
    CommandResult result = serveWith(dir, "auth:\n  htpasswd:\n    " + c.section + "\n");
    EXPECT_NE(result.exitCode, 0) << result.output;
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << result.output;
  }
}

} // namespace
} // namespace pier::test::api
