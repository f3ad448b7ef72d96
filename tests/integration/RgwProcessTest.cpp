// The RGW fixture is a real S3 server: the bucket exists, a signed PUT reads
// back byte for byte and is listed, unsigned requests are refused, the
// gateway stops (its port refuses) and starts again with the data kept, and
// two clusters run at once, as under ctest -j2.
#include <cerrno>
#include <chrono>
#include <memory>
#include <random>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "PierProcess.hpp"
#include "RgwProcess.hpp"

namespace pier::test {
namespace {

using Clock = std::chrono::steady_clock;

// Every byte value, then pseudo-random bytes: what a text-only path would mangle.
std::string binaryContent(std::size_t size, unsigned seed) {
  std::string content;
  for (int value = 0; value < 256; ++value) content.push_back(static_cast<char>(value));
  std::mt19937 random(seed);
  while (content.size() < size) content.push_back(static_cast<char>(random() & 0xff));
  return content;
}

bool refusesConnections(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool refused =
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 && errno == ECONNREFUSED;
  ::close(fd);
  return refused;
}

std::string keyListed(const std::string& key) {
  return "<Key>" + key + "</Key>";
}

TEST(RgwProcessTest, StartsQuicklyWithItsBucketAndKeys) {
  ASSERT_TRUE(RgwProcess::available()) << "scripts/deps installs ceph-mon, ceph-osd, radosgw, ceph-common";
  auto started = Clock::now();
  RgwProcess rgw;
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(20)) << "about 2.5 s on an idle machine";

  EXPECT_EQ(rgw.endpoint(), "http://127.0.0.1:" + std::to_string(rgw.port()));
  EXPECT_EQ(rgw.bucket(), "pier");
  EXPECT_EQ(rgw.region(), "us-east-1");
  EXPECT_FALSE(rgw.accessKey().empty());
  EXPECT_FALSE(rgw.secretKey().empty());
  EXPECT_TRUE(rgw.running());

  EXPECT_EQ(rgw.request("HEAD", "/pier").status, 200);
  EXPECT_EQ(rgw.request("HEAD", "/absent").status, 404);
  auto buckets = rgw.request("GET", "/");
  EXPECT_EQ(buckets.status, 200) << buckets.body;
  EXPECT_NE(buckets.body.find("<Name>pier</Name>"), std::string::npos) << buckets.body;
}

TEST(RgwProcessTest, SignedPutReadsBackAndIsListedUnsignedIsRefused) {
  RgwProcess rgw;
  std::string content = binaryContent(3 * 1024 * 1024 + 17, 1);
  auto put = rgw.request("PUT", "/pier/some/dir/object", content);
  ASSERT_EQ(put.status, 200) << put.body;

  auto get = rgw.request("GET", "/pier/some/dir/object");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body.size(), content.size());
  EXPECT_TRUE(get.body == content) << "the object read back differs";

  auto list = rgw.request("GET", "/pier?list-type=2&prefix=some%2F");
  EXPECT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find(keyListed("some/dir/object")), std::string::npos) << list.body;
  EXPECT_NE(list.body.find("<Size>" + std::to_string(content.size()) + "</Size>"), std::string::npos)
      << list.body;
  EXPECT_NE(list.body.find("<KeyCount>1</KeyCount>"), std::string::npos) << list.body;

  // The keys matter: an anonymous request is refused.
  auto anonymous = httpRequest(rgw.port(), "GET", "/pier/some/dir/object");
  EXPECT_EQ(anonymous.status, 403) << anonymous.body;
  EXPECT_EQ(httpRequest(rgw.port(), "PUT", "/pier/anonymous", "x").status, 403);
}

TEST(RgwProcessTest, GatewayStopsAndStartsAgainOnThePortWithTheDataKept) {
  RgwProcess rgw;
  std::string content = binaryContent(1024 * 1024, 2);
  ASSERT_EQ(rgw.request("PUT", "/pier/kept", content).status, 200);
  const std::uint16_t port = rgw.port();

  auto stopping = Clock::now();
  rgw.stop();
  EXPECT_LT(Clock::now() - stopping, std::chrono::seconds(10));
  EXPECT_FALSE(rgw.running());
  EXPECT_TRUE(refusesConnections(port));
  auto down = rgw.request("GET", "/pier/kept", {}, std::chrono::seconds(5));
  EXPECT_EQ(down.status, 0);
  EXPECT_NE(down.curlExitCode, 0);

  auto starting = Clock::now();
  rgw.start();
  EXPECT_LT(Clock::now() - starting, std::chrono::seconds(10)) << "about 0.4 s: the pools exist";
  EXPECT_TRUE(rgw.running());
  EXPECT_EQ(rgw.port(), port);
  EXPECT_FALSE(refusesConnections(port));
  auto get = rgw.request("GET", "/pier/kept");
  EXPECT_EQ(get.status, 200);
  EXPECT_TRUE(get.body == content) << "the object read back after the restart differs";
  // And it takes writes again.
  EXPECT_EQ(rgw.request("PUT", "/pier/after", "after the restart").status, 200);
  EXPECT_EQ(rgw.request("GET", "/pier/after").body, "after the restart");
}

TEST(RgwProcessTest, TwoClustersRunAtOnce) {
  // Started at the same moment, as tests under ctest -j2 are.
  std::unique_ptr<RgwProcess> first, second;
  std::string firstError, secondError;
  auto startOne = [](std::unique_ptr<RgwProcess>& rgw, std::string& error, const std::string& bucket) {
    try {
      rgw = std::make_unique<RgwProcess>(bucket);
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread other(startOne, std::ref(second), std::ref(secondError), "second-bucket");
  startOne(first, firstError, "pier");
  other.join();
  ASSERT_TRUE(first) << firstError;
  ASSERT_TRUE(second) << secondError;
  EXPECT_NE(first->port(), second->port());
  EXPECT_EQ(second->bucket(), "second-bucket");

  ASSERT_EQ(first->request("PUT", "/pier/object", "in the first").status, 200);
  auto secondPut = second->request("PUT", "/second-bucket/object", "in the second");
  ASSERT_EQ(secondPut.status, 200) << secondPut.curlExitCode << " " << secondPut.body << second->logTail();
  EXPECT_EQ(first->request("GET", "/pier/object").body, "in the first");
  EXPECT_EQ(second->request("GET", "/second-bucket/object").body, "in the second");
  // Two clusters, not one: neither has the other's bucket.
  EXPECT_EQ(first->request("HEAD", "/second-bucket").status, 404);
  EXPECT_EQ(second->request("HEAD", "/pier").status, 404);

  // Stopping one gateway leaves the other serving.
  first->stop();
  EXPECT_EQ(second->request("GET", "/second-bucket/object").body, "in the second");
}

} // namespace
} // namespace pier::test
