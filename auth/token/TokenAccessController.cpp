// Distribution's "token" access controller: a request carries a JWT issued
// by a token service (Authorization: Bearer <jwt>), signed by a key the
// registry trusts, whose access claim grants everything the request wants.
// Anything else is 401 UNAUTHORIZED with a Bearer challenge that tells the
// client where to get a token and for which scopes.
//
//   auth:
//     token:
//       realm: https://auth.example.com/token   # where clients get tokens
//       service: registry.example.com            # the audience tokens are for
//       issuer: auth.example.com                 # iss of every token
//       rootcertbundle: /etc/pier/token-ca.pem   # x5c anchors and kid keys
//       jwks: /etc/pier/token-keys.json          # and/or a JWK set
//       autoredirect: false                      # realm from the request's Host
//       autoredirectpath: /auth/token
//       signingalgorithms: [ES256, RS256]        # default: all supported
#include <chrono>
#include <set>

#include <Poco/JSON/Array.h>

#include <pier/config.hpp>
#include <pier/plugin.hpp>

#include "BearerChallenge.hpp"
#include "Claims.hpp"
#include "InvalidToken.hpp"
#include "JwtVerifier.hpp"
#include "RecentlyVerified.hpp"

namespace pier::token {

namespace {

const std::string kPrefix = "auth.token";
// A pull sends its token with each of its requests: the signature (and an
// x5c chain) is checked once a minute, not per request. The claims are read
// and checked every time, so an expiry is never stretched.
constexpr std::size_t kRememberedTokens = 10000;
constexpr std::chrono::seconds kRememberTokensFor{60};

struct TokenOptions {
  std::string realm;
  std::string service;
  std::string issuer;
  std::string rootCertBundle;
  std::string jwks;
  bool autoRedirect = false;
  std::string autoRedirectPath = "/auth/token";
  std::set<std::string> algorithms = supportedAlgorithms();
};

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw ConfigError(config::keyPath(kPrefix, key) + ": " + what);
}

std::set<std::string> signingAlgorithms(const Poco::JSON::Object& parameters) {
  const std::string key = "signingalgorithms";
  Poco::JSON::Array::Ptr list = parameters.getArray(key);
  if (!list) fail(key, "must be a list of JWS algorithms");
  std::set<std::string> algorithms;
  for (std::size_t i = 0; i < list->size(); ++i) {
    Poco::Dynamic::Var entry = list->get(static_cast<unsigned>(i));
    std::string name = entry.isString() ? entry.extract<std::string>() : entry.toString();
    if (!supportedAlgorithms().count(name) || !entry.isString())
      fail(key,
           "\"" + name +
               "\" is not one of the supported algorithms RS256, RS384, RS512, ES256, ES384, ES512, EdDSA");
    algorithms.insert(name);
  }
  if (algorithms.empty()) fail(key, "must name at least one algorithm");
  return algorithms;
}

TokenOptions parseOptions(const Poco::JSON::Object& parameters) {
  const std::set<std::string> known{"realm", "service",      "issuer",           "rootcertbundle",
                                    "jwks",  "autoredirect", "autoredirectpath", "signingalgorithms"};
  for (const auto& [key, value] : parameters)
    if (!known.count(key)) fail(key, "unknown parameter of the token access controller");
  TokenOptions options;
  options.realm = config::requireString(parameters, "realm", kPrefix);
  options.service = config::requireString(parameters, "service", kPrefix);
  options.issuer = config::requireString(parameters, "issuer", kPrefix);
  options.rootCertBundle = config::getString(parameters, "rootcertbundle", kPrefix);
  options.jwks = config::getString(parameters, "jwks", kPrefix);
  options.autoRedirect = config::getBool(parameters, "autoredirect", kPrefix, false);
  options.autoRedirectPath =
      config::getString(parameters, "autoredirectpath", kPrefix, options.autoRedirectPath);
  if (options.autoRedirectPath.empty() || options.autoRedirectPath.front() != '/')
    fail("autoredirectpath", "must be a path starting with /");
  if (parameters.has("signingalgorithms") && !parameters.isNull("signingalgorithms"))
    options.algorithms = signingAlgorithms(parameters);
  return options;
}

class TokenAccessController final : public AccessController {
public:
  TokenAccessController(TokenOptions options, std::shared_ptr<const KeySet> keys)
      : options_(std::move(options)),
        verifier_(std::move(keys), options_.algorithms), rules_{options_.issuer, options_.service,
                                                                std::chrono::seconds(60)},
        verified_(kRememberedTokens, kRememberTokensFor) {}

  AuthResult authorize(const Context& context, const AuthRequest& request,
                       const std::vector<Access>& wanted) override {
    auth::BearerChallenge challenge{realmFor(request), options_.service, ""};
    std::string jwt = auth::parseBearerAuthorization(request.header("Authorization"));
    if (jwt.empty()) return auth::unauthorized(challenge, wanted);
    std::string refusal;
    try {
      Poco::JSON::Object::Ptr claimSet = verifiedClaims(jwt);
      Claims claims = Claims::check(*claimSet, rules_, std::chrono::system_clock::now());
      for (const auto& access : wanted) {
        if (claims.grants(access)) continue;
        challenge.error = "insufficient_scope";
        std::string scope = access.type + ":" + access.name + ":" + access.action;
        // Debug only: a mount without from asks this once per candidate repository.
        context.log(LogLevel::debug,
                    "token of \"" + claims.subject() + "\" refused: it does not grant " + scope);
        return auth::unauthorized(challenge, wanted, "insufficient scope: the token does not grant " + scope);
      }
      AuthResult granted;
      granted.granted = true;
      granted.user = claims.subject();
      return granted;
    } catch (const InvalidToken& error) {
      refusal = error.what();
    } catch (const std::exception& error) {
      // Whatever a parser or OpenSSL throws is a token this registry cannot accept, never a 5xx.
      refusal = std::string("it cannot be read: ") + error.what();
    } catch (...) {
      refusal = "it cannot be read";
    }
    context.log(LogLevel::info, "token refused: " + refusal);
    challenge.error = "invalid_token";
    return auth::unauthorized(challenge, wanted, "invalid token: " + refusal);
  }

private:
  Poco::JSON::Object::Ptr verifiedClaims(const std::string& jwt) {
    std::string key = verified_.keyFor("", jwt);
    auto now = auth::RecentlyVerified::Clock::now();
    if (verified_.contains(key, now)) return JwtVerifier::claimsOf(jwt);
    Poco::JSON::Object::Ptr claims = verifier_.verify(jwt);
    verified_.remember(key, now); // only a signature that verified: never a failure
    return claims;
  }

  // With autoredirect, the realm is this registry's own token path at the
  // host the client asked for, https unless a proxy says otherwise, as in Distribution.
  std::string realmFor(const AuthRequest& request) const {
    if (!options_.autoRedirect) return options_.realm;
    std::string scheme = request.header("X-Forwarded-Proto");
    if (scheme.empty()) scheme = "https";
    return scheme + "://" + request.header("Host") + options_.autoRedirectPath;
  }

  TokenOptions options_;
  JwtVerifier verifier_;
  ClaimRules rules_;
  auth::RecentlyVerified verified_;
};

std::shared_ptr<AccessController> makeController(const Poco::JSON::Object& parameters) {
  TokenOptions options = parseOptions(parameters);
  auto keys = KeySet::load(options.rootCertBundle, options.jwks);
  return std::make_shared<TokenAccessController>(std::move(options), std::move(keys));
}

void registerPlugin(PluginRegistry& registry) {
  registry.accessController("token", makeController);
}

} // namespace

} // namespace pier::token

PIER_PLUGIN(pier::token::registerPlugin, "token", PIER_PLUGIN_VERSION,
            "Bearer tokens of a Docker token server (JWT, RS/ES/EdDSA keys and JWKS)")
