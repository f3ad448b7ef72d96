// The example deployment of conf/scale-out, run as written: two Pier
// processes on conf/scale-out/pier.yml (what differs per instance from the
// environment, as its comment says), nginx on conf/scale-out/nginx.conf in
// front (its ports replaced by free ones), a real Ceph RGW and a real
// redis-server. Pushes and pulls go through nginx, which sends consecutive
// requests to alternate instances.
#include <csignal>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include "ApiClient.hpp"
#include "RedisServerProcess.hpp"
#include "RgwProcess.hpp"

namespace pier::test::api {
namespace {

const std::filesystem::path kExample = std::filesystem::path(PIER_SOURCE_DIR) / "conf/scale-out";

std::uint16_t freePort() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  return socket.address().port();
}

// nginx on the example's config, with the ports this test chose; stopped by its PID.
class Balancer {
public:
  Balancer(std::uint16_t port, std::uint16_t first, std::uint16_t second) : port_(port) {
    std::string config = readFile(kExample / "nginx.conf");
    config = std::regex_replace(config, std::regex("listen 5000;"),
                                "listen 127.0.0.1:" + std::to_string(port) + ";");
    config =
        std::regex_replace(config, std::regex("127\\.0\\.0\\.1:5001"), "127.0.0.1:" + std::to_string(first));
    config =
        std::regex_replace(config, std::regex("127\\.0\\.0\\.1:5002"), "127.0.0.1:" + std::to_string(second));
    writeFile(dir_ / "nginx.conf", config);
    pid_ =
        spawnProcess("/usr/sbin/nginx",
                     {"-p", dir_.path().string(), "-c", (dir_ / "nginx.conf").string(), "-g", "daemon off;"},
                     {}, dir_.path(), dir_ / "nginx.out");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        Poco::Net::StreamSocket probe(Poco::Net::SocketAddress("127.0.0.1", port));
        return;
      } catch (const Poco::Exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    throw std::runtime_error("nginx does not listen:\n" + readFile(dir_ / "nginx.out"));
  }
  ~Balancer() {
    ::kill(pid_, SIGTERM);
    waitForExit(pid_, std::chrono::seconds(10));
  }
  std::uint16_t port() const { return port_; }

private:
  TempDir dir_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

// How many requests for the repository an instance's access log holds.
int requestsServed(const PierServer& server) {
  const std::string log = server.log();
  const std::regex line("msg=request method=[A-Z]+ path=/v2/a/repo/");
  return static_cast<int>(
      std::distance(std::sregex_iterator(log.begin(), log.end(), line), std::sregex_iterator()));
}

TEST(ExampleDeployment, TwoInstancesBehindNginxOnOneBucketAndOneRedis) {
  RgwProcess rgw;
  RedisServerProcess redis;
  const std::uint16_t balancerPort = freePort();
  const std::map<std::string, std::string> env{
      {"REGISTRY_STORAGE_S3_REGIONENDPOINT", rgw.endpoint()},
      {"REGISTRY_STORAGE_S3_BUCKET", rgw.bucket()},
      {"AWS_ACCESS_KEY_ID", rgw.accessKey()},
      {"AWS_SECRET_ACCESS_KEY", rgw.secretKey()},
      {"REGISTRY_REDIS_ADDR", redis.address()},
      {"REGISTRY_HTTP_ADDR", "127.0.0.1:0"},
      {"REGISTRY_HTTP_HOST", "http://127.0.0.1:" + std::to_string(balancerPort)},
  };
  const std::string yaml = readFile(kExample / "pier.yml");
  PierServer a(yaml, env), b(yaml, env);
  Balancer balancer(balancerPort, a.port(), b.port());
  Client client(balancer.port());

  // A chunked push: its requests go to both instances, alternately.
  std::string bytes(14 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  const Content layer = makeContent(bytes);
  const Content config = makeContent("{\"example\":\"deployment\"}");
  client.pushBlobChunked("a/repo", layer, 5 * 1024 * 1024);
  client.pushBlob("a/repo", config);
  const std::string manifest =
      imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config),
                    {descriptorJson(media::kOciLayer, layer)});
  const std::string digest = client.pushManifest("a/repo", "v1", manifest, mediatype::kOciManifest);

  // Pulls, a few times over, so that each instance answers some: the same bytes every time.
  for (int i = 0; i < 4; ++i) {
    auto got = client.get("/v2/a/repo/manifests/v1");
    ASSERT_EQ(got.status, 200) << a.log() << b.log();
    EXPECT_EQ(got.header("Docker-Content-Digest"), digest);
    // The example keeps redirects on: the blob comes from the S3 server, by a presigned URL.
    auto redirect = client.get("/v2/a/repo/blobs/" + layer.digest);
    ASSERT_EQ(redirect.status, 307) << redirect.body;
    Poco::URI url(redirect.header("Location"));
    ASSERT_EQ(url.getPort(), rgw.port());
    auto blob = httpRequest(rgw.port(), "GET", url.getPathEtc());
    ASSERT_EQ(blob.status, 200);
    EXPECT_TRUE(blob.body == layer.bytes);
  }
  EXPECT_GT(requestsServed(a), 2) << a.log();
  EXPECT_GT(requestsServed(b), 2) << b.log();
}

} // namespace
} // namespace pier::test::api
