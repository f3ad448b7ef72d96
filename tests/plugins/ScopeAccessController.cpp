// An access controller for the dispatcher's tests, until the real ones
// (auth/*) exist: it grants a request whose "Authorization: Scopes <user>
// <scope>..." header lists every access record the route needs, and
// otherwise challenges with the records it was asked for in
// WWW-Authenticate, so a test can see what the dispatcher derived.
// Without the header: 401 UNAUTHORIZED; with too few scopes: 403 DENIED.
#include <set>
#include <sstream>

#include <pier/plugin.hpp>

namespace {

std::string scopeOf(const pier::Access& access) {
  return access.type + ":" + access.name + ":" + access.action;
}

class ScopeAccessController final : public pier::AccessController {
public:
  pier::AuthResult authorize(const pier::Context&, const pier::AuthRequest& request,
                             const std::vector<pier::Access>& wanted) override {
    std::string wantedScopes;
    for (const auto& access : wanted) {
      if (!wantedScopes.empty()) wantedScopes += ' ';
      wantedScopes += scopeOf(access);
    }
    pier::AuthResult result;
    std::istringstream header(request.header("Authorization"));
    std::string scheme, user;
    header >> scheme >> user;
    std::set<std::string> granted;
    for (std::string scope; header >> scope;) granted.insert(scope);
    bool all = scheme == "Scopes" && !user.empty();
    for (const auto& access : wanted) all = all && granted.count(scopeOf(access)) > 0;
    if (all) {
      result.granted = true;
      result.user = user;
      return result;
    }
    result.errorCode = scheme == "Scopes" ? "DENIED" : "UNAUTHORIZED";
    result.message = "scopes wanted: " + wantedScopes;
    // The request's extensions (AuthRequest::extensions) as the server filled them.
    std::string tls = request.extensions && request.extensions->has("tls")
                          ? (request.extensions->getValue<bool>("tls") ? "true" : "false")
                          : "absent";
    result.headers.emplace_back("WWW-Authenticate",
                                "Scopes realm=\"test\",scope=\"" + wantedScopes + "\",tls=\"" + tls + "\"");
    return result;
  }
};

void registerPlugin(pier::PluginRegistry& registry) {
  registry.accessController(
      "scopes", [](const Poco::JSON::Object&) { return std::make_shared<ScopeAccessController>(); });
}

} // namespace

PIER_PLUGIN(registerPlugin, "scopes", "1.0.0", "Test fixture: shows the dispatcher's access records")
