// The server on the s3 driver, on a real Ceph RGW (RgwProcess) and a real
// redis-server: two Pier processes on one bucket share state through S3 and
// Redis alone. An upload started through one is finished through the other;
// a push through one is pulled through the other, by redirect to a presigned
// URL or streamed; tags moved and deletes made through one are seen through
// the other. Faults: an unreachable bucket, RGW stopped in the middle of a
// push and back, a Pier killed in the middle of an upload. S3 down is 503
// UNAVAILABLE (worth a retry), never a 500.
#include <csignal>
#include <thread>

#include <gtest/gtest.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include "ApiClient.hpp"
#include "RedisServerProcess.hpp"
#include "RgwProcess.hpp"
#include "TroubledS3.hpp"

namespace pier::test::api {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;

std::string bytesOf(std::size_t size, char seed) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>(seed + (i * 131) % 251);
  return out;
}

// Sends a PATCH head and the first part of its body, then, after `between`
// ran, the rest; returns the answer. For faults in the middle of a body.
HttpResponse patchInTwoHalves(std::uint16_t port, const std::string& target, const std::string& body,
                              const std::function<void()>& between) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
  socket.setReceiveTimeout(Poco::Timespan(60, 0));
  std::string head = "PATCH " + target +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n" +
                     "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  socket.sendBytes(head.data(), static_cast<int>(head.size()));
  const std::size_t half = body.size() / 2;
  // The server may answer and close before the whole body is in: what it answered is read below.
  auto send = [&](std::size_t from, std::size_t to) {
    try {
      for (std::size_t sent = from; sent < to;)
        sent += static_cast<std::size_t>(socket.sendBytes(body.data() + sent, static_cast<int>(to - sent)));
    } catch (const Poco::Exception&) {
    }
  };
  send(0, half);
  between();
  send(half, body.size());
  std::string raw;
  char buffer[8192];
  try {
    for (int n; raw.size() < 1024 * 1024 && (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;)
      raw.append(buffer, static_cast<std::size_t>(n));
  } catch (const Poco::Exception&) {
    // Reset by a server that was killed, or that answered before the body was in: what came is the answer.
  }
  HttpResponse response;
  if (raw.size() > 12) response.status = std::stoi(raw.substr(9, 3));
  const std::size_t bodyStart = raw.find("\r\n\r\n");
  if (bodyStart != std::string::npos) response.body = raw.substr(bodyStart + 4);
  return response;
}

TEST(S3Storage, AnUnreachableBucketIsUnavailableNotAnInternalError) {
  Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::string port = std::to_string(closed.address().port());
  closed.close(); // nothing listens there now
  PierServer server(
      "version: 0.1\nstorage:\n  s3:\n    region: us-east-1\n    bucket: pier\n    regionendpoint: "
      "http://127.0.0.1:" +
      port + "\n    accesskey: key\n    secretkey: secret\nhttp:\n  addr: 127.0.0.1:0\n");
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

TEST(S3Storage, AThrottlingBucketIsTooManyRequestsWithRetryAfter) {
  TroubledS3 s3(503, 1 << 30); // SlowDown, always
  PierServer server(
      "version: 0.1\nstorage:\n  s3:\n    region: us-east-1\n    bucket: pier\n    regionendpoint: " +
      s3.endpoint() + "\n    accesskey: key\n    secretkey: secret\nhttp:\n  addr: 127.0.0.1:0\n");
  HttpResponse response = httpRequest(server.port(), "GET", "/v2/library/a/tags/list");
  EXPECT_EQ(response.status, 429) << response.body;
  EXPECT_NE(response.body.find("TOOMANYREQUESTS"), std::string::npos) << response.body;
  EXPECT_EQ(response.header("retry-after"), "2");
  EXPECT_NE(server.log().find("storage throttled"), std::string::npos);
}

// S3 failing every request: each S3 call retries for about 3 s. Past the
// drain timeout, stopping the server marks the request's Context done, the
// driver's retry wait sees it, and the client gets 503 at once; without
// that, the exit waits out every retry of every call of the request.
TEST(S3Storage, StoppingCancelsARequestStillRetryingPastTheDrainTimeout) {
  TroubledS3 s3(500, 1 << 30); // InternalError, always
  PierServer server(
      "version: 0.1\nstorage:\n  s3:\n    region: us-east-1\n    bucket: pier\n    regionendpoint: " +
      s3.endpoint() +
      "\n    accesskey: key\n    secretkey: secret\n  maintenance:\n    uploadpurging:\n      enabled: "
      "false\n"
      "http:\n  addr: 127.0.0.1:0\n  draintimeout: 300ms\n");
  HttpResponse response;
  std::thread client([&] {
    try {
      response = httpRequest(server.port(), "GET", "/v2/library/a/tags/list");
    } catch (const Poco::Exception&) {
      // Shut down without an answer: status stays 0.
    }
  });
  const auto retrying = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (s3.requests() < 2 && std::chrono::steady_clock::now() < retrying)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(s3.requests(), 2) << server.log();
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGTERM), 0);
  const auto took = std::chrono::steady_clock::now() - stopping;
  client.join();
  // The drain timeout and the moment a cancelled request has to answer, not ~3 s of retries.
  EXPECT_LT(took, std::chrono::milliseconds(2500)) << server.log();
  EXPECT_EQ(response.status, 503) << response.body;
  EXPECT_NE(response.body.find("cancelled"), std::string::npos) << response.body;
}

class S3ScaleOutTest : public ::testing::Test {
protected:
  std::string config(bool redirects = false) const {
    return "version: 0.1\nlog:\n  level: info\nstorage:\n  s3:\n    region: " + rgw.region() +
           "\n    regionendpoint: " + rgw.endpoint() + "\n    bucket: " + rgw.bucket() +
           "\n    rootdirectory: /pier\n    accesskey: " + rgw.accessKey() +
           "\n    secretkey: " + rgw.secretKey() +
           "\n    forcepathstyle: true\n    secure: false\n    chunksize: 5242880\n" +
           "    redirectlifetime: 5m\n  cache:\n    blobdescriptor: redis\n  delete:\n    enabled: true\n" +
           "  redirect:\n    disable: " + (redirects ? "false" : "true") + "\n  maintenance:\n" +
           "    uploadpurging:\n      enabled: false\nredis:\n  addr: " + redis.address() +
           "\nhttp:\n  addr: 127.0.0.1:0\n";
  }

  RgwProcess rgw;
  RedisServerProcess redis;
};

TEST_F(S3ScaleOutTest, AnUploadStartedThroughOneInstanceIsFinishedThroughTheOther) {
  PierServer a(config()), b(config());
  Client ca(a.port()), cb(b.port());
  // Pieces that cross the 5 MiB parts: a full part and a tail, a tail alone, then the rest.
  const std::string first = bytesOf(6 * kMiB, 'a'), second = bytesOf(kMiB, 'b'),
                    last = bytesOf(3 * kMiB, 'c');
  const Content blob = makeContent(first + second + last);
  const std::string location = ca.startUpload("a/repo");
  ASSERT_EQ(ca.patch(location, first, "0-" + std::to_string(first.size() - 1)).status, 202) << a.log();
  auto status = cb.get(location);
  ASSERT_EQ(status.status, 204) << b.log();
  EXPECT_EQ(status.header("Range"), "0-" + std::to_string(first.size() - 1));
  ASSERT_EQ(cb.patch(location, second,
                     std::to_string(first.size()) + "-" + std::to_string(first.size() + second.size() - 1))
                .status,
            202)
      << b.log();
  ASSERT_EQ(ca.finish(location, blob.digest, last).status, 201) << a.log();
  for (const Client* client : {&ca, &cb}) {
    auto got = client->get("/v2/a/repo/blobs/" + blob.digest);
    ASSERT_EQ(got.status, 200);
    EXPECT_TRUE(got.body == blob.bytes) << "the bytes differ";
  }
}

TEST_F(S3ScaleOutTest, APushThroughOneIsPulledThroughTheOtherStreamedOrByRedirect) {
  PierServer a(config()), b(config(true));
  Client ca(a.port()), cb(b.port());
  auto image = ca.pushImage("a/repo", "v1", bytesOf(7 * kMiB, 'l'), "{\"scale\":\"out\"}");
  auto manifest = cb.get("/v2/a/repo/manifests/v1");
  ASSERT_EQ(manifest.status, 200) << b.log();
  EXPECT_EQ(manifest.body, image.manifest);
  EXPECT_EQ(manifest.header("Docker-Content-Digest"), image.digest);

  // a streams it (redirects disabled)...
  auto streamed = ca.get("/v2/a/repo/blobs/" + image.layer.digest);
  ASSERT_EQ(streamed.status, 200);
  EXPECT_TRUE(streamed.body == image.layer.bytes);
  // ...b sends the client to the S3 server, with a URL that expires.
  auto redirect = cb.get("/v2/a/repo/blobs/" + image.layer.digest);
  ASSERT_EQ(redirect.status, 307) << b.log();
  Poco::URI url(redirect.header("Location"));
  EXPECT_EQ(url.getHost(), "127.0.0.1");
  EXPECT_EQ(url.getPort(), rgw.port());
  EXPECT_NE(url.getRawQuery().find("X-Amz-Expires=300"), std::string::npos) << url.toString();
  auto fetched = httpRequest(rgw.port(), "GET", url.getPathEtc());
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_TRUE(fetched.body == image.layer.bytes);
}

TEST_F(S3ScaleOutTest, TagsMovedAndDeletesMadeThroughOneAreSeenThroughTheOther) {
  PierServer a(config()), b(config());
  Client ca(a.port()), cb(b.port());
  auto first = ca.pushImage("a/repo", "latest", "layer one", "{\"n\":1}");
  ASSERT_EQ(cb.get("/v2/a/repo/manifests/latest").header("Docker-Content-Digest"), first.digest);
  auto second = ca.pushImage("a/repo", "latest", "layer two", "{\"n\":2}");
  ASSERT_EQ(cb.get("/v2/a/repo/manifests/latest").header("Docker-Content-Digest"), second.digest);

  // b has the blob in the shared cache once it served it; a's delete clears it.
  ASSERT_EQ(cb.head("/v2/a/repo/blobs/" + first.layer.digest).status, 200);
  ASSERT_EQ(ca.del("/v2/a/repo/blobs/" + first.layer.digest).status, 202);
  EXPECT_EQ(cb.head("/v2/a/repo/blobs/" + first.layer.digest).status, 404);
  ASSERT_EQ(ca.del("/v2/a/repo/manifests/" + first.digest).status, 202);
  EXPECT_TRUE(isError(cb.get("/v2/a/repo/manifests/" + first.digest), 404, "MANIFEST_UNKNOWN"));
  auto tags = cb.get("/v2/a/repo/tags/list");
  ASSERT_EQ(tags.status, 200);
  EXPECT_EQ(stringArray(parseJson(tags.body), "tags"), std::vector<std::string>{"latest"});
}

TEST_F(S3ScaleOutTest, S3StoppedInTheMiddleOfAPushIsUnavailableLeavesNothingAndRecovers) {
  PierServer a(config());
  Client ca(a.port());
  const Content blob = makeContent(bytesOf(12 * kMiB, 's'));
  const std::string location = ca.startUpload("a/repo");
  auto answer = patchInTwoHalves(a.port(), location, blob.bytes, [&] { rgw.stop(); });
  EXPECT_EQ(answer.status, 503) << answer.body << a.log();
  EXPECT_NE(answer.body.find("UNAVAILABLE"), std::string::npos) << answer.body;
  // While S3 is away, everything that needs it is unavailable, never a 500.
  const Content small = makeContent("pushed while S3 is away");
  auto monolithic = ca.request("POST", "/v2/a/repo/blobs/uploads/?digest=" + small.digest, small.bytes,
                               {{"Content-Type", "application/octet-stream"}});
  EXPECT_TRUE(isError(monolithic, 503, "UNAVAILABLE")) << monolithic.body;
  EXPECT_EQ(ca.head("/v2/a/repo/blobs/" + blob.digest).status, 503);

  rgw.start();
  // Nothing of the broken push is visible; the same push goes through now, with no restart of Pier.
  EXPECT_EQ(ca.head("/v2/a/repo/blobs/" + blob.digest).status, 404);
  ca.pushBlob("a/repo", blob);
  auto got = ca.get("/v2/a/repo/blobs/" + blob.digest);
  ASSERT_EQ(got.status, 200);
  EXPECT_TRUE(got.body == blob.bytes);
}

TEST_F(S3ScaleOutTest, AnInstanceKilledInTheMiddleOfAnUploadLeavesOneTheOtherCanFinishOrPurge) {
  auto a = std::make_unique<PierServer>(config());
  PierServer b(config());
  Client ca(a->port()), cb(b.port());
  const std::string first = bytesOf(6 * kMiB, 'k'), rest = bytesOf(12 * kMiB, 'r');
  const Content blob = makeContent(first + rest);
  // One upload between chunks when a dies, one with a chunk half sent (past a whole part).
  const std::string between = ca.startUpload("a/repo");
  ASSERT_EQ(ca.patch(between, first, "0-" + std::to_string(first.size() - 1)).status, 202);
  const std::string midChunk = ca.startUpload("a/repo");
  ASSERT_EQ(ca.patch(midChunk, first, "0-" + std::to_string(first.size() - 1)).status, 202);
  patchInTwoHalves(a->port(), midChunk, rest, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // the part of the first half reaches S3
    a->stop(SIGKILL);
  });
  a.reset();

  // b continues the first where a left it, and finishes it.
  auto status = cb.get(between);
  ASSERT_EQ(status.status, 204) << b.log();
  EXPECT_EQ(status.header("Range"), "0-" + std::to_string(first.size() - 1));
  ASSERT_EQ(cb.finish(between, blob.digest, rest).status, 201) << b.log();
  auto got = cb.get("/v2/a/repo/blobs/" + blob.digest);
  ASSERT_EQ(got.status, 200);
  EXPECT_TRUE(got.body == blob.bytes);

  // The chunk a was receiving is not whole: its hash state was never stored. b refuses to finish
  // that upload, says why, and purges it; the client starts again.
  auto broken = cb.finish(midChunk, blob.digest);
  EXPECT_TRUE(isError(broken, 400, "BLOB_UPLOAD_INVALID")) << broken.body;
  EXPECT_TRUE(isError(cb.get(midChunk), 404, "BLOB_UPLOAD_UNKNOWN"));
  // Purged with its parts: no multipart upload is left in the bucket.
  auto uploads = rgw.request("GET", "/" + rgw.bucket() + "?uploads=");
  ASSERT_EQ(uploads.status, 200) << uploads.body;
  EXPECT_EQ(uploads.body.find("<Upload>"), std::string::npos) << uploads.body;
}

} // namespace
} // namespace pier::test::api
