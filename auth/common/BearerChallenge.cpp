#include "BearerChallenge.hpp"

#include <utility>

namespace pier::auth {

std::string scopeParameter(const std::vector<Access>& wanted) {
  struct Resource {
    std::string typeAndName;
    std::vector<std::string> actions;
  };
  // A route asks for one to three records: a linear search keeps the order stable and cheap.
  std::vector<Resource> resources;
  for (const auto& access : wanted) {
    std::string typeAndName = access.type + ":" + access.name;
    Resource* resource = nullptr;
    for (auto& candidate : resources)
      if (candidate.typeAndName == typeAndName) resource = &candidate;
    if (!resource) resource = &resources.emplace_back(Resource{std::move(typeAndName), {}});
    bool known = false;
    for (const auto& action : resource->actions) known = known || action == access.action;
    if (!known) resource->actions.push_back(access.action);
  }
  std::string scope;
  for (const auto& resource : resources) {
    if (!scope.empty()) scope += ' ';
    scope += resource.typeAndName + ':';
    for (std::size_t i = 0; i < resource.actions.size(); ++i) {
      if (i > 0) scope += ',';
      scope += resource.actions[i];
    }
  }
  return scope;
}

std::string quotedString(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    // A control character (CR, LF above all) could end the header line.
    if (byte < 0x20 || byte == 0x7f) continue;
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string BearerChallenge::header(const std::vector<Access>& wanted) const {
  std::string value = "Bearer realm=" + quotedString(realm) + ",service=" + quotedString(service);
  std::string scope = scopeParameter(wanted);
  if (!scope.empty()) value += ",scope=" + quotedString(scope);
  if (!error.empty()) value += ",error=" + quotedString(error);
  return value;
}

AuthResult unauthorized(const BearerChallenge& challenge, const std::vector<Access>& wanted,
                        std::string message) {
  AuthResult result;
  result.granted = false;
  result.errorCode = "UNAUTHORIZED";
  result.message = std::move(message);
  result.headers.emplace_back("WWW-Authenticate", challenge.header(wanted));
  return result;
}

namespace {

std::string_view withoutLeadingBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  return text;
}

} // namespace

std::string parseBearerAuthorization(std::string_view header) {
  std::string_view authorization = withoutLeadingBlanks(header);
  std::size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !equalsIgnoringCase(authorization.substr(0, space), "bearer"))
    return {};
  return std::string(withoutLeadingBlanks(authorization.substr(space + 1)));
}

} // namespace pier::auth
