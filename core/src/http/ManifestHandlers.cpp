#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "http/RequestParts.hpp"
#include "storage/Repository.hpp"

namespace pier {

namespace {

// A manifest reference is a digest or a tag.
struct ManifestReference {
  std::optional<Digest> digest;
  std::optional<std::string> tag;
};

// For writes: TAG_INVALID or DIGEST_INVALID when the reference is neither.
ManifestReference parseReference(const std::string& reference) {
  if (reference.find(':') != std::string::npos) return {requireDigest(reference), std::nullopt};
  if (!isValidTag(reference))
    throw errcode::Exception(errcode::TagInvalid, "invalid tag \"" + reference + "\"", reference);
  return {std::nullopt, reference};
}

// For reads: a reference that cannot name a manifest names none (404
// MANIFEST_UNKNOWN, as the OCI conformance suite expects).
ManifestReference parseReadReference(const std::string& reference) {
  try {
    return parseReference(reference);
  } catch (const errcode::Exception&) {
    throw errcode::Exception(errcode::ManifestUnknown, "", reference);
  }
}

} // namespace

void getManifest(Exchange& exchange, Repository& repository, const std::string& referenceText) {
  ManifestReference reference = parseReadReference(referenceText);
  Digest digest = reference.digest ? *reference.digest : repository.resolveTag(*reference.tag);
  auto& response = exchange.response();
  // '"', not "\"": GCC 12 -Wrestrict misfires at -O3 on "literal" + a temporary string.
  const std::string etag = '"' + digest.toString() + '"';
  response.set("Docker-Content-Digest", digest.toString());
  response.set("ETag", etag);

  if (exchange.isHead()) {
    auto descriptor = repository.statManifest(digest);
    if (!descriptor) throw errcode::Exception(errcode::ManifestUnknown, "", digest.toString());
    response.setContentType(descriptor->mediaType);
    response.setContentLength64(descriptor->size);
    return exchange.sendHeaders(200);
  }
  if (exchange.request().get("If-None-Match", "") == etag) {
    if (!repository.statManifest(digest))
      throw errcode::Exception(errcode::ManifestUnknown, "", digest.toString());
    return exchange.sendEmpty(304);
  }
  auto stored = repository.getManifest(digest, reference.tag.value_or(""));
  exchange.send(200, stored.content, stored.mediaType);
}

void putManifest(Exchange& exchange, Repository& repository, const std::string& referenceText) {
  ManifestReference reference = parseReference(referenceText);
  auto length = exchange.contentLength();
  if (length && static_cast<std::size_t>(*length) > kMaxManifestSize)
    throw errcode::Exception(errcode::ManifestInvalid, "manifest is larger than 4 MiB");
  // Read at most one byte past the limit: a chunked body cannot make the server hold more.
  std::string content;
  {
    std::istream& in = exchange.body();
    content.resize(kMaxManifestSize + 1);
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
  }
  if (content.size() > kMaxManifestSize)
    throw errcode::Exception(errcode::ManifestInvalid, "manifest is larger than 4 MiB");
  if (length && static_cast<std::int64_t>(content.size()) != *length)
    throw errcode::Exception(errcode::ManifestInvalid, "the body ended before its Content-Length");

  auto result = repository.putManifest(reference.tag, reference.digest, std::move(content),
                                       exchange.request().getContentType());
  auto& response = exchange.response();
  response.set("Location",
               exchange.urlFor("/v2/" + repository.name() + "/manifests/" + result.digest.toString()));
  response.set("Docker-Content-Digest", result.digest.toString());
  if (result.subject) response.set("OCI-Subject", result.subject->toString());
  exchange.sendEmpty(201);
}

void deleteManifest(Exchange& exchange, Repository& repository, const std::string& referenceText) {
  ManifestReference reference = parseReference(referenceText);
  if (reference.tag)
    repository.deleteTag(*reference.tag);
  else
    repository.deleteManifest(*reference.digest);
  exchange.sendEmpty(202);
}

} // namespace pier
