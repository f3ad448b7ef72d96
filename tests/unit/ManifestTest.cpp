#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "errcode/ErrorCode.hpp"
#include "storage/Manifest.hpp"

namespace pier {
namespace {

// sha256 of "config", "layer1", "layer2", "amd64", "arm64", "subject", and of "{}" (the empty config).
const std::string kConfig = "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910";
const std::string kLayer1 = "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2";
const std::string kLayer2 = "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06";
const std::string kAmd64 = "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51";
const std::string kArm64 = "sha256:f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265";
const std::string kSubject = "sha256:a9491f4c1bf7b0cffbadcba2db8f028e4b3f2867cb59e1f3a0bc1968f3c51242";
const std::string kEmpty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
// sha512 of "x".
const std::string kSha512 =
    "sha512:a4abd4448c49562d828115d13a1fccea927f52b4d5459297f8b43e42da89238bc13626e43dcb38dd"
    "b082488927ec904fb42057443983e88585179d50551afe62";

const std::string kDockerType(mediatype::kDockerManifest);
const std::string kDockerListType(mediatype::kDockerManifestList);
const std::string kOciManifestType(mediatype::kOciManifest);
const std::string kOciIndexType(mediatype::kOciIndex);

// Replaces every "${NAME}" of the table in a template.
std::string fill(std::string text) {
  const std::vector<std::pair<std::string, std::string>> table{
      {"${CONFIG}", kConfig}, {"${LAYER1}", kLayer1},   {"${LAYER2}", kLayer2}, {"${AMD64}", kAmd64},
      {"${ARM64}", kArm64},   {"${SUBJECT}", kSubject}, {"${EMPTY}", kEmpty},   {"${SHA512}", kSha512}};
  for (const auto& [name, value] : table) {
    for (std::size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size()))
      text.replace(at, name.size(), value);
  }
  return text;
}

const std::string kDockerManifest = fill(R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {
    "mediaType": "application/vnd.docker.container.image.v1+json",
    "size": 1469,
    "digest": "${CONFIG}"
  },
  "layers": [
    {
      "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "size": 3370706,
      "digest": "${LAYER1}"
    },
    {
      "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      "size": 1032,
      "digest": "${LAYER2}",
      "urls": ["https://mcr.microsoft.com/v2/windows/servercore/blobs/${LAYER2}"]
    }
  ]
})json");

const std::string kDockerManifestList = fill(R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests": [
    {
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "size": 528,
      "digest": "${AMD64}",
      "platform": {"architecture": "amd64", "os": "linux"}
    },
    {
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "size": 528,
      "digest": "${ARM64}",
      "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}
    }
  ]
})json");

const std::string kOciManifest = fill(R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "${CONFIG}",
    "size": 7023
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "${LAYER1}",
      "size": 32654,
      "annotations": {"org.opencontainers.image.title": "layer1.tar.gz"}
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
      "digest": "${SHA512}",
      "size": 16724
    }
  ],
  "annotations": {"com.example.key1": "value1", "com.example.key2": "value2"}
})json");

// No mediaType field: an OCI manifest only by its structure.
const std::string kOciManifestWithoutMediaType = fill(R"json({
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "${CONFIG}", "size": 7023},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "${LAYER1}", "size": 32654}]
})json");

const std::string kOciIndex = fill(R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7143,
      "digest": "${AMD64}",
      "platform": {"architecture": "amd64", "os": "linux"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7682,
      "digest": "${ARM64}",
      "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
      "annotations": {"com.example.arch": "arm"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 566,
      "digest": "${SUBJECT}",
      "artifactType": "application/vnd.example.sbom.v1"
    }
  ],
  "annotations": {"com.example.key1": "value1"}
})json");

const std::string kOciIndexWithoutMediaType = fill(R"json({
  "schemaVersion": 2,
  "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 7143, "digest": "${AMD64}"}]
})json");

// An artifact: the empty config, an artifactType, a subject (image-spec 1.1).
const std::string kArtifactManifest = fill(R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/vnd.example.signature.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "${EMPTY}",
    "size": 2,
    "data": "e30="
  },
  "layers": [
    {"mediaType": "application/vnd.example.signature.v1+json", "digest": "${LAYER1}", "size": 128}
  ],
  "subject": {
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "${SUBJECT}",
    "size": 1024
  },
  "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
})json");

// An artifact in the pre-1.1 style: its own config media type and no artifactType.
const std::string kHelmChart = fill(R"json({
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": "${CONFIG}", "size": 117},
  "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": "${LAYER1}", "size": 3462}]
})json");

const std::string kArtifactIndex = fill(R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "artifactType": "application/vnd.example.bundle.v1",
  "manifests": [],
  "subject": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "${SUBJECT}", "size": 2048}
})json");

std::vector<std::string> allValidManifests() {
  return {kDockerManifest, kDockerManifestList,       kOciManifest,      kOciManifestWithoutMediaType,
          kOciIndex,       kOciIndexWithoutMediaType, kArtifactManifest, kHelmChart,
          kArtifactIndex};
}

// Replaces the first occurrence of `from` (which must occur).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Parses what must be rejected; returns the error's message.
std::string rejection(std::string_view bytes, std::string_view contentType = "") {
  try {
    parseManifest(bytes, contentType);
  } catch (const errcode::Exception& e) {
    EXPECT_EQ(e.errors().list().size(), 1u);
    const errcode::Error& error = e.errors().list().front();
    EXPECT_EQ(error.code, errcode::ManifestInvalid);
    EXPECT_FALSE(error.message.empty());
    return error.message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "accepted: " << bytes.substr(0, 300);
  return {};
}

#define EXPECT_REJECTED(bytes, contentType, reason)                                                          \
  EXPECT_NE(rejection((bytes), (contentType)).find(reason), std::string::npos)                               \
      << "expected a rejection containing \"" << (reason) << "\", got \""                                    \
      << rejection((bytes), (contentType)) << "\""

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
