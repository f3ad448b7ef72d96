#include "app/App.hpp"
#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "http/RequestParts.hpp"

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

bool hasBody(const Exchange& exchange) {
  auto length = exchange.contentLength();
  return (length && *length > 0) || exchange.request().getChunkedTransferEncoding();
}

} // namespace

void handleUploadStart(Exchange& exchange, const std::string& name) {
  if (exchange.method() != "POST")
    throw errcode::Exception(errcode::Unsupported,
                             "method " + exchange.method() + " is not supported on uploads");
  App& app = exchange.app();
  const Context& context = exchange.context();

  auto mount = exchange.queryParameter("mount");
  auto from = exchange.queryParameter("from");
  if (mount) {
    // Mounting from a repository that has the blob links it here; otherwise
    // (invalid arguments included, as the spec says) the client gets a normal
    // upload to push it (202).
    auto digest = Digest::parse(*mount);
    if (digest && from && isValidRepositoryName(*from)) {
      if (auto descriptor = app.blobs().statLinked(context, *from, LinkSpace::layers, *digest)) {
        app.blobs().link(context, name, LinkSpace::layers, *descriptor);
        return sendBlobCreated(exchange, name, digest->toString());
      }
    }
  }

  if (auto digestParameter = exchange.queryParameter("digest")) {
    // A monolithic upload: the whole blob is this request's body.
    Digest digest = requireDigest(*digestParameter);
    std::string id = app.uploads().start(context, name);
    UploadBody body{exchange.request().stream(), exchange.contentLength()};
    Descriptor descriptor = app.uploads().finish(context, name, id, digest, &body);
    return sendBlobCreated(exchange, name, descriptor.digest);
  }

  std::string id = app.uploads().start(context, name);
  sendUploadStatus(exchange, 202, name, id, 0);
}

void handleUpload(Exchange& exchange, const std::string& name, const std::string& id) {
  App& app = exchange.app();
  const Context& context = exchange.context();
  UploadService& uploads = app.uploads();
  const std::string& method = exchange.method();

  if (method == "GET" || method == "HEAD") {
    return sendUploadStatus(exchange, 204, name, id, uploads.size(context, name, id));
  }
  if (method == "DELETE") {
    uploads.cancel(context, name, id);
    return exchange.sendEmpty(204);
  }
  if (method == "PATCH") {
    std::optional<std::int64_t> expectedStart;
    std::string contentRange = exchange.request().get("Content-Range", "");
    if (!contentRange.empty()) {
      auto range = parseContentRange(contentRange);
      auto length = exchange.contentLength();
      if (!range) {
        exchange.response().set("Range", uploadRange(uploads.size(context, name, id)));
        throw errcode::Exception(errcode::RangeInvalid, "malformed Content-Range \"" + contentRange + "\"");
      }
      if (length && *length != range->length)
        throw errcode::Exception(errcode::SizeInvalid,
                                 "Content-Range covers " + std::to_string(range->length) +
                                     " bytes, Content-Length is " + std::to_string(*length));
      expectedStart = range->start;
    }
    UploadBody body{exchange.request().stream(), exchange.contentLength()};
    std::int64_t size;
    try {
      size = uploads.append(context, name, id, body, expectedStart);
    } catch (const errcode::Exception& e) {
      if (e.errors().list().front().code == errcode::RangeInvalid)
        exchange.response().set("Range",
                                uploadRange(e.errors().list().front().detail.convert<std::int64_t>()));
      throw;
    }
    return sendUploadStatus(exchange, 202, name, id, size);
  }
  if (method == "PUT") {
    auto digestParameter = exchange.queryParameter("digest");
    if (!digestParameter)
      throw errcode::Exception(errcode::DigestInvalid, "the digest query parameter is required");
    Digest digest = requireDigest(*digestParameter);
    Descriptor descriptor;
    if (hasBody(exchange)) {
      UploadBody body{exchange.request().stream(), exchange.contentLength()};
      descriptor = uploads.finish(context, name, id, digest, &body);
    } else {
      descriptor = uploads.finish(context, name, id, digest, nullptr);
    }
    return sendBlobCreated(exchange, name, descriptor.digest);
  }
  throw errcode::Exception(errcode::Unsupported, "method " + method + " is not supported on uploads");
}

} // namespace pier
