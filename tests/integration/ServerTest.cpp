// The server over real HTTP: base endpoint, errors, health, logging, signals.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "PierProcess.hpp"

namespace pier::test {
namespace {

// Asserts the Distribution error body: {"errors":[{"code": code, "message": ...}]}.
void expectError(const HttpResponse& response, int status, const std::string& code) {
  EXPECT_EQ(response.status, status);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto errors = parseJson(response.body)->getArray("errors");
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ(errors->getObject(0)->getValue<std::string>("code"), code);
  EXPECT_FALSE(errors->getObject(0)->getValue<std::string>("message").empty());
}

class ServerTest : public ::testing::Test {
protected:
  TempDir root;
  PierServer server{filesystemConfig(root.path())};
};

TEST_F(ServerTest, BaseEndpointAnswersEmptyObjectWithApiVersion) {
  auto response = httpRequest(server.port(), "GET", "/v2/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{}");
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.header("Docker-Distribution-API-Version"), "registry/2.0");

  auto head = httpRequest(server.port(), "HEAD", "/v2/");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(head.header("Content-Length"), "2");
}

TEST_F(ServerTest, AbsoluteFormTargetsAreServed) {
  auto response =
      httpRequest(server.port(), "GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/v2/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{}");
  expectError(httpRequest(server.port(), "GET", "http://127.0.0.1/nothing?x=1"), 404, "NOT_FOUND");
}

TEST_F(ServerTest, UnknownPathIsNotFoundWithErrorJson) {
  for (const char* path : {"/", "/v1/", "/nothing/here", "/v2/../etc/passwd", "/debug/nothing"}) {
    SCOPED_TRACE(path);
    auto response = httpRequest(server.port(), "GET", path);
    expectError(response, 404, "NOT_FOUND");
    EXPECT_EQ(response.header("Docker-Distribution-API-Version"), "registry/2.0");
  }
}

TEST_F(ServerTest, UnsupportedMethodOnBaseIs405) {
  expectError(httpRequest(server.port(), "POST", "/v2/", "x"), 405, "UNSUPPORTED");
  expectError(httpRequest(server.port(), "DELETE", "/v2/"), 405, "UNSUPPORTED");
}

TEST_F(ServerTest, HealthIsOkWhileTheDriverAnswers) {
  auto response = httpRequest(server.port(), "GET", "/debug/health");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{}");
}

TEST_F(ServerTest, LogsOneStructuredLinePerRequest) {
  httpRequest(server.port(), "GET", "/v2/");
  httpRequest(server.port(), "GET", "/missing");
  std::string log = server.log();
  std::regex ok(
      R"(msg=request method=GET path=/v2/ status=200 bytes=2 duration_ms=[0-9.]+ request_id=[0-9a-f-]{36} )");
  std::regex missing(
      R"(msg=request method=GET path=/missing status=404 bytes=\d+ duration_ms=[0-9.]+ request_id=[0-9a-f-]{36} )");
  EXPECT_TRUE(std::regex_search(log, ok)) << log;
  EXPECT_TRUE(std::regex_search(log, missing)) << log;
}

// log.formatter json and logstash: every line is one JSON object, with log.fields in it.
TEST(ServerLogs, JsonAndLogstashLinesAreJsonObjectsWithTheConfiguredFields) {
  for (const std::string formatter : {"json", "logstash"}) {
    SCOPED_TRACE(formatter);
    TempDir dir;
    PierServer server(filesystemConfig(dir / "root"),
                      {{"REGISTRY_LOG_FORMATTER", formatter}, {"REGISTRY_LOG_FIELDS_SERVICE", "registry-a"}});
    httpRequest(server.port(), "GET", "/v2/");
    server.stop(SIGTERM);
    std::istringstream lines(server.log());
    int requests = 0, parsed = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line.front() != '{') continue;
      auto entry = parseJson(line);
      ++parsed;
      EXPECT_EQ(entry->optValue<std::string>("service", ""), "registry-a") << line;
      const bool logstash = formatter == "logstash";
      EXPECT_TRUE(entry->has(logstash ? "@timestamp" : "time")) << line;
      EXPECT_TRUE(entry->has(logstash ? "message" : "msg")) << line;
      EXPECT_TRUE(entry->has("level")) << line;
      if (logstash) {
        EXPECT_EQ(entry->optValue<std::string>("@version", ""), "1") << line;
      }
      if (entry->optValue<std::string>(logstash ? "message" : "msg", "") == "request") {
        ++requests;
        EXPECT_EQ(entry->optValue<std::string>("path", ""), "/v2/") << line;
        EXPECT_EQ(entry->optValue<std::string>("status", ""), "200") << line;
      }
    }
    EXPECT_GT(parsed, 2) << server.log();
    EXPECT_EQ(requests, 1) << server.log();
  }
}

TEST_F(ServerTest, KeepAliveConnectionServesManyRequests) {
  Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
  session.setKeepAlive(true);
  for (int i = 0; i < 20; ++i) {
    Poco::Net::HTTPRequest request("GET", "/v2/", Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    ASSERT_EQ(response.getStatus(), 200);
    ASSERT_EQ(body, "{}");
  }
}

TEST_F(ServerTest, ConfiguredHeadersAreOnEveryResponse) {
  TempDir other;
  PierServer withHeaders(
      filesystemConfig(other.path(), "  headers:\n    X-Content-Type-Options: [nosniff]\n"));
  EXPECT_EQ(httpRequest(withHeaders.port(), "GET", "/v2/").header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(httpRequest(withHeaders.port(), "GET", "/nope").header("X-Content-Type-Options"), "nosniff");
}

TEST(ServerUrls, PrefixServesTheApiBelowItAndInItsUrls) {
  TempDir root;
  PierServer server(filesystemConfig(root.path(), "  prefix: /registry/\n"));
  EXPECT_EQ(httpRequest(server.port(), "GET", "/registry/v2/").status, 200);
  expectError(httpRequest(server.port(), "GET", "/v2/"), 404, "NOT_FOUND");
  auto upload = httpRequest(server.port(), "POST", "/registry/v2/a/b/blobs/uploads/");
  EXPECT_EQ(upload.status, 202);
  EXPECT_EQ(upload.header("Location").rfind("/registry/v2/a/b/blobs/uploads/", 0), 0u)
      << upload.header("Location");
  EXPECT_EQ(httpRequest(server.port(), "GET", upload.header("Location")).status, 204);
}

TEST(ServerUrls, HostMakesUrlsAbsoluteUnlessRelativeUrlsIsSet) {
  TempDir root;
  PierServer absolute(filesystemConfig(root.path(), "  host: https://registry.example.test/\n"));
  auto upload = httpRequest(absolute.port(), "POST", "/v2/a/blobs/uploads/");
  EXPECT_EQ(upload.header("Location").rfind("https://registry.example.test/v2/a/blobs/uploads/", 0), 0u)
      << upload.header("Location");
  TempDir other;
  PierServer relative(
      filesystemConfig(other.path(), "  host: https://registry.example.test\n  relativeurls: true\n"));
  EXPECT_EQ(
      httpRequest(relative.port(), "POST", "/v2/a/blobs/uploads/").header("Location").rfind("/v2/a/", 0), 0u);
}

TEST(ServerSignals, SigtermStopsCleanly) {
  TempDir root;
  PierServer server(filesystemConfig(root.path()));
  ASSERT_EQ(httpRequest(server.port(), "GET", "/v2/").status, 200);
  EXPECT_EQ(server.stop(SIGTERM), 0);
  EXPECT_NE(server.log().find("msg=stopped"), std::string::npos) << server.log();
}

TEST(ServerSignals, SigintStopsCleanly) {
  TempDir root;
  PierServer server(filesystemConfig(root.path()));
  EXPECT_EQ(server.stop(SIGINT), 0);
  EXPECT_NE(server.log().find("signal=SIGINT"), std::string::npos) << server.log();
}

TEST(ServerDefaults, EmbeddedDefaultServesFilesystemUnderDataWithEnvironmentOverride) {
  // No config file: the embedded conf/config.yml, with the port moved off 5000.
  PierServer server("", {{"REGISTRY_HTTP_ADDR", "127.0.0.1:0"}});
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/").status, 200);
  std::string log = server.log();
  EXPECT_NE(log.find("storage=filesystem"), std::string::npos) << log;
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/").header("X-Content-Type-Options"), "nosniff");
}

TEST(ServerDefaults, EnvironmentOverridesTheConfigFile) {
  TempDir root;
  // The file asks for an address that cannot be bound; the environment wins.
  std::string config =
      std::regex_replace(filesystemConfig(root.path()), std::regex("127.0.0.1:0"), "127.0.0.1:notaport");
  PierServer server(config, {{"REGISTRY_HTTP_ADDR", "127.0.0.1:0"}, {"REGISTRY_STORAGE", "inmemory"}});
  EXPECT_EQ(httpRequest(server.port(), "GET", "/v2/").status, 200);
  EXPECT_NE(server.log().find("storage=inmemory"), std::string::npos) << server.log();
}

} // namespace
} // namespace pier::test
