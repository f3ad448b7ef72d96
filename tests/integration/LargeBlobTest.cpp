// A 1 GiB blob pushed and pulled through the filesystem driver: the client
// generates it on the fly and hashes what comes back, never holding it; the
// server streams it both ways, its peak resident memory (VmHWM) staying under
// 64 MiB.
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>

#include <openssl/evp.h>

#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include "PierProcess.hpp"
#include "RegistryClient.hpp"

namespace pier::test {
namespace {

constexpr std::int64_t kMiB = 1 << 20;
constexpr std::int64_t kBlobSize = 1024 * kMiB;
constexpr std::int64_t kChunk = kMiB;
constexpr std::int64_t kMemoryLimitKiB = 64 * 1024;

// The blob: 1 MiB of pseudo-random bytes, each chunk stamped with its index so
// no two chunks are the same. Chunk i is always the same bytes.
class BlobGenerator {
public:
  BlobGenerator() : buffer_(new char[kChunk]) {
    std::mt19937_64 random(20240101);
    for (std::int64_t i = 0; i < kChunk; i += 8) {
      std::uint64_t value = random();
      std::memcpy(buffer_.get() + i, &value, 8);
    }
  }
  const char* chunk(std::int64_t index) {
    std::memcpy(buffer_.get(), &index, sizeof index);
    return buffer_.get();
  }

private:
  std::unique_ptr<char[]> buffer_;
};

class Sha256 {
public:
  Sha256() : context_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(context_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(context_); }
  void update(const char* data, std::size_t size) { EVP_DigestUpdate(context_, data, size); }
  std::string digest() {
    unsigned char value[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_, value, &length);
    static const char* hex = "0123456789abcdef";
    std::string text = "sha256:";
    for (unsigned int i = 0; i < length; ++i) {
      text += hex[value[i] >> 4];
      text += hex[value[i] & 15];
    }
    return text;
  }

private:
  EVP_MD_CTX* context_;
};

// A field of /proc/<pid>/status in KiB (VmHWM, VmRSS), or -1.
std::int64_t procStatusKiB(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Response {
  int status = 0;
  std::string location, range, digest, body;
};

// PATCH chunks [first, last) of the blob to target; chunked transfer encoding
// (as docker sends) or Content-Length with Content-Range.
Response patchChunks(std::uint16_t port, const std::string& target, BlobGenerator& generator, Sha256& hash,
                     std::int64_t first, std::int64_t last, bool chunkedEncoding) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(120, 0));
  Poco::Net::HTTPRequest request("PATCH", target, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType("application/octet-stream");
  if (chunkedEncoding) {
    request.setChunkedTransferEncoding(true);
  } else {
    request.setContentLength64((last - first) * kChunk);
    request.set("Content-Range", std::to_string(first * kChunk) + "-" + std::to_string(last * kChunk - 1));
  }
  std::ostream& out = session.sendRequest(request);
  for (std::int64_t i = first; i < last && out; ++i) {
    const char* data = generator.chunk(i);
    hash.update(data, kChunk);
    out.write(data, kChunk);
  }
  out.flush();
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Response result;
  result.status = static_cast<int>(response.getStatus());
  result.location = locationTarget(response.get("Location", ""));
  result.range = response.get("Range", "");
  Poco::StreamCopier::copyToString(in, result.body);
  return result;
}

TEST(LargeBlobTest, OneGiBPushAndPullKeepServerMemoryUnder64MiB) {
  TempDir root;
  PierServer server(filesystemConfig(root.path()));
  const std::uint16_t port = server.port();
  const std::string name = "large/blob";
  const std::int64_t startupKiB = procStatusKiB(server.pid(), "VmHWM");
  ASSERT_GT(startupKiB, 0);
  BlobGenerator generator;
  Sha256 pushed;

  // Push: POST, half the blob in one PATCH with Content-Length and
  // Content-Range, the other half in a chunked PATCH, PUT ?digest=.
  auto start = std::chrono::steady_clock::now();
  auto started = httpRequest(port, "POST", "/v2/" + name + "/blobs/uploads/");
  ASSERT_EQ(started.status, 202) << started.body;
  const std::int64_t chunks = kBlobSize / kChunk;
  auto first =
      patchChunks(port, locationTarget(started.header("Location")), generator, pushed, 0, chunks / 2, false);
  ASSERT_EQ(first.status, 202) << first.body;
  ASSERT_EQ(first.range, "0-" + std::to_string(kBlobSize / 2 - 1));
  auto second = patchChunks(port, first.location, generator, pushed, chunks / 2, chunks, true);
  ASSERT_EQ(second.status, 202) << second.body;
  ASSERT_EQ(second.range, "0-" + std::to_string(kBlobSize - 1));
  const std::string digest = pushed.digest();
  const char* separator = second.location.find('?') == std::string::npos ? "?" : "&";
  auto finished = httpRequest(port, "PUT", second.location + separator + "digest=" + digest, "",
                              {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(finished.status, 201) << finished.body;
  EXPECT_EQ(finished.header("Docker-Content-Digest"), digest);
  const double pushSeconds = secondsSince(start);
  const std::int64_t afterPushKiB = procStatusKiB(server.pid(), "VmHWM");

  auto head = httpRequest(port, "HEAD", "/v2/" + name + "/blobs/" + digest);
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(kBlobSize));

  // Pull: stream the body through a hash, 1 MiB at a time.
  start = std::chrono::steady_clock::now();
  Sha256 pulled;
  std::int64_t received = 0;
  {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(120, 0));
    Poco::Net::HTTPRequest request("GET", "/v2/" + name + "/blobs/" + digest,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    ASSERT_EQ(response.getStatus(), 200);
    ASSERT_EQ(response.getContentLength64(), kBlobSize);
    std::unique_ptr<char[]> buffer(new char[kChunk]);
    while (in) {
      in.read(buffer.get(), kChunk);
      std::streamsize got = in.gcount();
      if (got <= 0) break;
      pulled.update(buffer.get(), static_cast<std::size_t>(got));
      received += got;
    }
  }
  const double pullSeconds = secondsSince(start);
  EXPECT_EQ(received, kBlobSize);
  EXPECT_EQ(pulled.digest(), digest);

  // The tail by range: the last chunk's bytes, from the generator.
  auto tail = httpRequest(port, "GET", "/v2/" + name + "/blobs/" + digest, "",
                          {{"Range", "bytes=" + std::to_string(kBlobSize - 100) + "-"}});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, std::string(generator.chunk(chunks - 1) + kChunk - 100, 100));

  const std::int64_t peakKiB = procStatusKiB(server.pid(), "VmHWM");
  std::cout << "[ info     ] push " << pushSeconds << " s, pull " << pullSeconds
            << " s; server VmHWM at start " << startupKiB << " KiB, after push " << afterPushKiB
            << " KiB, at end " << peakKiB << " KiB\n";
  if (!kSanitized) {
    EXPECT_LT(peakKiB, kMemoryLimitKiB)
        << "the server's peak resident memory (VmHWM) went to " << peakKiB
        << " KiB moving a 1 GiB blob (start " << startupKiB << " KiB, after push " << afterPushKiB << " KiB)";
  }
}

} // namespace
} // namespace pier::test
