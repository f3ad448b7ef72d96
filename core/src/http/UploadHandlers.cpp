#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "http/RequestParts.hpp"
#include "storage/Repository.hpp"

namespace pier {

namespace {

std::string uploadLocation(const std::string& name, const std::string& id) {
  return "/v2/" + name + "/blobs/uploads/" + id;
}

// Range of an upload holding size bytes, as Distribution writes it ("0-0" when empty).
std::string uploadRange(std::int64_t size) {
  return "0-" + std::to_string(size > 0 ? size - 1 : 0);
}

void sendUploadStatus(Exchange& exchange, int status, const std::string& name, const std::string& id,
                      std::int64_t size) {
  auto& response = exchange.response();
  response.set("Location", exchange.urlFor(uploadLocation(name, id)));
  response.set("Range", uploadRange(size));
  response.set("Docker-Upload-UUID", id);
  exchange.sendEmpty(status);
}

void sendBlobCreated(Exchange& exchange, const std::string& name, const std::string& digest) {
  auto& response = exchange.response();
  response.set("Location", exchange.urlFor("/v2/" + name + "/blobs/" + digest));
  response.set("Docker-Content-Digest", digest);
  exchange.sendEmpty(201);
}

} // namespace

void startUpload(Exchange& exchange, Repository& repository, const std::string&) {
  const std::string& name = repository.name();
  if (auto mount = exchange.queryParameter("mount")) {
    // A mount links a blob another repository holds (or, with
    // storage.mount.automatic and no `from`, one the registry holds); when it
    // cannot (invalid arguments included, as the spec says) the client gets
    // a normal upload to push the blob (202).
    auto digest = Digest::parse(*mount);
    auto from = exchange.queryParameter("from");
    std::optional<Descriptor> mounted;
    if (digest && from && isValidRepositoryName(*from))
      mounted = repository.mountBlob(*digest, *from);
    else if (digest && !from)
      mounted = repository.mountDiscovered(*digest);
    if (mounted) return sendBlobCreated(exchange, name, mounted->digest);
  }

  if (auto digestParameter = exchange.queryParameter("digest")) {
    // A monolithic upload: the whole blob is this request's body.
    Digest digest = requireDigest(*digestParameter);
    std::string id = repository.startUpload();
    UploadBody body{exchange.body(), exchange.contentLength()};
    Descriptor descriptor = repository.finishUpload(id, digest, &body);
    return sendBlobCreated(exchange, name, descriptor.digest);
  }

  std::string id = repository.startUpload();
  sendUploadStatus(exchange, 202, name, id, 0);
}

void getUploadStatus(Exchange& exchange, Repository& repository, const std::string& id) {
  sendUploadStatus(exchange, 204, repository.name(), id, repository.uploadSize(id));
}

void cancelUpload(Exchange& exchange, Repository& repository, const std::string& id) {
  repository.cancelUpload(id);
  exchange.sendEmpty(204);
}

void patchUpload(Exchange& exchange, Repository& repository, const std::string& id) {
  std::optional<std::int64_t> expectedStart;
  std::string contentRange = exchange.request().get("Content-Range", "");
  if (!contentRange.empty()) {
    auto range = parseContentRange(contentRange);
    auto length = exchange.contentLength();
    if (!range) {
      exchange.response().set("Range", uploadRange(repository.uploadSize(id)));
      throw errcode::Exception(errcode::RangeInvalid, "malformed Content-Range \"" + contentRange + "\"");
    }
    if (length && *length != range->length)
      throw errcode::Exception(errcode::SizeInvalid, "Content-Range covers " + std::to_string(range->length) +
                                                         " bytes, Content-Length is " +
                                                         std::to_string(*length));
    expectedStart = range->start;
  }
  UploadBody body{exchange.body(), exchange.contentLength()};
  std::int64_t size;
  try {
    size = repository.appendUpload(id, body, expectedStart);
  } catch (const errcode::Exception& e) {
    if (e.errors().list().front().code == errcode::RangeInvalid)
      exchange.response().set("Range", uploadRange(e.errors().list().front().detail.convert<std::int64_t>()));
    throw;
  }
  sendUploadStatus(exchange, 202, repository.name(), id, size);
}

void putUpload(Exchange& exchange, Repository& repository, const std::string& id) {
  auto digestParameter = exchange.queryParameter("digest");
  if (!digestParameter)
    throw errcode::Exception(errcode::DigestInvalid, "the digest query parameter is required");
  Digest digest = requireDigest(*digestParameter);
  Descriptor descriptor;
  if (exchange.hasBody()) {
    UploadBody body{exchange.body(), exchange.contentLength()};
    descriptor = repository.finishUpload(id, digest, &body);
  } else {
    descriptor = repository.finishUpload(id, digest, nullptr);
  }
  sendBlobCreated(exchange, repository.name(), descriptor.digest);
}

} // namespace pier
