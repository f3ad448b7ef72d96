#pragma once

// The statictoken access controller of the example plugins: grants a request
// whose "Authorization: Bearer <token>" carries the one configured token, as
// the configured user. Configured as
//
//   auth:
//     statictoken:
//       realm: https://auth.example.com/token
//       service: registry.example.com
//       token: <at least 16 characters>
//       user: ci            # optional, "token" by default
//       pullonly: true      # optional: the token may only pull
//       requiretls: true    # optional: refuse requests that did not come over TLS
//
// In a header so that the plugin (StaticTokenController.cpp) and its tests
// build the same code.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <Poco/JSON/Object.h>

#include <pier/access_controller.hpp>
#include <pier/config.hpp>

namespace pier_example {

inline const std::string kStaticTokenPrefix = "auth.statictoken";

// Takes as long for every wrong token of one length, wherever it differs.
inline bool sameSecret(std::string_view given, std::string_view expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size() && !expected.empty(); ++i)
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  return difference == 0;
}

// The Docker token spec's scope for what was wanted: "type:name:a,b" per
// resource, space separated.
inline std::string scopeOf(const std::vector<pier::Access>& wanted) {
  std::map<std::string, std::string> actions; // "type:name" -> "a,b"
  for (const pier::Access& access : wanted) {
    std::string& list = actions[access.type + ":" + access.name];
    list += (list.empty() ? "" : ",") + access.action;
  }
  std::string scope;
  for (const auto& [resource, list] : actions) scope += (scope.empty() ? "" : " ") + resource + ":" + list;
  return scope;
}

struct StaticTokenOptions {
  std::string realm, service, token, user;
  bool pullOnly = false, requireTls = false;
};

class StaticTokenController final : public pier::AccessController {
public:
  explicit StaticTokenController(StaticTokenOptions options) : options_(std::move(options)) {}

  // Every refusal is an answer, never an exception: the server turns an
  // exception into a 500.
  pier::AuthResult authorize(const pier::Context& context, const pier::AuthRequest& request,
                             const std::vector<pier::Access>& wanted) override {
    // A field of a later SDK may be absent: read it with a default.
    const bool tls = request.extensions && request.extensions->optValue<bool>("tls", false);
    if (options_.requireTls && !tls) return refuse("DENIED", "requests must come over TLS", wanted, "");

    constexpr std::string_view scheme = "Bearer ";
    const std::string header = request.header("Authorization");
    const std::string_view text = header;
    if (text.size() <= scheme.size() || !pier::equalsIgnoringCase(text.substr(0, scheme.size()), scheme))
      return refuse("UNAUTHORIZED", "authentication required", wanted, "");
    if (!sameSecret(text.substr(scheme.size()), options_.token)) {
      context.log(pier::LogLevel::info, "statictoken: a wrong token from " + request.remoteAddress);
      return refuse("UNAUTHORIZED", "invalid token", wanted, "invalid_token");
    }
    if (options_.pullOnly) {
      for (const pier::Access& access : wanted)
        if (access.action != "pull")
          return refuse("DENIED", "this token may only pull", wanted, "insufficient_scope");
    }
    pier::AuthResult granted;
    granted.granted = true;
    granted.user = options_.user;
    return granted;
  }

private:
  pier::AuthResult refuse(std::string code, std::string message, const std::vector<pier::Access>& wanted,
                          const std::string& error) const {
    pier::AuthResult result;
    result.errorCode = std::move(code);
    result.message = std::move(message);
    std::string challenge = "Bearer realm=\"" + options_.realm + "\",service=\"" + options_.service + "\"";
    if (!wanted.empty()) challenge += ",scope=\"" + scopeOf(wanted) + "\"";
    if (!error.empty()) challenge += ",error=\"" + error + "\"";
    result.headers.emplace_back("WWW-Authenticate", challenge);
    return result;
  }

  const StaticTokenOptions options_; // read-only after construction: safe from every thread
};

// The factory: auth.statictoken's section, or ConfigError naming the key.
inline std::shared_ptr<pier::AccessController>
makeStaticTokenController(const Poco::JSON::Object& parameters) {
  const std::string& prefix = kStaticTokenPrefix;
  const std::set<std::string> known{"realm", "service", "token", "user", "pullonly", "requiretls"};
  for (const auto& [key, value] : parameters)
    if (!known.count(key))
      throw pier::ConfigError(pier::config::keyPath(prefix, key) + ": unknown parameter");
  StaticTokenOptions options;
  options.realm = pier::config::requireString(parameters, "realm", prefix);
  options.service = pier::config::requireString(parameters, "service", prefix);
  for (const auto& [key, value] : {std::pair{"realm", options.realm}, std::pair{"service", options.service}})
    if (value.find_first_of("\"\\\r\n") != std::string::npos)
      throw pier::ConfigError(prefix + "." + key + ": must not contain quotes, backslashes or line breaks");
  options.token = pier::config::requireString(parameters, "token", prefix);
  if (options.token.size() < 16) // the message names the key, never the value
    throw pier::ConfigError(prefix + ".token: must be at least 16 characters");
  options.user = pier::config::getString(parameters, "user", prefix, "token");
  options.pullOnly = pier::config::getFlag(parameters, "pullonly", prefix, false);
  options.requireTls = pier::config::getFlag(parameters, "requiretls", prefix, false);
  return std::make_shared<StaticTokenController>(std::move(options));
}

} // namespace pier_example
