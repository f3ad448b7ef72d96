#include "http/Router.hpp"

#include <string_view>
#include <vector>

#include "app/App.hpp"
#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "storage/Reference.hpp"

namespace pier {

namespace {

bool isRead(const std::string& method) {
  return method == "GET" || method == "HEAD";
}

void requireRead(const Exchange& exchange) {
  if (!isRead(exchange.request().getMethod()))
    throw errcode::Exception(errcode::Unsupported, "method " + exchange.request().getMethod() +
                                                       " is not supported on " + exchange.path());
}

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string validName(std::string_view name) {
  if (!isValidRepositoryName(name)) throw errcode::Exception(errcode::NameInvalid, "", std::string(name));
  return std::string(name);
}

// Routes /v2/<name>/... by its last segments, since a name may itself hold
// "blobs" or "manifests" as components.
void routeRepository(Exchange& exchange, std::string_view rest) {
  if (endsWith(rest, "/tags/list")) {
    requireRead(exchange);
    return handleTags(exchange, validName(rest.substr(0, rest.size() - 10)));
  }
  if (endsWith(rest, "/blobs/uploads") || endsWith(rest, "/blobs/uploads/")) {
    std::size_t cut = rest.rfind("/blobs/uploads");
    return handleUploadStart(exchange, validName(rest.substr(0, cut)));
  }
  std::size_t last = rest.rfind('/');
  if (last == std::string_view::npos || last == 0)
    throw errcode::Exception(errcode::NotFound, "no endpoint at " + exchange.path());
  std::string_view head = rest.substr(0, last), tail = rest.substr(last + 1);
  if (endsWith(head, "/blobs/uploads"))
    return handleUpload(exchange, validName(head.substr(0, head.size() - 14)), std::string(tail));
  if (endsWith(head, "/manifests"))
    return handleManifest(exchange, validName(head.substr(0, head.size() - 10)), std::string(tail));
  if (endsWith(head, "/blobs"))
    return handleBlob(exchange, validName(head.substr(0, head.size() - 6)), std::string(tail));
  if (endsWith(head, "/referrers")) {
    requireRead(exchange);
    return handleReferrers(exchange, validName(head.substr(0, head.size() - 10)), std::string(tail));
  }
  throw errcode::Exception(errcode::NotFound, "no endpoint at " + exchange.path());
}

} // namespace

void route(Exchange& exchange) {
  const std::string& path = exchange.path();
  if (path == "/debug/health") {
    requireRead(exchange);
    return handleHealth(exchange);
  }
  if (exchange.outsidePrefix()) throw errcode::Exception(errcode::NotFound, "no endpoint at " + path);
  if (path == "/v2/" || path == "/v2") {
    requireRead(exchange);
    return handleBase(exchange);
  }
  if (path.rfind("/v2/", 0) == 0) {
    if (exchange.app().config().storage.readOnly && !isRead(exchange.request().getMethod()))
      throw errcode::Exception(errcode::Unsupported,
                               "the registry is in read-only mode (storage.maintenance.readonly)");
    std::string_view rest = std::string_view(path).substr(4);
    if (rest == "_catalog") {
      requireRead(exchange);
      return handleCatalog(exchange);
    }
    return routeRepository(exchange, rest);
  }
  throw errcode::Exception(errcode::NotFound, "no endpoint at " + path);
}

} // namespace pier
