// What parseManifest refuses, each with MANIFEST_INVALID and a message that
// names the field.
#include <gtest/gtest.h>

#include <string>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "ManifestSamples.hpp"

namespace pier {
namespace {

using namespace manifest_test;

// ---- rejections ----

TEST(ManifestReject, TooLarge) {
  std::string bytes = kOciManifest;
  bytes.append(kMaxManifestSize + 1 - bytes.size(), ' ');
  EXPECT_REJECTED(bytes, kOciManifestType, "larger than");
}

TEST(ManifestReject, Schema1) {
  const std::string schema1 = fill(R"json({
    "schemaVersion": 1, "name": "library/hello", "tag": "latest", "architecture": "amd64",
    "fsLayers": [{"blobSum": "${LAYER1}"}],
    "history": [{"v1Compatibility": "{}"}],
    "signatures": [{"header": {"alg": "ES256"}, "signature": "abc", "protected": "def"}]
  })json");
  const std::string reason = "schema1 manifests are not supported";
  EXPECT_REJECTED(schema1, std::string(mediatype::kDockerSchema1Signed), reason);
  EXPECT_REJECTED(schema1, std::string(mediatype::kDockerSchema1), reason);
  EXPECT_REJECTED(schema1, "", reason);
  EXPECT_REJECTED(schema1, "application/json", reason);
  // By the Content-Type, even when the body is not JSON.
  EXPECT_REJECTED("not json", std::string(mediatype::kDockerSchema1Signed) + "; charset=utf-8", reason);
  // By the mediaType field.
  EXPECT_REJECTED(replaced(kDockerManifest, kDockerType, std::string(mediatype::kDockerSchema1)), "", reason);
  EXPECT_REJECTED(replaced(kOciManifest, "\"schemaVersion\": 2", "\"schemaVersion\": 1"), kOciManifestType,
                  reason);
}

TEST(ManifestReject, NotJson) {
  EXPECT_REJECTED("", kOciManifestType, "not valid JSON");
  EXPECT_REJECTED("not json", kOciManifestType, "not valid JSON");
  EXPECT_REJECTED("{\"schemaVersion\": 2,", kOciManifestType, "not valid JSON");
  EXPECT_REJECTED(kOciManifest + " trailing", kOciManifestType, "not valid JSON");
  EXPECT_REJECTED(kOciManifest + "{}", kOciManifestType, "not valid JSON");
  EXPECT_REJECTED("{\"schemaVersion\": 2, /* comment */ \"config\": {}}", kOciManifestType, "not valid JSON");
  EXPECT_REJECTED(replaced(kOciManifest, "32654", "99999999999999999999999"), kOciManifestType, "");
}

TEST(ManifestReject, DeepNestingIsRejectedWithoutCrashing) {
  std::string bytes =
      R"({"schemaVersion": 2, "annotations": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_REJECTED(bytes, kOciManifestType, "");
}

TEST(ManifestReject, NotAnObject) {
  EXPECT_REJECTED("[]", kOciManifestType, "not a JSON object");
  EXPECT_REJECTED("\"manifest\"", kOciManifestType, "not a JSON object");
  EXPECT_REJECTED("2", kOciManifestType, "not a JSON object");
  EXPECT_REJECTED("null", kOciManifestType, "not a JSON object");
}

TEST(ManifestReject, SchemaVersion) {
  const std::string reason = "schemaVersion must be 2";
  EXPECT_REJECTED(replaced(kOciManifest, "\"schemaVersion\": 2,", ""), kOciManifestType, reason);
  EXPECT_REJECTED(replaced(kOciManifest, "\"schemaVersion\": 2", "\"schemaVersion\": 3"), kOciManifestType,
                  reason);
  EXPECT_REJECTED(replaced(kOciManifest, "\"schemaVersion\": 2", "\"schemaVersion\": \"2\""), "", reason);
  EXPECT_REJECTED(replaced(kOciManifest, "\"schemaVersion\": 2", "\"schemaVersion\": 2.5"), "", reason);
  EXPECT_REJECTED(replaced(kOciManifest, "\"schemaVersion\": 2", "\"schemaVersion\": null"), "", reason);
  EXPECT_REJECTED(replaced(kOciManifest, "\"schemaVersion\": 2", "\"schemaVersion\": true"), "", reason);
  EXPECT_REJECTED(replaced(kDockerManifestList, "\"schemaVersion\": 2", "\"schemaVersion\": 0"), "", reason);
  EXPECT_REJECTED(replaced(kOciIndex, "\"schemaVersion\": 2", "\"schemaVersion\": -2"), "", reason);
}

TEST(ManifestReject, UnsupportedMediaTypeField) {
  EXPECT_REJECTED(replaced(kOciManifest, kOciManifestType, "application/json"), "",
                  "unsupported manifest media type");
  EXPECT_REJECTED(replaced(kOciManifest, kOciManifestType, "application/vnd.oci.image.config.v1+json"), "",
                  "unsupported manifest media type");
  EXPECT_REJECTED(replaced(kOciManifest, "\"" + kOciManifestType + "\"", "2"), "", "must be a string");
}

TEST(ManifestReject, MediaTypeFieldDiffersFromContentType) {
  const std::string reason = "mediaType does not match Content-Type";
  EXPECT_REJECTED(kOciManifest, kOciIndexType, reason);
  EXPECT_REJECTED(kOciManifest, kDockerType, reason);
  EXPECT_REJECTED(kDockerManifest, kOciManifestType, reason);
  EXPECT_REJECTED(kDockerManifestList, kOciIndexType, reason);
  EXPECT_REJECTED(kOciIndex, kDockerListType, reason);
}

TEST(ManifestReject, MediaTypeCannotBeDetermined) {
  const std::string bytes = R"({"schemaVersion": 2, "layers": []})";
  EXPECT_REJECTED(bytes, "", "cannot determine manifest media type");
  EXPECT_REJECTED(bytes, "application/json", "cannot determine manifest media type");
  // "manifests" must be an array and "config" an object to count.
  EXPECT_REJECTED(R"({"schemaVersion": 2, "manifests": {}, "config": []})", "", "cannot determine");
}

TEST(ManifestReject, DockerFormatsRequireTheMediaTypeField) {
  const std::string reason = "mediaType field is required for docker manifests";
  EXPECT_REJECTED(replaced(kDockerManifest, "\"mediaType\": \"" + kDockerType + "\",", ""), kDockerType,
                  reason);
  EXPECT_REJECTED(replaced(kDockerManifestList, "\"mediaType\": \"" + kDockerListType + "\",", ""),
                  kDockerListType, reason);
}

TEST(ManifestReject, StructureMustMatchContentTypeWithoutMediaTypeField) {
  const std::string reason = "structure does not match Content-Type";
  EXPECT_REJECTED(kOciIndexWithoutMediaType, kOciManifestType, reason);
  EXPECT_REJECTED(kOciManifestWithoutMediaType, kOciIndexType, reason);
  // Both a "manifests" array and a "config": an index by structure, so not a manifest without the field.
  std::string both = replaced(kOciManifestWithoutMediaType, "\"schemaVersion\": 2,",
                              R"("schemaVersion": 2, "manifests": [],)");
  EXPECT_REJECTED(both, kOciManifestType, reason);
}

TEST(ManifestReject, ImageManifestConfig) {
  EXPECT_REJECTED(
      fill(
          R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []})"),
      "", "required field is missing (config)");
  EXPECT_REJECTED(
      R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": []})", "",
      "descriptor must be an object (config)");
  // Docker schema2: the config's mediaType must be there.
  EXPECT_REJECTED(
      replaced(kDockerManifest, R"("mediaType": "application/vnd.docker.container.image.v1+json",)", ""),
      kDockerType, "required field is missing (config.mediaType)");
  EXPECT_REJECTED(
      R"({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})",
      kDockerType, "required field is missing (config)");
}

TEST(ManifestReject, Layers) {
  EXPECT_REJECTED(replaced(kOciManifest, "\"layers\": [", "\"layers\": {}, \"x\": ["), "",
                  "field must be an array (layers)");
  std::string notArray = replaced(kDockerManifest, "\"layers\": [", "\"layers\": \"none\", \"x\": [");
  EXPECT_REJECTED(notArray, kDockerType, "field must be an array (layers)");
  std::string notObject = replaced(kOciManifest, "\"layers\": [", "\"layers\": [\"" + kLayer2 + "\",");
  EXPECT_REJECTED(notObject, "", "descriptor must be an object (layers[0])");
}

TEST(ManifestReject, EmptyConfigRequiresArtifactType) {
  std::string bytes =
      replaced(kArtifactManifest, R"("artifactType": "application/vnd.example.signature.v1+json",)", "");
  EXPECT_REJECTED(bytes, kOciManifestType,
                  "artifactType is required when config.mediaType is application/vnd.oci.empty.v1+json");
  EXPECT_REJECTED(replaced(kArtifactManifest, "application/vnd.example.signature.v1+json\",", "\","),
                  kOciManifestType, "artifactType is required");
}

TEST(ManifestReject, InvalidArtifactType) {
  EXPECT_REJECTED(
      replaced(kArtifactManifest, "\"application/vnd.example.signature.v1+json\",", "\"signature\","),
      kOciManifestType, "invalid media type (artifactType): signature");
  EXPECT_REJECTED(replaced(kArtifactManifest, "\"application/vnd.example.signature.v1+json\",", "42,"),
                  kOciManifestType, "field must be a string (artifactType)");
  EXPECT_REJECTED(replaced(kArtifactIndex, "application/vnd.example.bundle.v1", "bundle v1"), kOciIndexType,
                  "invalid media type (artifactType)");
}

TEST(ManifestReject, DescriptorMediaType) {
  EXPECT_REJECTED(
      replaced(kOciManifest, R"("mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",)", ""), "",
      "required field is missing (layers[0].mediaType)");
  for (const char* bad : {"tar+gzip", "application/", "/gzip", "application/vnd tar", "application/a/b",
                          "application/vnd.oci.image.layer.v1.tar+gzip; foo=bar", "-application/x", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_REJECTED(replaced(kOciManifest, "application/vnd.oci.image.layer.v1.tar+gzip", bad), "",
                    "invalid media type (layers[0].mediaType)");
  }
  EXPECT_REJECTED(replaced(kOciManifest, "\"application/vnd.oci.image.layer.v1.tar+gzip\"", "[]"), "",
                  "field must be a string (layers[0].mediaType)");
}

TEST(ManifestReject, DescriptorDigestIsNamed) {
  const std::vector<std::string> bad{
      "sha256:77ea7eee",                                                         // too short
      "sha256:77EA7EEE3D80B1A38F83906DD3048E2689457EB90E18A7D12F839C5AE37106A2", // uppercase
      "md5:5d41402abc4b2a76b9719d911017c592",                                    // unsupported algorithm
      "sha384:" + std::string(96, 'a'),                                          // unsupported algorithm
      "sha512:" + std::string(64, 'a'),                                          // wrong length for sha512
      "77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2",        // no algorithm
      "sha256:zzea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2", // not hex
      ""};
  for (const std::string& digest : bad) {
    SCOPED_TRACE(digest);
    std::string message = rejection(replaced(kOciManifest, kLayer1, digest), kOciManifestType);
    EXPECT_NE(message.find("invalid digest (layers[0].digest)"), std::string::npos) << message;
    EXPECT_NE(message.find(digest), std::string::npos) << message;
  }
  EXPECT_REJECTED(replaced(kOciManifest, "\"digest\": \"" + kConfig + "\",", ""), "",
                  "required field is missing (config.digest)");
  EXPECT_REJECTED(replaced(kDockerManifestList, kArm64, "sha256:nope"), "",
                  "invalid digest (manifests[1].digest): sha256:nope");
  EXPECT_REJECTED(replaced(kArtifactManifest, kSubject, "sha256:nope"), "",
                  "invalid digest (subject.digest)");
}

TEST(ManifestReject, DescriptorSize) {
  const std::string reason = "size must be a non-negative integer (layers[0].size)";
  for (const char* bad :
       {"-1", "1.5", "1e3", "\"32654\"", "true", "{}", "18446744073709551615", "9223372036854775808"}) {
    SCOPED_TRACE(bad);
    EXPECT_REJECTED(replaced(kOciManifest, "32654", bad), "", reason);
  }
  EXPECT_REJECTED(replaced(kOciManifest, "\"size\": 7023", "\"size\": null"), "",
                  "required field is missing (config.size)");
  EXPECT_REJECTED(replaced(kOciManifest, ",\n    \"size\": 7023", ""), "",
                  "required field is missing (config.size)");
}

TEST(ManifestReject, DescriptorUrlsAnnotationsArtifactType) {
  EXPECT_REJECTED(replaced(kDockerManifest, "\"urls\": [", "\"urls\": \"https://x\", \"u\": ["), "",
                  "field must be an array of strings (layers[1].urls)");
  EXPECT_REJECTED(replaced(kDockerManifest, "\"urls\": [", "\"urls\": [1, "), "",
                  "field must be an array of strings (layers[1].urls[0])");
  EXPECT_REJECTED(replaced(kDockerManifest, "\"urls\": [", "\"urls\": {\"u\": 1}, \"u\": ["), "",
                  "field must be an array of strings (layers[1].urls)");
  EXPECT_REJECTED(
      replaced(kOciManifest, "\"layer1.tar.gz\"", "1"), "",
      "field must be an object of strings (layers[0].annotations.org.opencontainers.image.title)");
  EXPECT_REJECTED(replaced(kOciManifest, R"({"org.opencontainers.image.title": "layer1.tar.gz"})", "[]"), "",
                  "field must be an object of strings (layers[0].annotations)");
  EXPECT_REJECTED(replaced(kOciIndex, "\"application/vnd.example.sbom.v1\"", "{}"), "",
                  "field must be a string (manifests[2].artifactType)");
}

TEST(ManifestReject, TopLevelAnnotations) {
  EXPECT_REJECTED(replaced(kOciManifest, "\"value2\"", "null"), "",
                  "field must be an object of strings (annotations.com.example.key2)");
  EXPECT_REJECTED(replaced(kOciIndex, R"({"com.example.key1": "value1"})", "\"x\""), "",
                  "field must be an object of strings (annotations)");
}

TEST(ManifestReject, Subject) {
  EXPECT_REJECTED(replaced(kArtifactManifest, "\"subject\": {", "\"subject\": \"x\", \"s\": {"), "",
                  "descriptor must be an object (subject)");
  EXPECT_REJECTED(replaced(kArtifactIndex,
                           "\"subject\": {\"mediaType\": \"application/vnd.oci.image.index.v1+json\",",
                           "\"subject\": {"),
                  "", "required field is missing (subject.mediaType)");
}

TEST(ManifestReject, IndexManifests) {
  EXPECT_REJECTED(R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"})", "",
                  "required field is missing (manifests)");
  EXPECT_REJECTED(
      R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": null})",
      "", "field must be an array (manifests)");
  EXPECT_REJECTED(
      R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": {}})", "",
      "field must be an array (manifests)");
  EXPECT_REJECTED(
      R"({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json"})", "",
      "required field is missing (manifests)");
  EXPECT_REJECTED(replaced(kOciIndex, "\"size\": 7143", "\"size\": -7143"), "",
                  "size must be a non-negative integer (manifests[0].size)");
}

TEST(ManifestReject, DockerManifestListPlatform) {
  EXPECT_REJECTED(replaced(kDockerManifestList, R"(,
      "platform": {"architecture": "amd64", "os": "linux"})",
                           ""),
                  "", "required field is missing (manifests[0].platform)");
  EXPECT_REJECTED(replaced(kDockerManifestList, R"(, "os": "linux", "variant")", R"(, "variant")"), "",
                  "required field is missing (manifests[1].platform.os)");
  EXPECT_REJECTED(replaced(kDockerManifestList, R"("architecture": "amd64", )", ""), "",
                  "required field is missing (manifests[0].platform.architecture)");
  EXPECT_REJECTED(replaced(kDockerManifestList, R"("architecture": "amd64")", R"("architecture": "")"), "",
                  "field must not be empty (manifests[0].platform.architecture)");
  EXPECT_REJECTED(
      replaced(kDockerManifestList, R"({"architecture": "amd64", "os": "linux"})", "\"linux/amd64\""), "",
      "field must be an object (manifests[0].platform)");
  // An OCI index may leave the platform out, but one that is there names an architecture and an os.
  EXPECT_REJECTED(replaced(kOciIndex, R"("os": "linux"})", R"("os": 7})"), "",
                  "field must be a string (manifests[0].platform.os)");
}

TEST(ManifestReject, ErrorCarriesAMachineReadableDetail) {
  try {
    parseManifest(replaced(kOciManifest, kLayer1, "sha256:bad"), kOciManifestType);
    FAIL() << "accepted";
  } catch (const errcode::Exception& e) {
    auto body = Poco::JSON::Parser().parse(e.errors().toJson()).extract<Poco::JSON::Object::Ptr>();
    auto error = body->getArray("errors")->getObject(0);
    EXPECT_EQ(error->getValue<std::string>("code"), "MANIFEST_INVALID");
    auto detail = error->getObject("detail");
    ASSERT_FALSE(detail.isNull());
    EXPECT_EQ(detail->getValue<std::string>("reason"), "invalid digest");
    EXPECT_EQ(detail->getValue<std::string>("field"), "layers[0].digest");
    EXPECT_EQ(detail->getValue<std::string>("value"), "sha256:bad");
    EXPECT_EQ(e.errors().httpStatus(), 400);
  }
}

TEST(ManifestReject, LongValuesInErrorsAreCut) {
  std::string longDigest = "sha256:" + std::string(5000, 'a');
  std::string message = rejection(replaced(kOciManifest, kLayer1, longDigest), "");
  EXPECT_LT(message.size(), 400u);
}

} // namespace
} // namespace pier
