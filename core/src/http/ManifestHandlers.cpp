#include <Poco/StreamCopier.h>

#include "app/App.hpp"
#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "http/RequestParts.hpp"

namespace pier {

namespace {

// A manifest reference is a digest or a tag; anything else is refused before it nears storage.
struct ManifestReference {
  std::optional<Digest> digest;
  std::optional<std::string> tag;
};

ManifestReference parseReference(const std::string& reference) {
  if (reference.find(':') != std::string::npos) return {requireDigest(reference), std::nullopt};
  if (!isValidTag(reference))
    throw errcode::Exception(errcode::TagInvalid, "invalid tag \"" + reference + "\"", reference);
  return {std::nullopt, reference};
}

void getManifest(Exchange& exchange, const std::string& name, const ManifestReference& reference) {
  ManifestService& manifests = exchange.app().manifests();
  const Context& context = exchange.context();
  Digest digest = reference.digest ? *reference.digest : manifests.resolveTag(context, name, *reference.tag);
  auto& response = exchange.response();
  // '"', not "\"": GCC 12 -Wrestrict misfires at -O3 on "literal" + a temporary string.
  const std::string etag = '"' + digest.toString() + '"';
  response.set("Docker-Content-Digest", digest.toString());
  response.set("ETag", etag);

  if (exchange.isHead()) {
    auto descriptor = manifests.stat(context, name, digest);
    if (!descriptor) throw errcode::Exception(errcode::ManifestUnknown, "", digest.toString());
    response.setContentType(descriptor->mediaType);
    response.setContentLength64(descriptor->size);
    exchange.markResponded(200);
    response.send();
    return;
  }
  auto stored = manifests.get(context, name, digest);
  if (exchange.request().get("If-None-Match", "") == etag) return exchange.sendEmpty(304);
  exchange.send(200, stored.content, stored.mediaType);
}

void putManifest(Exchange& exchange, const std::string& name, const ManifestReference& reference) {
  auto length = exchange.contentLength();
  if (length && static_cast<std::size_t>(*length) > kMaxManifestSize)
    throw errcode::Exception(errcode::ManifestInvalid, "manifest is larger than 4 MiB");
  // Read at most one byte past the limit: a chunked body cannot make the server hold more.
  std::string content;
  {
    std::istream& in = exchange.request().stream();
    content.resize(kMaxManifestSize + 1);
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
  }
  if (content.size() > kMaxManifestSize)
    throw errcode::Exception(errcode::ManifestInvalid, "manifest is larger than 4 MiB");
  if (length && static_cast<std::int64_t>(content.size()) != *length)
    throw errcode::Exception(errcode::ManifestInvalid, "the body ended before its Content-Length");

  auto result = exchange.app().manifests().put(exchange.context(), name, reference.tag, reference.digest,
                                               std::move(content), exchange.request().getContentType());
  auto& response = exchange.response();
  response.set("Location", exchange.urlFor("/v2/" + name + "/manifests/" + result.digest.toString()));
  response.set("Docker-Content-Digest", result.digest.toString());
  if (result.subject) response.set("OCI-Subject", result.subject->toString());
  exchange.sendEmpty(201);
}

void deleteManifest(Exchange& exchange, const std::string& name, const ManifestReference& reference) {
  App& app = exchange.app();
  requireDeletesEnabled(app.config());
  if (reference.tag)
    app.manifests().removeTag(exchange.context(), name, *reference.tag);
  else
    app.manifests().remove(exchange.context(), name, *reference.digest);
  exchange.sendEmpty(202);
}

} // namespace

void handleManifest(Exchange& exchange, const std::string& name, const std::string& referenceText) {
  ManifestReference reference = parseReference(referenceText);
  const std::string& method = exchange.method();
  if (method == "GET" || method == "HEAD") return getManifest(exchange, name, reference);
  if (method == "PUT") return putManifest(exchange, name, reference);
  if (method == "DELETE") return deleteManifest(exchange, name, reference);
  throw errcode::Exception(errcode::Unsupported, "method " + method + " is not supported on manifests");
}

} // namespace pier
