#include "ApiClient.hpp"

#include <stdexcept>
#include <thread>

#include <Poco/JSON/Array.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/SocketStream.h>
#include <Poco/Net/StreamSocket.h>

#include "errcode/ErrorCode.hpp"
#include "storage/Digester.hpp"

namespace pier::test::api {

namespace {

// The path and query of a Location, absolute or not.
std::string target(const std::string& location) {
  std::size_t scheme = location.find("://");
  if (scheme == std::string::npos) return location;
  std::size_t path = location.find('/', scheme + 3);
  return path == std::string::npos ? "/" : location.substr(path);
}

[[noreturn]] void unexpected(const std::string& what, const HttpResponse& response) {
  throw std::runtime_error(what + " answered " + std::to_string(response.status) + ": " + response.body);
}

// Why the body is not a Distribution error body, or empty when it is one.
std::string errorBodyProblem(const HttpResponse& response) {
  if (response.header("Content-Type") != "application/json")
    return "Content-Type is \"" + response.header("Content-Type") + "\"";
  Poco::JSON::Array::Ptr errors;
  try {
    errors = parseJson(response.body)->getArray("errors");
  } catch (const std::exception& e) {
    return std::string("body is not a JSON object: ") + e.what();
  }
  if (!errors || errors->size() == 0) return "no \"errors\" array";
  for (std::size_t i = 0; i < errors->size(); ++i) {
    auto error = errors->getObject(static_cast<unsigned>(i));
    if (!error || !error->has("code") || !error->has("message") || !error->get("code").isString() ||
        !error->get("message").isString() || error->getValue<std::string>("message").empty())
      return "error " + std::to_string(i) + " lacks a code or a message";
    auto code = errcode::findCode(error->getValue<std::string>("code"));
    if (!code) return "code " + error->getValue<std::string>("code") + " is not registered";
    if (i == 0 && code->httpStatus() != response.status)
      return "status " + std::to_string(response.status) + " is not the status of " + code->value();
  }
  return {};
}

} // namespace

std::string sha256Of(std::string_view data) {
  return pier::sha256Of(data).toString();
}

std::string sha512Of(std::string_view data) {
  Digester digester("sha512");
  digester.update(data);
  return digester.digest().toString();
}

::testing::AssertionResult isError(const HttpResponse& response, int status, const std::string& code) {
  if (response.status != status)
    return ::testing::AssertionFailure()
           << "status " << response.status << ", not " << status << "; body " << response.body;
  if (std::string problem = errorBodyProblem(response); !problem.empty())
    return ::testing::AssertionFailure() << problem << "; body " << response.body;
  if (response.header("Docker-Distribution-API-Version") != "registry/2.0")
    return ::testing::AssertionFailure() << "no Docker-Distribution-API-Version: registry/2.0";
  std::string first =
      parseJson(response.body)->getArray("errors")->getObject(0)->getValue<std::string>("code");
  if (first != code) return ::testing::AssertionFailure() << "code " << first << ", not " << code;
  return ::testing::AssertionSuccess();
}

Content makeContent(std::string bytes) {
  Content content{std::move(bytes), {}};
  content.digest = sha256Of(content.bytes);
  return content;
}

std::string descriptorJson(std::string_view mediaType, const std::string& digest, std::size_t size,
                           const std::string& extra) {
  return "{\"mediaType\":\"" + std::string(mediaType) + "\",\"digest\":\"" + digest +
         "\",\"size\":" + std::to_string(size) + extra + "}";
}

std::string descriptorJson(std::string_view mediaType, const Content& content, const std::string& extra) {
  return descriptorJson(mediaType, content.digest, content.size(), extra);
}

std::string imageManifest(std::string_view mediaType, const std::string& configDescriptor,
                          const std::vector<std::string>& layerDescriptors, const std::string& extraFields) {
  std::string layers;
  for (const auto& layer : layerDescriptors) layers += (layers.empty() ? "" : ",") + layer;
  return "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(mediaType) +
         "\",\"config\":" + configDescriptor + ",\"layers\":[" + layers + "]" + extraFields + "}";
}

std::string indexManifest(std::string_view mediaType, const std::vector<std::string>& manifestDescriptors,
                          const std::string& extraFields) {
  std::string manifests;
  for (const auto& manifest : manifestDescriptors) manifests += (manifests.empty() ? "" : ",") + manifest;
  return "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(mediaType) + "\",\"manifests\":[" + manifests +
         "]" + extraFields + "}";
}

std::string platformField(const std::string& architecture) {
  return ",\"platform\":{\"architecture\":\"" + architecture + "\",\"os\":\"linux\"}";
}

HttpResponse Client::request(const std::string& method, const std::string& path, const std::string& body,
                             const std::map<std::string, std::string>& headers) const {
  std::map<std::string, std::string> all = headers;
  all.insert(headers_.begin(), headers_.end());
  HttpResponse response = httpRequest(port_, method, target(path), body, all);
  EXPECT_EQ(response.header("Docker-Distribution-API-Version"), "registry/2.0") << method << " " << path;
  if (response.status >= 400 && method != "HEAD") {
    std::string problem = errorBodyProblem(response);
    EXPECT_EQ(problem, "") << method << " " << path << " answered " << response.status << ": "
                           << response.body;
  }
  return response;
}

std::string Client::startUpload(const std::string& repo) const {
  auto response = request("POST", "/v2/" + repo + "/blobs/uploads/");
  if (response.status != 202) unexpected("POST /v2/" + repo + "/blobs/uploads/", response);
  return response.header("Location");
}

HttpResponse Client::patch(const std::string& location, const std::string& chunk,
                           const std::string& contentRange) const {
  std::map<std::string, std::string> headers{{"Content-Type", "application/octet-stream"}};
  if (!contentRange.empty()) headers["Content-Range"] = contentRange;
  return request("PATCH", location, chunk, headers);
}

HttpResponse Client::finish(const std::string& location, const std::string& digest,
                            const std::string& lastChunk) const {
  return request("PUT", withQuery(location, "digest=" + digest), lastChunk,
                 {{"Content-Type", "application/octet-stream"}});
}

void Client::pushBlob(const std::string& repo, const Content& blob) const {
  auto response = request("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + blob.digest, blob.bytes,
                          {{"Content-Type", "application/octet-stream"}});
  if (response.status != 201) unexpected("POST ?digest=" + blob.digest, response);
}

void Client::pushBlobChunked(const std::string& repo, const Content& blob, std::size_t chunkSize) const {
  std::string location = startUpload(repo);
  for (std::size_t offset = 0; offset < blob.size(); offset += chunkSize) {
    std::string chunk = blob.bytes.substr(offset, chunkSize);
    auto response =
        patch(location, chunk, std::to_string(offset) + "-" + std::to_string(offset + chunk.size() - 1));
    if (response.status != 202) unexpected("PATCH at " + std::to_string(offset), response);
    location = response.header("Location");
  }
  auto response = finish(location, blob.digest);
  if (response.status != 201) unexpected("PUT ?digest=" + blob.digest, response);
}

HttpResponse Client::putManifest(const std::string& repo, const std::string& reference,
                                 const std::string& body, std::string_view contentType) const {
  return request("PUT", "/v2/" + repo + "/manifests/" + reference, body,
                 {{"Content-Type", std::string(contentType)}});
}

std::string Client::pushManifest(const std::string& repo, const std::string& reference,
                                 const std::string& body, std::string_view contentType) const {
  auto response = putManifest(repo, reference, body, contentType);
  if (response.status != 201) unexpected("PUT /v2/" + repo + "/manifests/" + reference, response);
  return response.header("Docker-Content-Digest");
}

Client::PushedImage Client::pushImage(const std::string& repo, const std::string& tag,
                                      const std::string& layerBytes, const std::string& configBytes) const {
  PushedImage image{makeContent(layerBytes), makeContent(configBytes), {}, {}};
  pushBlob(repo, image.layer);
  pushBlob(repo, image.config);
  image.manifest = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, image.config),
                                 {descriptorJson(media::kOciLayer, image.layer)});
  image.digest = pushManifest(repo, tag, image.manifest, mediatype::kOciManifest);
  return image;
}

std::string withQuery(const std::string& location, const std::string& parameter) {
  return location + (location.find('?') == std::string::npos ? "?" : "&") + parameter;
}

std::string lastSegment(const std::string& location) {
  std::string path = location.substr(0, location.find('?'));
  return path.substr(path.rfind('/') + 1);
}

void sendAndClose(std::uint16_t port, const std::string& bytes) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
  socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
  socket.close();
}

HttpResponse rawRequest(std::uint16_t port, const std::string& bytes) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
  socket.setReceiveTimeout(Poco::Timespan(30, 0));
  socket.setSendTimeout(Poco::Timespan(30, 0));
  // Sent from another thread while the response is read: a server may answer
  // (and close) before it has read everything.
  std::thread sender([&socket, &bytes] {
    try {
      std::size_t sent = 0;
      while (sent < bytes.size()) {
        int n = socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
      }
    } catch (const std::exception&) {
    }
  });
  auto stop = [&socket, &sender] {
    try {
      socket.shutdown();
    } catch (const std::exception&) {
    }
    sender.join();
  };
  HttpResponse result;
  try {
    Poco::Net::SocketInputStream in(socket);
    Poco::Net::HTTPResponse response;
    response.read(in);
    result.status = static_cast<int>(response.getStatus());
    for (const auto& [name, value] : response) {
      std::string key = name;
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      result.headers[key] = value;
    }
    if (response.hasContentLength()) {
      result.body.resize(static_cast<std::size_t>(response.getContentLength64()));
      in.read(result.body.data(), static_cast<std::streamsize>(result.body.size()));
      result.body.resize(static_cast<std::size_t>(in.gcount()));
    }
  } catch (...) {
    stop();
    throw;
  }
  stop();
  return result;
}

std::filesystem::path repositoryPath(const std::filesystem::path& root, const std::string& repo) {
  return root / "docker/registry/v2/repositories" / repo;
}

std::filesystem::path uploadsPath(const std::filesystem::path& root, const std::string& repo) {
  return repositoryPath(root, repo) / "_uploads";
}

std::filesystem::path blobDataPath(const std::filesystem::path& root, const std::string& digest) {
  std::size_t colon = digest.find(':');
  std::string algorithm = digest.substr(0, colon), hex = digest.substr(colon + 1);
  return root / "docker/registry/v2/blobs" / algorithm / hex.substr(0, 2) / hex / "data";
}

std::size_t entryCount(const std::filesystem::path& directory) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) return 0;
  std::size_t count = 0;
  for (auto it = std::filesystem::directory_iterator(directory, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error))
    ++count;
  return count;
}

std::string withDeletesDisabled(const std::string& config) {
  const std::string enabled = "delete:\n    enabled: true";
  std::string result = config;
  std::size_t at = result.find(enabled);
  if (at == std::string::npos) throw std::runtime_error("the config has no delete section to turn off");
  result.replace(at, enabled.size(), "delete:\n    enabled: false");
  return result;
}

} // namespace pier::test::api
