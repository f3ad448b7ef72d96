#include <algorithm>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/URI.h>

#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "http/RequestParts.hpp"
#include "storage/Registry.hpp"
#include "storage/Repository.hpp"

namespace pier {

namespace {

constexpr std::size_t kMaxPageSize = 10000;
constexpr std::size_t kDefaultCatalogPage = 100; // as Distribution

std::string toJson(const Poco::JSON::Object& object) {
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

std::string encode(const std::string& text) {
  std::string encoded;
  Poco::URI::encode(text, "&=+?#/:", encoded);
  return encoded;
}

// Link: <path?last=…&n=…>; rel="next", pointing at the following page.
void setNextLink(Exchange& exchange, const std::string& path, const std::string& last, std::size_t n) {
  // '<', not "<": GCC 12 -Wrestrict misfires at -O3 on "literal" + a temporary string.
  exchange.response().set("Link", '<' + exchange.urlFor(path) + "?last=" + encode(last) +
                                      "&n=" + std::to_string(n) + ">; rel=\"next\"");
}

} // namespace

void getTags(Exchange& exchange, Repository& repository, const std::string&) {
  const std::string& name = repository.name();
  std::string last = exchange.queryParameter("last").value_or("");
  std::size_t n = parsePageSize(exchange.queryParameter("n"), kMaxPageSize, kMaxPageSize);
  TagPage page = repository.tagPage(last, n);

  Poco::JSON::Array list;
  for (const auto& tag : page.tags) list.add(tag);
  Poco::JSON::Object body(Poco::JSON_PRESERVE_KEY_ORDER);
  body.set("name", name);
  body.set("tags", list);
  if (page.more && !page.tags.empty())
    setNextLink(exchange, "/v2/" + name + "/tags/list", page.tags.back(), n);
  exchange.sendJson(200, toJson(body));
}

void handleCatalog(Exchange& exchange, Registry& registry) {
  std::string last = exchange.queryParameter("last").value_or("");
  std::size_t n = parsePageSize(exchange.queryParameter("n"), kDefaultCatalogPage, kMaxPageSize);
  CatalogPage page = registry.catalog(exchange.context(), last, n);
  Poco::JSON::Array list;
  for (const auto& repository : page.repositories) list.add(repository);
  Poco::JSON::Object body;
  body.set("repositories", list);
  if (page.more && !page.repositories.empty())
    setNextLink(exchange, "/v2/_catalog", page.repositories.back(), n);
  exchange.sendJson(200, toJson(body));
}

void getReferrers(Exchange& exchange, Repository& repository, const std::string& reference) {
  Digest subject = requireDigest(reference);
  std::string artifactType = exchange.queryParameter("artifactType").value_or("");
  auto referrers = repository.referrers(subject, artifactType);

  Poco::JSON::Array manifests;
  for (const auto& referrer : referrers) {
    Poco::JSON::Object descriptor(Poco::JSON_PRESERVE_KEY_ORDER);
    descriptor.set("mediaType", referrer.mediaType);
    descriptor.set("digest", referrer.digest.toString());
    descriptor.set("size", referrer.size);
    if (!referrer.artifactType.empty()) descriptor.set("artifactType", referrer.artifactType);
    if (referrer.annotations && referrer.annotations->size() > 0)
      descriptor.set("annotations", referrer.annotations);
    manifests.add(descriptor);
  }
  Poco::JSON::Object body(Poco::JSON_PRESERVE_KEY_ORDER);
  body.set("schemaVersion", 2);
  body.set("mediaType", std::string(mediatype::kOciIndex));
  body.set("manifests", manifests);
  if (!artifactType.empty()) exchange.response().set("OCI-Filters-Applied", "artifactType");
  exchange.send(200, toJson(body), mediatype::kOciIndex);
}

} // namespace pier
