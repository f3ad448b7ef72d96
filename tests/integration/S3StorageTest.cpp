// The server on the s3 driver when S3 cannot be reached: clients get 503
// UNAVAILABLE (worth a retry), never a 500.

#include <string>

#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include "PierProcess.hpp"

namespace pier::test {
namespace {

TEST(S3StorageTest, AnUnreachableBucketIsUnavailableNotAnInternalError) {
  Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::string port = std::to_string(closed.address().port());
  closed.close(); // nothing listens there now
  PierServer server("version: 0.1\n"
                    "log:\n  level: info\n"
                    "storage:\n  s3:\n    region: us-east-1\n    bucket: pier\n"
                    "    regionendpoint: http://127.0.0.1:" +
                    port +
                    "\n    accesskey: key\n    secretkey: secret\n"
                    "http:\n  addr: 127.0.0.1:0\n");
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

} // namespace
} // namespace pier::test
