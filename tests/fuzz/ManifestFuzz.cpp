// Manifests and indexes as clients push them: parseManifest answers with a
// Manifest whose descriptors hold valid digests, or MANIFEST_INVALID; the
// media type of stored bytes is always named.
#include <array>

#include "errcode/ErrorCode.hpp"
#include "storage/Manifest.hpp"

#include "FuzzContract.hpp"

namespace {

using namespace pier;

// The first input byte chooses the Content-Type the bytes are sent with.
constexpr std::array<std::string_view, 8> kContentTypes{
    "",
    mediatype::kOciManifest,
    mediatype::kOciIndex,
    mediatype::kDockerManifest,
    mediatype::kDockerManifestList,
    mediatype::kDockerSchema1Signed,
    "application/json",
    "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
};

void requireValid(const ManifestDescriptor& descriptor) {
  auto reparsed = Digest::parse(descriptor.digest.toString());
  PIER_FUZZ_REQUIRE(reparsed && *reparsed == descriptor.digest);
  PIER_FUZZ_REQUIRE(descriptor.size >= 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::bytesOf(data, size);
  std::string_view contentType = kContentTypes[fuzz::takeSelector(input) % kContentTypes.size()];
  PIER_FUZZ_REQUIRE(!detectManifestMediaType(input).empty());
  Manifest manifest;
  try {
    manifest = parseManifest(input, contentType);
  } catch (const errcode::Exception& e) {
    PIER_FUZZ_REQUIRE(e.errors().list().size() == 1);
    PIER_FUZZ_REQUIRE(e.errors().list().front().code.value() == "MANIFEST_INVALID");
    return 0;
  }
  PIER_FUZZ_REQUIRE(!manifest.mediaType.empty());
  PIER_FUZZ_REQUIRE(manifest.isIndex ? manifest.blobs.empty() : manifest.manifests.empty());
  for (const auto& blob : manifest.blobs) requireValid(blob);
  for (const auto& child : manifest.manifests) requireValid(child);
  if (manifest.subject) requireValid(*manifest.subject);
  auto references = manifestReferences(manifest);
  PIER_FUZZ_REQUIRE(references.size() == manifest.blobs.size() + manifest.manifests.size());
  return 0;
}
