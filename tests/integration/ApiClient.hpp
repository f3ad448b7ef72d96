#pragma once

// A small registry client for the API integration tests: requests that check
// what every response must carry, blob and manifest pushes, digests, manifest
// builders, raw-socket requests and paths into a filesystem root.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "PierProcess.hpp"
#include "storage/Manifest.hpp"

namespace pier::test::api {

std::string sha256Of(std::string_view data); // "sha256:<hex>"
std::string sha512Of(std::string_view data); // "sha512:<hex>"

// The response is the Distribution error JSON whose first code is `code`, with `status` and the
// API version header.
::testing::AssertionResult isError(const HttpResponse& response, int status, const std::string& code);

// Blob content with its sha256 digest.
struct Content {
  std::string bytes;
  std::string digest;
  std::size_t size() const { return bytes.size(); }
};
Content makeContent(std::string bytes);

// Blob media types; the manifest ones are pier::mediatype's (storage/Manifest.hpp).
namespace media {
inline const std::string kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline const std::string kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline const std::string kOciConfig = "application/vnd.oci.image.config.v1+json";
inline const std::string kOciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
} // namespace media

// {"mediaType":…,"digest":…,"size":…<extra>}; extra starts with a comma.
std::string descriptorJson(std::string_view mediaType, const std::string& digest, std::size_t size,
                           const std::string& extra = {});
std::string descriptorJson(std::string_view mediaType, const Content& content, const std::string& extra = {});
// An image manifest (Docker schema2 or OCI); extraFields go at the top level, each ",\"key\":value".
std::string imageManifest(std::string_view mediaType, const std::string& configDescriptor,
                          const std::vector<std::string>& layerDescriptors,
                          const std::string& extraFields = {});
// A Docker manifest list or an OCI index of descriptors.
std::string indexManifest(std::string_view mediaType, const std::vector<std::string>& manifestDescriptors,
                          const std::string& extraFields = {});
// ,"platform":{"architecture":…,"os":"linux"}
std::string platformField(const std::string& architecture);

// Requests to one server. Every response is checked for the API version
// header, and every error response for a well-formed error body whose
// status is its first code's.
class Client {
public:
  // headers go with every request (e.g. Authorization).
  explicit Client(std::uint16_t port, std::map<std::string, std::string> headers = {})
      : port_(port), headers_(std::move(headers)) {}
  std::uint16_t port() const { return port_; }

  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {}) const;
  HttpResponse get(const std::string& target) const { return request("GET", target); }
  HttpResponse head(const std::string& target) const { return request("HEAD", target); }
  HttpResponse del(const std::string& target) const { return request("DELETE", target); }

  // POST /v2/<repo>/blobs/uploads/: the upload's Location (throws unless 202).
  std::string startUpload(const std::string& repo) const;
  // PATCH application/octet-stream, with a Content-Range when given.
  HttpResponse patch(const std::string& location, const std::string& chunk,
                     const std::string& contentRange = {}) const;
  // PUT <location>?digest=…, with the last chunk (if any) as body.
  HttpResponse finish(const std::string& location, const std::string& digest,
                      const std::string& lastChunk = {}) const;

  // Monolithic POST ?digest=; throws unless 201.
  void pushBlob(const std::string& repo, const Content& blob) const;
  // POST, PATCH chunks with Content-Range, PUT; throws unless every step succeeds.
  void pushBlobChunked(const std::string& repo, const Content& blob, std::size_t chunkSize) const;
  HttpResponse putManifest(const std::string& repo, const std::string& reference, const std::string& body,
                           std::string_view contentType) const;
  // Pushes a manifest and returns its digest; throws unless 201.
  std::string pushManifest(const std::string& repo, const std::string& reference, const std::string& body,
                           std::string_view contentType) const;

  // An OCI image of one layer and a config with these bytes, its blobs and its manifest pushed under tag.
  struct PushedImage {
    Content layer, config;
    std::string manifest, digest;
  };
  PushedImage pushImage(const std::string& repo, const std::string& tag, const std::string& layerBytes,
                        const std::string& configBytes) const;

private:
  std::uint16_t port_;
  std::map<std::string, std::string> headers_;
};

// Appends a query parameter to a Location that may already hold a query.
std::string withQuery(const std::string& location, const std::string& parameter);
// The last path segment of a Location (an upload's id).
std::string lastSegment(const std::string& location);

// Sends raw bytes on a new connection and closes it without reading.
void sendAndClose(std::uint16_t port, const std::string& bytes);
// Sends raw bytes (one request) on a new connection and reads one response.
HttpResponse rawRequest(std::uint16_t port, const std::string& bytes);

// Paths under a filesystem driver's root directory.
std::filesystem::path repositoryPath(const std::filesystem::path& root, const std::string& repo);
std::filesystem::path uploadsPath(const std::filesystem::path& root, const std::string& repo);
std::filesystem::path blobDataPath(const std::filesystem::path& root, const std::string& digest);
// Entries directly under a directory (0 when it does not exist).
std::size_t entryCount(const std::filesystem::path& directory);

// The same config with deletes disabled.
std::string withDeletesDisabled(const std::string& config);

} // namespace pier::test::api
