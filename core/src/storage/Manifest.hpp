#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Poco/JSON/Object.h>

#include <pier/blob_descriptor_cache.hpp>

#include "storage/Reference.hpp"

// Parsing and validation of the manifest formats clients push: Docker schema2
// manifests and manifest lists, OCI image manifests and indexes (with
// artifactType, the empty config and subject).
namespace pier {

namespace mediatype {
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";
} // namespace mediatype

constexpr std::size_t kMaxManifestSize = 4 * 1024 * 1024;

// A descriptor inside a manifest: what it references.
struct ManifestDescriptor {
  Digest digest;
  std::int64_t size = 0;
  std::string mediaType;
  bool foreign = false; // it has "urls": the content lives elsewhere and need not be in the registry
  std::string artifactType;
  Poco::JSON::Object::Ptr annotations; // null when absent
};

struct Manifest {
  std::string mediaType;                     // the resolved media type
  bool isIndex = false;                      // manifest list / image index
  std::vector<ManifestDescriptor> blobs;     // config then layers (image manifests)
  std::vector<ManifestDescriptor> manifests; // children (indexes)
  std::optional<ManifestDescriptor> subject;
  // artifactType, or for an image manifest without it the config's media type (the referrers API's rule).
  std::string artifactType;
  Poco::JSON::Object::Ptr annotations; // null when absent
};

// Parses and validates manifest bytes sent with a Content-Type. Throws
// errcode::Exception MANIFEST_INVALID with a detail that says what is wrong
// (schema1 included: it is not supported).
Manifest parseManifest(std::string_view bytes, std::string_view contentType);

// What a manifest references, as Distribution's Manifest.References(): an
// image manifest's config and layers, an index's children (not the subject).
std::vector<Descriptor> manifestReferences(const Manifest& manifest);

// The media type of stored manifest bytes, without validation: the mediaType
// field, else inferred from the structure (OCI index or OCI manifest).
std::string detectManifestMediaType(std::string_view bytes);

} // namespace pier
