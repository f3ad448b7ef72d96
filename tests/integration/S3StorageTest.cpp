// The server on the s3 driver: on a real Ceph RGW (the RgwProcess fixture),
// an upload begun by one Pier process is finished by another on the same
// bucket, blob GETs redirect to presigned URLs, and while S3 is down clients
// get 503 UNAVAILABLE (worth a retry), never a 500, until it is back.

#include <string>

#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include "PierProcess.hpp"
#include "RegistryClient.hpp"
#include "RgwProcess.hpp"

namespace pier::test {
namespace {

std::string s3Config(const std::string& endpoint, const std::string& bucket, const std::string& accessKey,
                     const std::string& secretKey, const std::string& extra = {}) {
  return "version: 0.1\n"
         "log:\n  level: info\n"
         "storage:\n  s3:\n    region: us-east-1\n    bucket: " +
         bucket + "\n    regionendpoint: " + endpoint + "\n    accesskey: " + accessKey +
         "\n    secretkey: " + secretKey + "\n    rootdirectory: /registry\n    chunksize: 5242880\n" +
         extra +
         "  delete:\n    enabled: true\n"
         "http:\n  addr: 127.0.0.1:0\n";
}

std::string patterned(std::size_t size) {
  std::string content(size, '\0');
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>((i * 7919) ^ (i >> 11));
  return content;
}

TEST(S3StorageTest, AnUnreachableBucketIsUnavailableNotAnInternalError) {
  Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::string port = std::to_string(closed.address().port());
  closed.close(); // nothing listens there now
  PierServer server(s3Config("http://127.0.0.1:" + port, "pier", "key", "secret"));
  for (const auto& [method, target] : {std::pair<std::string, std::string>{"GET", "/v2/library/a/tags/list"},
                                       {"POST", "/v2/library/a/blobs/uploads/"},
                                       {"HEAD", "/v2/library/a/manifests/latest"}}) {
    HttpResponse response = httpRequest(server.port(), method, target);
    EXPECT_EQ(response.status, 503) << method << " " << target << ": " << response.body;
    if (method != "HEAD") {
      EXPECT_NE(response.body.find("UNAVAILABLE"), std::string::npos) << response.body;
    }
  }
  EXPECT_NE(server.log().find("storage unavailable"), std::string::npos);
}

class S3RgwStorageTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!RgwProcess::available()) GTEST_SKIP() << "no Ceph binaries (scripts/deps installs them)";
    rgw_ = std::make_unique<RgwProcess>();
  }

  std::string config() const {
    return s3Config(rgw_->endpoint(), rgw_->bucket(), rgw_->accessKey(), rgw_->secretKey());
  }

  std::unique_ptr<RgwProcess> rgw_;
};

TEST_F(S3RgwStorageTest, AnUploadBegunByOneServerIsFinishedByAnother) {
  const std::string blob = patterned(13 * 1024 * 1024 + 321);
  const std::string digest = sha256Digest(blob);
  std::string location;
  {
    PierServer first(config());
    HttpResponse started = httpRequest(first.port(), "POST", "/v2/library/app/blobs/uploads/");
    ASSERT_EQ(started.status, 202) << started.body;
    // 6 MiB + 5: a part of 5 MiB and a tail that must outlive this process.
    HttpResponse patched =
        httpRequest(first.port(), "PATCH", started.header("location"), blob.substr(0, 6291461),
                    {{"Content-Type", "application/octet-stream"}});
    ASSERT_EQ(patched.status, 202) << patched.body;
    EXPECT_EQ(patched.header("range"), "0-6291460");
    location = patched.header("location");
    first.stop(SIGTERM);
  }
  PierServer second(config());
  HttpResponse status = httpRequest(second.port(), "GET", location);
  EXPECT_EQ(status.status, 204) << status.body;
  EXPECT_EQ(status.header("range"), "0-6291460");
  HttpResponse patched = httpRequest(second.port(), "PATCH", location, blob.substr(6291461),
                                     {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(patched.status, 202) << patched.body;
  std::string finish = patched.header("location");
  finish += (finish.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
  HttpResponse finished = httpRequest(second.port(), "PUT", finish);
  ASSERT_EQ(finished.status, 201) << finished.body;

  // Blob GETs redirect to the bucket, presigned.
  HttpResponse redirect = httpRequest(second.port(), "GET", "/v2/library/app/blobs/" + digest);
  ASSERT_EQ(redirect.status, 307) << redirect.body;
  const std::string url = redirect.header("location");
  EXPECT_EQ(
      url.rfind(rgw_->endpoint() + "/" + rgw_->bucket() + "/registry/docker/registry/v2/blobs/sha256/", 0),
      0u)
      << url;
  EXPECT_NE(url.find("X-Amz-Signature="), std::string::npos) << url;
  HttpResponse fromS3 = httpRequest(rgw_->port(), "GET", url.substr(rgw_->endpoint().size()));
  EXPECT_EQ(fromS3.status, 200);
  EXPECT_TRUE(fromS3.body == blob) << "the blob as pushed, " << fromS3.body.size() << " bytes";
}

TEST_F(S3RgwStorageTest, WhileTheGatewayIsDownClientsAreToldToRetry) {
  PierServer server(config() + "");
  const std::string blob = "a small blob";
  HttpResponse pushed =
      httpRequest(server.port(), "POST", "/v2/library/app/blobs/uploads/?digest=" + sha256Digest(blob), blob,
                  {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(pushed.status, 201) << pushed.body;
  rgw_->stop();
  HttpResponse down = httpRequest(server.port(), "HEAD", "/v2/library/app/blobs/" + sha256Digest(blob));
  EXPECT_EQ(down.status, 503);
  down = httpRequest(server.port(), "POST", "/v2/library/app/blobs/uploads/");
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_NE(down.body.find("UNAVAILABLE"), std::string::npos) << down.body;
  rgw_->start();
  HttpResponse back = httpRequest(server.port(), "HEAD", "/v2/library/app/blobs/" + sha256Digest(blob));
  EXPECT_EQ(back.status, 200);
}

} // namespace
} // namespace pier::test
