#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/JSON/Object.h>

#include "pier/context.hpp"

namespace pier {

// What a request wants to do: resource type ("repository", "registry"),
// resource name ("library/alpine", "catalog") and action ("pull", "push",
// "delete", "*").
struct Access {
  std::string type;
  std::string name;
  std::string action;
};

// ASCII letters compared without case, as HTTP header names and auth schemes are.
inline bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The parts of an HTTP request an access controller may look at. Fields that
// later SDK versions add arrive in `extensions` first, so that a plugin built
// before them keeps its ABI; they move into the struct only at an ABI bump.
// Today: "tls" (bool), whether the request came over TLS.
struct AuthRequest {
  std::string method;
  std::string uri;
  std::string remoteAddress;
  std::vector<std::pair<std::string, std::string>> headers;
  Poco::JSON::Object::Ptr extensions; // null or further facts of the request

  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const {
    for (const auto& [key, value] : headers)
      if (equalsIgnoringCase(key, name)) return value;
    return {};
  }
};

struct AuthResult {
  bool granted = false;
  std::string user; // who was granted, when known
  // When not granted: the registered error code (UNAUTHORIZED or DENIED),
  // a message, and headers such as WWW-Authenticate to send with it.
  std::string errorCode = "UNAUTHORIZED";
  std::string message;
  std::vector<std::pair<std::string, std::string>> headers;
};

class PIER_SDK_API AccessController {
public:
  virtual ~AccessController() = default;
  // Grants the request all of `wanted` or challenges it. An empty `wanted`
  // is a request for the base endpoint (/v2/).
  virtual AuthResult authorize(const Context& context, const AuthRequest& request,
                               const std::vector<Access>& wanted) = 0;
};

} // namespace pier
