#pragma once

// Test images and pushes over the registry API: blobs with their digests, a
// small gzipped tar layer, config, manifest and index, pushed monolithically
// or in chunks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "PierProcess.hpp"
#include "storage/Digester.hpp"

namespace pier::test {

inline std::string sha256Digest(const std::string& content) {
  return sha256Of(content).toString();
}

// A tar archive holding one file.
std::string makeTar(const std::string& fileName, const std::string& content);
std::string gzip(const std::string& content);

// Content with its media type and digest.
struct Blob {
  Blob() = default;
  Blob(std::string content_, std::string mediaType_)
      : content(std::move(content_)), mediaType(std::move(mediaType_)), digest(sha256Digest(content)) {}
  std::string content;
  std::string mediaType;
  std::string digest;
};

// One single-layer image of an architecture.
struct TestImage {
  std::string architecture;
  std::string uncompressedLayerDigest;
  Blob layer;
  Blob config;
  Blob manifest;
};

TestImage makeTestImage(const std::string& architecture, bool oci, const std::string& fileContent);
// A Docker manifest list or an OCI index of the images.
Blob makeTestIndex(const std::vector<TestImage>& images, bool oci);

// The path (and query) of a Location header, absolute or not.
std::string locationTarget(const std::string& location);

void pushBlobMonolithic(std::uint16_t port, const std::string& name, const Blob& blob);
void pushBlobChunked(std::uint16_t port, const std::string& name, const Blob& blob, std::size_t chunkSize);
void pushManifest(std::uint16_t port, const std::string& name, const std::string& reference,
                  const Blob& manifest);
// Layer and config (chunked when chunkSize > 0), then the manifest under reference.
void pushImage(std::uint16_t port, const std::string& name, const TestImage& image,
               const std::string& reference, std::size_t chunkSize = 0);

} // namespace pier::test
