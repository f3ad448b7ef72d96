#pragma once

// The manifests the manifest tests parse, detect and mutate: one of each
// accepted format (Docker schema 2 and list, OCI manifest and index, with and
// without mediaType, artifacts), and helpers to edit and reject them.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "errcode/ErrorCode.hpp"
#include "storage/Manifest.hpp"

namespace pier::manifest_test {

// sha256 of "config", "layer1", "layer2", "amd64", "arm64", "subject", and of "{}" (the empty config).
inline const std::string kConfig = "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910";
inline const std::string kLayer1 = "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2";
inline const std::string kLayer2 = "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06";
inline const std::string kAmd64 = "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51";
inline const std::string kArm64 = "sha256:f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265";
inline const std::string kSubject = "sha256:a9491f4c1bf7b0cffbadcba2db8f028e4b3f2867cb59e1f3a0bc1968f3c51242";
inline const std::string kEmpty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
// sha512 of "x".
inline const std::string kSha512 =
    "sha512:a4abd4448c49562d828115d13a1fccea927f52b4d5459297f8b43e42da89238bc13626e43dcb38dd"
    "b082488927ec904fb42057443983e88585179d50551afe62";

inline const std::string kDockerType(mediatype::kDockerManifest);
inline const std::string kDockerListType(mediatype::kDockerManifestList);
inline const std::string kOciManifestType(mediatype::kOciManifest);
inline const std::string kOciIndexType(mediatype::kOciIndex);

// Replaces every "${NAME}" of the table in a template.
inline std::string fill(std::string text) {
  const std::vector<std::pair<std::string, std::string>> table{
      {"${CONFIG}", kConfig}, {"${LAYER1}", kLayer1},   {"${LAYER2}", kLayer2}, {"${AMD64}", kAmd64},
      {"${ARM64}", kArm64},   {"${SUBJECT}", kSubject}, {"${EMPTY}", kEmpty},   {"${SHA512}", kSha512}};
  for (const auto& [name, value] : table) {
    for (std::size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size()))
      text.replace(at, name.size(), value);
  }
  return text;
}

inline const std::string kDockerManifest = fill(R"json({
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

inline const std::string kDockerManifestList = fill(R"json({
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

inline const std::string kOciManifest = fill(R"json({
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
inline const std::string kOciManifestWithoutMediaType = fill(R"json({
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "${CONFIG}", "size": 7023},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "${LAYER1}", "size": 32654}]
})json");

inline const std::string kOciIndex = fill(R"json({
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

inline const std::string kOciIndexWithoutMediaType = fill(R"json({
  "schemaVersion": 2,
  "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 7143, "digest": "${AMD64}"}]
})json");

// An artifact: the empty config, an artifactType, a subject (image-spec 1.1).
inline const std::string kArtifactManifest = fill(R"json({
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
inline const std::string kHelmChart = fill(R"json({
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": "${CONFIG}", "size": 117},
  "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": "${LAYER1}", "size": 3462}]
})json");

inline const std::string kArtifactIndex = fill(R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "artifactType": "application/vnd.example.bundle.v1",
  "manifests": [],
  "subject": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "${SUBJECT}", "size": 2048}
})json");

inline std::vector<std::string> allValidManifests() {
  return {kDockerManifest, kDockerManifestList,       kOciManifest,      kOciManifestWithoutMediaType,
          kOciIndex,       kOciIndexWithoutMediaType, kArtifactManifest, kHelmChart,
          kArtifactIndex};
}

// Replaces the first occurrence of `from` (which must occur).
inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Parses what must be rejected; returns the error's message.
inline std::string rejection(std::string_view bytes, std::string_view contentType = "") {
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

} // namespace pier::manifest_test
