#include "http/Routes.hpp"

#include "errcode/ErrorCode.hpp"
#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "storage/Reference.hpp"

namespace pier {

const std::vector<Route>& routes() {
  using A = RouteAccess;
  // Uploads come before blobs: ".../blobs/uploads" is no blob digest.
  static const std::vector<Route> table = {
      {"health", "GET HEAD", "/debug/health", A::none, handleHealth, false},
      {"base", "GET HEAD", "/v2/", A::base, handleBase},
      {"catalog", "GET HEAD", "/v2/_catalog", A::catalog, handleCatalog},
      {"tags", "GET HEAD", "/v2/<name>/tags/list", A::repository, getTags},
      {"manifest", "GET HEAD", "/v2/<name>/manifests/<reference>", A::repository, getManifest},
      {"manifest", "PUT", "/v2/<name>/manifests/<reference>", A::repository, putManifest},
      {"manifest", "DELETE", "/v2/<name>/manifests/<reference>", A::repository, deleteManifest},
      {"blob_upload", "POST", "/v2/<name>/blobs/uploads/", A::repository, startUpload},
      {"blob_upload_chunk", "GET HEAD", "/v2/<name>/blobs/uploads/<reference>", A::repository,
       getUploadStatus},
      {"blob_upload_chunk", "PATCH", "/v2/<name>/blobs/uploads/<reference>", A::repository, patchUpload},
      {"blob_upload_chunk", "PUT", "/v2/<name>/blobs/uploads/<reference>", A::repository, putUpload},
      {"blob_upload_chunk", "DELETE", "/v2/<name>/blobs/uploads/<reference>", A::repository, cancelUpload},
      {"blob", "GET HEAD", "/v2/<name>/blobs/<reference>", A::repository, getBlob},
      {"blob", "DELETE", "/v2/<name>/blobs/<reference>", A::repository, deleteBlob},
      {"referrers", "GET HEAD", "/v2/<name>/referrers/<reference>", A::repository, getReferrers},
  };
  return table;
}

namespace {

constexpr std::string_view kName = "<name>";
constexpr std::string_view kReference = "<reference>";

bool takesMethod(std::string_view methods, std::string_view method) {
  while (!methods.empty()) {
    std::size_t space = methods.find(' ');
    if (methods.substr(0, space) == method) return true;
    if (space == std::string_view::npos) break;
    methods.remove_prefix(space + 1);
  }
  return false;
}

// Matches path against pattern, filling name and reference. A pattern's
// trailing '/' is optional in the path ("/v2" is "/v2/").
bool matches(std::string_view pattern, std::string_view path, std::string& name, std::string& reference) {
  std::size_t namePosition = pattern.find(kName);
  if (namePosition == std::string_view::npos) {
    if (path == pattern) return true;
    return pattern.ends_with('/') && path == pattern.substr(0, pattern.size() - 1);
  }
  std::string_view prefix = pattern.substr(0, namePosition);
  std::string_view suffix = pattern.substr(namePosition + kName.size());
  if (!path.starts_with(prefix)) return false;
  std::string_view rest = path.substr(prefix.size());
  if (suffix.ends_with(kReference)) {
    // The reference is the last segment; what precedes it must end in the fixed part.
    std::size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos || slash + 1 == rest.size()) return false;
    std::string_view head = rest.substr(0, slash + 1);
    std::string_view fixed = suffix.substr(0, suffix.size() - kReference.size());
    if (!head.ends_with(fixed) || head.size() == fixed.size()) return false;
    name = std::string(head.substr(0, head.size() - fixed.size()));
    reference = std::string(rest.substr(slash + 1));
    return true;
  }
  std::string_view fixed = suffix;
  if (!rest.ends_with(fixed)) {
    if (!fixed.ends_with('/')) return false;
    fixed.remove_suffix(1);
    if (!rest.ends_with(fixed)) return false;
  }
  if (rest.size() == fixed.size()) return false;
  name = std::string(rest.substr(0, rest.size() - fixed.size()));
  return true;
}

} // namespace

RouteMatch matchRoute(const Exchange& exchange) {
  const std::string& path = exchange.path();
  const std::string& method = exchange.method();
  // The first pattern the path matches is its endpoint; its rows differ by method.
  std::string_view endpoint;
  for (const Route& route : routes()) {
    if (route.belowPrefix && exchange.outsidePrefix()) continue;
    if (!endpoint.empty() && route.pattern != endpoint) continue;
    RouteMatch match;
    if (!matches(route.pattern, path, match.name, match.reference)) continue;
    if (!match.name.empty() && !isValidRepositoryName(match.name))
      throw errcode::Exception(errcode::NameInvalid, "", match.name);
    endpoint = route.pattern;
    if (!takesMethod(route.methods, method)) continue;
    match.route = &route;
    return match;
  }
  if (!endpoint.empty())
    throw errcode::Exception(errcode::Unsupported, "method " + method + " is not supported on " + path);
  throw errcode::Exception(errcode::NotFound, "no endpoint at " + path);
}

} // namespace pier
