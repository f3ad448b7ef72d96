// parseManifest on what it accepts, and detectManifestMediaType on stored
// bytes (ManifestRejectTest.cpp: what parseManifest refuses, and why).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "ManifestSamples.hpp"

namespace pier {
namespace {

using namespace manifest_test;

// ---- accepted manifests ----

TEST(ManifestParse, DockerSchema2) {
  Manifest m = parseManifest(kDockerManifest, kDockerType);
  EXPECT_EQ(m.mediaType, kDockerType);
  EXPECT_FALSE(m.isIndex);
  ASSERT_EQ(m.blobs.size(), 3u);
  EXPECT_TRUE(m.manifests.empty());
  EXPECT_EQ(m.blobs[0].digest.toString(), kConfig);
  EXPECT_EQ(m.blobs[0].mediaType, "application/vnd.docker.container.image.v1+json");
  EXPECT_EQ(m.blobs[0].size, 1469);
  EXPECT_FALSE(m.blobs[0].foreign);
  EXPECT_EQ(m.blobs[1].digest.toString(), kLayer1);
  EXPECT_EQ(m.blobs[1].size, 3370706);
  EXPECT_FALSE(m.blobs[1].foreign);
  EXPECT_EQ(m.blobs[2].digest.toString(), kLayer2);
  EXPECT_TRUE(m.blobs[2].foreign);
  EXPECT_EQ(m.artifactType, "application/vnd.docker.container.image.v1+json");
  EXPECT_FALSE(m.subject.has_value());
  EXPECT_TRUE(m.annotations.isNull());
}

TEST(ManifestParse, DockerManifestList) {
  Manifest m = parseManifest(kDockerManifestList, kDockerListType);
  EXPECT_EQ(m.mediaType, kDockerListType);
  EXPECT_TRUE(m.isIndex);
  EXPECT_TRUE(m.blobs.empty());
  ASSERT_EQ(m.manifests.size(), 2u);
  EXPECT_EQ(m.manifests[0].digest.toString(), kAmd64);
  EXPECT_EQ(m.manifests[0].mediaType, kDockerType);
  EXPECT_EQ(m.manifests[0].size, 528);
  EXPECT_EQ(m.manifests[1].digest.toString(), kArm64);
  EXPECT_TRUE(m.artifactType.empty());
}

TEST(ManifestParse, OciManifest) {
  Manifest m = parseManifest(kOciManifest, kOciManifestType);
  EXPECT_EQ(m.mediaType, kOciManifestType);
  EXPECT_FALSE(m.isIndex);
  ASSERT_EQ(m.blobs.size(), 3u);
  EXPECT_EQ(m.blobs[0].digest.toString(), kConfig);
  EXPECT_EQ(m.blobs[1].digest.toString(), kLayer1);
  ASSERT_FALSE(m.blobs[1].annotations.isNull());
  EXPECT_EQ(m.blobs[1].annotations->getValue<std::string>("org.opencontainers.image.title"), "layer1.tar.gz");
  EXPECT_TRUE(m.blobs[0].annotations.isNull());
  EXPECT_EQ(m.blobs[2].digest.algorithm(), "sha512");
  EXPECT_EQ(m.blobs[2].digest.toString(), kSha512);
  EXPECT_EQ(m.artifactType, "application/vnd.oci.image.config.v1+json");
  ASSERT_FALSE(m.annotations.isNull());
  EXPECT_EQ(m.annotations->getValue<std::string>("com.example.key2"), "value2");
  EXPECT_FALSE(m.subject.has_value());
}

TEST(ManifestParse, OciManifestWithoutMediaTypeTakesContentTypeOrStructure) {
  EXPECT_EQ(parseManifest(kOciManifestWithoutMediaType, kOciManifestType).mediaType, kOciManifestType);
  EXPECT_EQ(parseManifest(kOciManifestWithoutMediaType, "application/json").mediaType, kOciManifestType);
  Manifest m = parseManifest(kOciManifestWithoutMediaType, "");
  EXPECT_EQ(m.mediaType, kOciManifestType);
  EXPECT_EQ(m.blobs.size(), 2u);
}

TEST(ManifestParse, OciIndex) {
  Manifest m = parseManifest(kOciIndex, kOciIndexType);
  EXPECT_EQ(m.mediaType, kOciIndexType);
  EXPECT_TRUE(m.isIndex);
  ASSERT_EQ(m.manifests.size(), 3u);
  EXPECT_EQ(m.manifests[1].digest.toString(), kArm64);
  ASSERT_FALSE(m.manifests[1].annotations.isNull());
  EXPECT_EQ(m.manifests[1].annotations->getValue<std::string>("com.example.arch"), "arm");
  EXPECT_EQ(m.manifests[2].artifactType, "application/vnd.example.sbom.v1");
  EXPECT_TRUE(m.artifactType.empty());
  ASSERT_FALSE(m.annotations.isNull());
  EXPECT_EQ(m.annotations->getValue<std::string>("com.example.key1"), "value1");
}

TEST(ManifestParse, OciIndexWithoutMediaTypeTakesContentTypeOrStructure) {
  EXPECT_EQ(parseManifest(kOciIndexWithoutMediaType, kOciIndexType).mediaType, kOciIndexType);
  Manifest m = parseManifest(kOciIndexWithoutMediaType, "application/octet-stream");
  EXPECT_EQ(m.mediaType, kOciIndexType);
  EXPECT_TRUE(m.isIndex);
  ASSERT_EQ(m.manifests.size(), 1u);
  EXPECT_EQ(m.manifests[0].digest.toString(), kAmd64);
}

TEST(ManifestParse, ArtifactWithEmptyConfigArtifactTypeAndSubject) {
  Manifest m = parseManifest(kArtifactManifest, kOciManifestType);
  EXPECT_EQ(m.mediaType, kOciManifestType);
  EXPECT_EQ(m.artifactType, "application/vnd.example.signature.v1+json");
  ASSERT_EQ(m.blobs.size(), 2u);
  EXPECT_EQ(m.blobs[0].mediaType, mediatype::kOciEmpty);
  EXPECT_EQ(m.blobs[0].digest.toString(), kEmpty);
  EXPECT_EQ(m.blobs[0].size, 2);
  ASSERT_TRUE(m.subject.has_value());
  EXPECT_EQ(m.subject->digest.toString(), kSubject);
  EXPECT_EQ(m.subject->mediaType, kOciManifestType);
  EXPECT_EQ(m.subject->size, 1024);
  ASSERT_FALSE(m.annotations.isNull());
  EXPECT_EQ(m.annotations->getValue<std::string>("org.opencontainers.image.created"), "2024-01-01T00:00:00Z");
}

TEST(ManifestParse, ArtifactWithoutArtifactTypeTakesTheConfigMediaType) {
  Manifest m = parseManifest(kHelmChart, kOciManifestType);
  EXPECT_EQ(m.artifactType, "application/vnd.cncf.helm.config.v1+json");
}

TEST(ManifestParse, ArtifactTypeFieldWinsOverConfigMediaType) {
  std::string bytes = replaced(kHelmChart, "\"schemaVersion\": 2,",
                               R"("schemaVersion": 2, "artifactType": "application/vnd.example.x",)");
  EXPECT_EQ(parseManifest(bytes, kOciManifestType).artifactType, "application/vnd.example.x");
}

TEST(ManifestParse, ArtifactIndexWithSubject) {
  Manifest m = parseManifest(kArtifactIndex, kOciIndexType);
  EXPECT_TRUE(m.isIndex);
  EXPECT_TRUE(m.manifests.empty());
  EXPECT_EQ(m.artifactType, "application/vnd.example.bundle.v1");
  ASSERT_TRUE(m.subject.has_value());
  EXPECT_EQ(m.subject->digest.toString(), kSubject);
  EXPECT_EQ(m.subject->mediaType, kOciIndexType);
  EXPECT_TRUE(m.annotations.isNull());
}

TEST(ManifestParse, EmptyOrNullLayersAreAccepted) {
  std::string empty =
      fill(R"json({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "artifactType": "application/vnd.example.empty",
    "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "${EMPTY}", "size": 2},
    "layers": []})json");
  EXPECT_EQ(parseManifest(empty, kOciManifestType).blobs.size(), 1u);
  EXPECT_EQ(parseManifest(replaced(empty, "\"layers\": []", "\"layers\": null"), "").blobs.size(), 1u);
  EXPECT_EQ(parseManifest(replaced(empty, ",\n    \"layers\": []", ""), "").blobs.size(), 1u);
  std::string docker = fill(R"json({"schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": "${CONFIG}", "size": 10},
    "layers": []})json");
  EXPECT_EQ(parseManifest(docker, kDockerType).blobs.size(), 1u);
}

TEST(ManifestParse, NullOptionalFieldsAreAbsent) {
  std::string bytes =
      replaced(kOciManifest, R"("annotations": {"com.example.key1": "value1", "com.example.key2": "value2"})",
               R"("annotations": null, "subject": null, "artifactType": null)");
  Manifest m = parseManifest(bytes, kOciManifestType);
  EXPECT_TRUE(m.annotations.isNull());
  EXPECT_FALSE(m.subject.has_value());
}

TEST(ManifestParse, ContentTypeParametersAndCaseAreIgnored) {
  EXPECT_EQ(parseManifest(kOciManifest, kOciManifestType + "; charset=utf-8").mediaType, kOciManifestType);
  EXPECT_EQ(parseManifest(kOciManifestWithoutMediaType, kOciManifestType + ";charset=utf-8").mediaType,
            kOciManifestType);
  EXPECT_EQ(
      parseManifest(kOciIndexWithoutMediaType, " Application/VND.OCI.Image.Index.v1+JSON ; charset=utf-8")
          .mediaType,
      kOciIndexType);
  EXPECT_EQ(parseManifest(kDockerManifest, kDockerType + "; charset=utf-8").mediaType, kDockerType);
  // A mismatch is still a mismatch with parameters.
  EXPECT_REJECTED(kDockerManifest, kOciManifestType + "; charset=utf-8",
                  "mediaType does not match Content-Type");
}

TEST(ManifestParse, NonManifestContentTypeDefersToTheField) {
  EXPECT_EQ(parseManifest(kDockerManifest, "application/json").mediaType, kDockerType);
  EXPECT_EQ(parseManifest(kDockerManifestList, "").mediaType, kDockerListType);
  EXPECT_EQ(parseManifest(kOciIndex, "text/plain").mediaType, kOciIndexType);
}

TEST(ManifestParse, PlatformIsOnlyValidatedInIndexes) {
  std::string bytes =
      replaced(kOciManifestWithoutMediaType, R"("size": 32654)", R"("size": 32654, "platform": "anything")");
  EXPECT_EQ(parseManifest(bytes, "").blobs.size(), 2u);
  EXPECT_EQ(parseManifest(kOciIndexWithoutMediaType, "").manifests.size(), 1u); // no platform: fine in OCI
}

TEST(ManifestParse, ForeignOnlyWithNonEmptyUrls) {
  std::string bytes =
      replaced(kOciManifestWithoutMediaType, R"("size": 32654)", R"("size": 32654, "urls": [])");
  EXPECT_FALSE(parseManifest(bytes, "").blobs[1].foreign);
  bytes = replaced(kOciManifestWithoutMediaType, R"("size": 32654)",
                   R"("size": 32654, "urls": ["https://example.com/l"])");
  EXPECT_TRUE(parseManifest(bytes, "").blobs[1].foreign);
}

TEST(ManifestParse, SizeZeroAndLargeSizesAreAccepted) {
  EXPECT_EQ(parseManifest(replaced(kOciManifest, "32654", "0"), "").blobs[1].size, 0);
  EXPECT_EQ(parseManifest(replaced(kOciManifest, "32654", "9223372036854775807"), "").blobs[1].size,
            9223372036854775807LL);
}

TEST(ManifestParse, ExactlyMaxSizeIsAccepted) {
  std::string bytes = kOciManifest;
  bytes.append(kMaxManifestSize - bytes.size(), ' ');
  ASSERT_EQ(bytes.size(), kMaxManifestSize);
  EXPECT_EQ(parseManifest(bytes, kOciManifestType).blobs.size(), 3u);
}

// ---- detectManifestMediaType ----

TEST(ManifestDetect, AllFormats) {
  EXPECT_EQ(detectManifestMediaType(kDockerManifest), kDockerType);
  EXPECT_EQ(detectManifestMediaType(kDockerManifestList), kDockerListType);
  EXPECT_EQ(detectManifestMediaType(kOciManifest), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(kOciIndex), kOciIndexType);
  EXPECT_EQ(detectManifestMediaType(kArtifactManifest), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(kArtifactIndex), kOciIndexType);
}

TEST(ManifestDetect, WithoutMediaTypeFieldInfersFromStructure) {
  // Nested mediaType fields (config, layers, manifests) are not the document's.
  EXPECT_EQ(detectManifestMediaType(kOciManifestWithoutMediaType), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(kOciIndexWithoutMediaType), kOciIndexType);
  EXPECT_EQ(detectManifestMediaType(kHelmChart), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(R"({"schemaVersion":2,"manifests":[]})"), kOciIndexType);
  EXPECT_EQ(detectManifestMediaType(R"({"manifests":null,"config":{}})"), kOciManifestType);
}

TEST(ManifestDetect, MediaTypeFieldAnywhereAtTopLevel) {
  std::string bytes = fill(
      R"json({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,"digest":"${AMD64}","platform":{"architecture":"amd64","os":"linux"}}],"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json"})json");
  EXPECT_EQ(detectManifestMediaType(bytes), kDockerListType);
  EXPECT_EQ(parseManifest(bytes, "").mediaType, kDockerListType);
  // Strings holding braces, quotes and the word mediaType do not confuse it.
  bytes = fill(R"json({"annotations":{"x":"}\"mediaType\": \"text/plain\" {[","mediaType":"a/b"},
    "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"${EMPTY}","size":2},
    "mediaType" : "application/vnd.oci.image.manifest.v1+json", "schemaVersion":2, "artifactType":"a/b"})json");
  EXPECT_EQ(detectManifestMediaType(bytes), kOciManifestType);
  EXPECT_EQ(parseManifest(bytes, "").mediaType, kOciManifestType);
}

TEST(ManifestDetect, EscapedStrings) {
  EXPECT_EQ(
      detectManifestMediaType(R"({"mediaType":"application\/vnd.oci.image.index.v1+json","manifests":[]})"),
      kOciIndexType);
  EXPECT_EQ(detectManifestMediaType(R"({"media\u0054ype":"application/vnd.oci.image.index.v1\u002bjson"})"),
            kOciIndexType);
}

TEST(ManifestDetect, LaterDuplicateKeysWinAsInTheParser) {
  std::string bytes = replaced(kOciManifest, "\"schemaVersion\": 2,",
                               "\"schemaVersion\": 2, \"mediaType\": \"" + kDockerType + "\",");
  EXPECT_EQ(detectManifestMediaType(bytes), parseManifest(bytes, "").mediaType);
}

TEST(ManifestDetect, UnsureMeansOciManifest) {
  EXPECT_EQ(detectManifestMediaType(""), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType("not json"), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType("[]"), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType("{"), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(R"({"mediaType": 2})"), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(R"({"schemaVersion": 2})"), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(R"({"mediaType":"application/vnd.oci.image.index.v1+json")"),
            kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(std::string(100000, '{')), kOciManifestType);
}

// Found by the manifest fuzzer: stored bytes may name a type no push would be accepted with, and
// the answer is a Content-Type header, so it is never empty or more than type/subtype.
TEST(ManifestDetect, AFieldThatIsNoMediaTypeIsIgnored) {
  EXPECT_EQ(detectManifestMediaType(R"({"schemaVersion":2,"mediaType":""})"), kOciManifestType);
  EXPECT_EQ(detectManifestMediaType(R"({"mediaType":"","manifests":[]})"), kOciIndexType);
  EXPECT_EQ(detectManifestMediaType(R"({"mediaType":"a/b\r\nSet-Cookie: x=1","manifests":[]})"),
            kOciIndexType);
  EXPECT_EQ(detectManifestMediaType(R"({"mediaType":"text","config":{}})"), kOciManifestType);
}

TEST(ManifestDetect, AgreesWithParseOnEveryAcceptedManifest) {
  for (const std::string& bytes : allValidManifests()) {
    SCOPED_TRACE(bytes.substr(0, 120));
    Manifest m = parseManifest(bytes, "");
    EXPECT_EQ(detectManifestMediaType(bytes), m.mediaType);
    // Compact and pretty forms alike.
    auto parsed = Poco::JSON::Parser().parse(bytes);
    std::ostringstream out;
    parsed.extract<Poco::JSON::Object::Ptr>()->stringify(out);
    EXPECT_EQ(detectManifestMediaType(out.str()), m.mediaType);
  }
}

} // namespace
} // namespace pier
