#pragma once

// The claims of a verified token (Distribution's token format): who it was
// issued to, by whom, for which service, for how long, and the access it grants.
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <Poco/JSON/Object.h>

#include <pier/access_controller.hpp>

namespace pier::token {

struct ClaimRules {
  std::string issuer;              // iss must be this
  std::string service;             // aud (a string or an array) must hold this
  std::chrono::seconds leeway{60}; // clock skew allowed on exp, nbf and iat
};

class Claims {
public:
  // Checks iss, aud, exp (required), nbf and iat at `now` and reads sub and
  // access; throws InvalidToken saying what is wrong.
  static Claims check(const Poco::JSON::Object& claims, const ClaimRules& rules,
                      std::chrono::system_clock::time_point now);

  const std::string& subject() const { return subject_; }
  // Whether the access claim grants the record: its type and name listed with
  // its action or with "*".
  bool grants(const Access& wanted) const;

private:
  std::string subject_;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> actions_; // (type, name) -> actions
};

} // namespace pier::token
