#include "RegistryClient.hpp"

#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <Poco/DeflatingStream.h>

namespace pier::test {

std::string makeTar(const std::string& fileName, const std::string& content) {
  char header[512] = {};
  std::snprintf(header, 100, "%s", fileName.c_str());
  std::snprintf(header + 100, 8, "%07o", 0644);
  std::snprintf(header + 108, 8, "%07o", 0);
  std::snprintf(header + 116, 8, "%07o", 0);
  std::snprintf(header + 124, 12, "%011lo", static_cast<unsigned long>(content.size()));
  std::snprintf(header + 136, 12, "%011lo", 1700000000UL);
  header[156] = '0';
  std::memcpy(header + 257, "ustar", 6);
  std::memcpy(header + 263, "00", 2);
  std::memset(header + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  std::snprintf(header + 148, 8, "%06o", sum);
  header[155] = ' ';

  std::string tar(header, sizeof header);
  tar += content;
  tar.append((512 - content.size() % 512) % 512, '\0');
  tar.append(1024, '\0');
  return tar;
}

std::string gzip(const std::string& content) {
  std::ostringstream out;
  {
    Poco::DeflatingOutputStream deflate(out, Poco::DeflatingStreamBuf::STREAM_GZIP, 9);
    deflate << content;
    deflate.close();
  }
  return out.str();
}

namespace {

std::string descriptorJson(const std::string& indent, const Blob& blob, const std::string& extra = {}) {
  return indent + "{\n" + indent + "  \"mediaType\": \"" + blob.mediaType + "\",\n" + indent +
         "  \"digest\": \"" + blob.digest + "\",\n" + indent +
         "  \"size\": " + std::to_string(blob.content.size()) + extra + "\n" + indent + "}";
}

std::string platformJson(const std::string& indent, const std::string& architecture) {
  std::string variant = architecture == "arm64" ? ",\n" + indent + "  \"variant\": \"v8\"" : "";
  return ",\n" + indent + "\"platform\": {\n" + indent + "  \"architecture\": \"" + architecture + "\",\n" +
         indent + "  \"os\": \"linux\"" + variant + "\n" + indent + "}";
}

} // namespace

TestImage makeTestImage(const std::string& architecture, bool oci, const std::string& fileContent) {
  TestImage image;
  image.architecture = architecture;
  std::string tar = makeTar("hello-" + architecture + ".txt", fileContent);
  image.uncompressedLayerDigest = sha256Digest(tar);
  image.layer = Blob(gzip(tar), oci ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                    : "application/vnd.docker.image.rootfs.diff.tar.gzip");
  image.config = Blob(
      "{\"architecture\":\"" + architecture +
          "\",\"created\":\"2024-01-01T00:00:00Z\",\"os\":\"linux\","
          "\"config\":{\"Cmd\":[\"/hello\"]},"
          "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" +
          image.uncompressedLayerDigest +
          "\"]},"
          "\"history\":[{\"created\":\"2024-01-01T00:00:00Z\",\"created_by\":\"pier test\"}]}",
      oci ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json");
  std::string mediaType = oci ? "application/vnd.oci.image.manifest.v1+json"
                              : "application/vnd.docker.distribution.manifest.v2+json";
  // Indented on purpose: a registry must keep the exact bytes.
  image.manifest = Blob("{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"" + mediaType +
                            "\",\n  \"config\": " + descriptorJson("  ", image.config).substr(2) +
                            ",\n  \"layers\": [\n" + descriptorJson("    ", image.layer) + "\n  ]\n}\n",
                        mediaType);
  return image;
}

Blob makeTestIndex(const std::vector<TestImage>& images, bool oci) {
  std::string mediaType = oci ? "application/vnd.oci.image.index.v1+json"
                              : "application/vnd.docker.distribution.manifest.list.v2+json";
  std::string manifests;
  for (const auto& image : images) {
    if (!manifests.empty()) manifests += ",\n";
    manifests += descriptorJson("    ", image.manifest, platformJson("      ", image.architecture));
  }
  return Blob("{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"" + mediaType + "\",\n  \"manifests\": [\n" +
                  manifests + "\n  ]\n}\n",
              mediaType);
}

std::string locationTarget(const std::string& location) {
  std::size_t scheme = location.find("://");
  if (scheme == std::string::npos) return location;
  std::size_t path = location.find('/', scheme + 3);
  return path == std::string::npos ? "/" : location.substr(path);
}

namespace {

[[noreturn]] void unexpected(const std::string& what, const HttpResponse& response) {
  throw std::runtime_error(what + " answered " + std::to_string(response.status) + ": " + response.body);
}

std::string withDigest(const std::string& target, const std::string& digest) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
}

} // namespace

void pushBlobMonolithic(std::uint16_t port, const std::string& name, const Blob& blob) {
  auto response = httpRequest(port, "POST", "/v2/" + name + "/blobs/uploads/?digest=" + blob.digest,
                              blob.content, {{"Content-Type", "application/octet-stream"}});
  if (response.status == 202) {
    // The registry may ignore ?digest= on POST (Distribution 2.8 does) and
    // start an upload instead: then the whole blob goes with the PUT.
    response = httpRequest(port, "PUT", withDigest(locationTarget(response.header("Location")), blob.digest),
                           blob.content, {{"Content-Type", "application/octet-stream"}});
  }
  if (response.status != 201) unexpected("monolithic upload of " + blob.digest, response);
  if (response.header("Docker-Content-Digest") != blob.digest)
    throw std::runtime_error("monolithic upload answered digest " + response.header("Docker-Content-Digest"));
}

void pushBlobChunked(std::uint16_t port, const std::string& name, const Blob& blob, std::size_t chunkSize) {
  auto started = httpRequest(port, "POST", "/v2/" + name + "/blobs/uploads/");
  if (started.status != 202) unexpected("POST of an upload", started);
  std::string target = locationTarget(started.header("Location"));
  for (std::size_t offset = 0; offset < blob.content.size(); offset += chunkSize) {
    std::string chunk = blob.content.substr(offset, chunkSize);
    auto patched = httpRequest(
        port, "PATCH", target, chunk,
        {{"Content-Type", "application/octet-stream"},
         {"Content-Range", std::to_string(offset) + "-" + std::to_string(offset + chunk.size() - 1)}});
    if (patched.status != 202) unexpected("PATCH at " + std::to_string(offset), patched);
    std::string range = "0-" + std::to_string(offset + chunk.size() - 1);
    if (patched.header("Range") != range)
      throw std::runtime_error("PATCH answered Range " + patched.header("Range") + ", not " + range);
    target = locationTarget(patched.header("Location"));
  }
  auto finished = httpRequest(port, "PUT", withDigest(target, blob.digest), "",
                              {{"Content-Type", "application/octet-stream"}});
  if (finished.status != 201) unexpected("PUT ?digest= of " + blob.digest, finished);
  if (finished.header("Docker-Content-Digest") != blob.digest)
    throw std::runtime_error("PUT ?digest= answered digest " + finished.header("Docker-Content-Digest"));
}

void pushManifest(std::uint16_t port, const std::string& name, const std::string& reference,
                  const Blob& manifest) {
  auto response = httpRequest(port, "PUT", "/v2/" + name + "/manifests/" + reference, manifest.content,
                              {{"Content-Type", manifest.mediaType}});
  if (response.status != 201) unexpected("PUT of manifest " + name + ":" + reference, response);
  if (response.header("Docker-Content-Digest") != manifest.digest)
    throw std::runtime_error("PUT of manifest answered digest " + response.header("Docker-Content-Digest") +
                             ", not " + manifest.digest);
}

void pushImage(std::uint16_t port, const std::string& name, const TestImage& image,
               const std::string& reference, std::size_t chunkSize) {
  for (const Blob* blob : {&image.layer, &image.config}) {
    if (chunkSize > 0)
      pushBlobChunked(port, name, *blob, chunkSize);
    else
      pushBlobMonolithic(port, name, *blob);
  }
  pushManifest(port, name, reference, image.manifest);
}

} // namespace pier::test
