#include "Claims.hpp"

#include <cmath>
#include <optional>

#include <Poco/JSON/Array.h>

#include "InvalidToken.hpp"

namespace pier::token {

namespace {

bool isNumber(const Poco::Dynamic::Var& value) {
  return value.isNumeric() && !value.isBoolean();
}

std::string optionalString(const Poco::JSON::Object& claims, const std::string& name) {
  if (!claims.has(name) || claims.isNull(name)) return {};
  Poco::Dynamic::Var value = claims.get(name);
  if (!value.isString()) throw InvalidToken("the claim " + name + " is not a string");
  return value.extract<std::string>();
}

// A NumericDate (RFC 7519 section 2): seconds since the epoch, possibly fractional.
std::optional<double> numericDate(const Poco::JSON::Object& claims, const std::string& name) {
  if (!claims.has(name) || claims.isNull(name)) return std::nullopt;
  Poco::Dynamic::Var value = claims.get(name);
  if (!isNumber(value)) throw InvalidToken("the claim " + name + " is not a number");
  double seconds = value.convert<double>();
  if (!std::isfinite(seconds)) throw InvalidToken("the claim " + name + " is not a number");
  return seconds;
}

bool audienceHolds(const Poco::JSON::Object& claims, const std::string& service) {
  if (!claims.has("aud") || claims.isNull("aud")) return false;
  Poco::Dynamic::Var audience = claims.get("aud");
  if (audience.isString()) return audience.extract<std::string>() == service;
  Poco::JSON::Array::Ptr list = claims.getArray("aud");
  if (!list) throw InvalidToken("the claim aud is neither a string nor an array");
  bool found = false;
  for (std::size_t i = 0; i < list->size(); ++i) {
    Poco::Dynamic::Var entry = list->get(static_cast<unsigned>(i));
    if (!entry.isString()) throw InvalidToken("the claim aud holds something that is not a string");
    found = found || entry.extract<std::string>() == service;
  }
  return found;
}

std::string accessMember(const Poco::JSON::Object& entry, const std::string& name) {
  if (!entry.has(name) || !entry.get(name).isString())
    throw InvalidToken("an entry of the access claim has no string " + name);
  return entry.getValue<std::string>(name);
}

} // namespace

Claims Claims::check(const Poco::JSON::Object& claims, const ClaimRules& rules,
                     std::chrono::system_clock::time_point now) {
  if (optionalString(claims, "iss") != rules.issuer)
    throw InvalidToken("the token is from another issuer (iss)");
  if (!audienceHolds(claims, rules.service))
    throw InvalidToken("the token is meant for another service (aud)");

  double nowSeconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  double leeway = double(rules.leeway.count());
  auto expiry = numericDate(claims, "exp");
  // Distribution reads a missing exp as 0, long past: a token without an end is refused.
  if (!expiry) throw InvalidToken("the token has no expiry (exp)");
  if (nowSeconds > *expiry + leeway) throw InvalidToken("the token has expired (exp)");
  if (auto notBefore = numericDate(claims, "nbf"); notBefore && nowSeconds < *notBefore - leeway)
    throw InvalidToken("the token is not valid yet (nbf)");
  if (auto issuedAt = numericDate(claims, "iat"); issuedAt && *issuedAt > nowSeconds + leeway)
    throw InvalidToken("the token was issued in the future (iat)");

  Claims checked;
  checked.subject_ = optionalString(claims, "sub");
  if (!claims.has("access") || claims.isNull("access")) return checked;
  Poco::JSON::Array::Ptr access = claims.getArray("access");
  if (!access) throw InvalidToken("the access claim is not an array");
  for (std::size_t i = 0; i < access->size(); ++i) {
    Poco::JSON::Object::Ptr entry = access->getObject(static_cast<unsigned>(i));
    if (!entry) throw InvalidToken("an entry of the access claim is not an object");
    auto& actions = checked.actions_[{accessMember(*entry, "type"), accessMember(*entry, "name")}];
    if (!entry->has("actions") || entry->isNull("actions")) continue;
    Poco::JSON::Array::Ptr list = entry->getArray("actions");
    if (!list) throw InvalidToken("the actions of an access entry are not an array");
    for (std::size_t j = 0; j < list->size(); ++j) {
      Poco::Dynamic::Var action = list->get(static_cast<unsigned>(j));
      if (!action.isString()) throw InvalidToken("an action of an access entry is not a string");
      actions.insert(action.extract<std::string>());
    }
  }
  return checked;
}

bool Claims::grants(const Access& wanted) const {
  auto found = actions_.find({wanted.type, wanted.name});
  if (found == actions_.end()) return false;
  return found->second.count("*") > 0 || found->second.count(wanted.action) > 0;
}

} // namespace pier::token
