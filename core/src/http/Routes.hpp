#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pier {

class Exchange;
class Registry;
class Repository;

using RegistryHandler = void (*)(Exchange&, Registry&);
using RepositoryHandler = void (*)(Exchange&, Repository&, const std::string& reference);

// What a route asks the access controller for.
enum class RouteAccess {
  none,       // not asked at all (/debug/health)
  base,       // asked with no access records: "may this client use the API?" (/v2/)
  catalog,    // registry:catalog:*
  repository, // repository:<name>:<action of the method>
};

// One endpoint: its name (Distribution's route name; the metrics' route
// label, never the raw path), the methods it takes ("GET HEAD"), a path
// pattern, what it needs, and its handler. <name> is a repository name
// (several components); <reference> is one path segment.
struct Route {
  std::string_view name;
  std::string_view methods;
  std::string_view pattern;
  RouteAccess access;
  std::variant<RegistryHandler, RepositoryHandler> handler;
  bool belowPrefix = true; // served under http.prefix
};

// The registry's endpoints, in the order they are matched.
const std::vector<Route>& routes();

struct RouteMatch {
  const Route* route = nullptr;
  std::string name;      // validated repository name, for repository routes
  std::string reference; // the <reference> segment, when the pattern has one
};

// The route of the request: 404 NOT_FOUND when no pattern matches, 405
// UNSUPPORTED when the path's endpoints take another method, 400
// NAME_INVALID for an invalid repository name.
RouteMatch matchRoute(const Exchange& exchange);

} // namespace pier
