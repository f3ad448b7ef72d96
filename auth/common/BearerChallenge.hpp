#pragma once

// The Bearer challenge of Docker's token authentication (RFC 6750 section 3),
// as the access controllers in auth/ send it in WWW-Authenticate:
//   Bearer realm="…",service="…",scope="repository:lib/app:pull,push repository:src/x:pull"
#include <string>
#include <string_view>
#include <vector>

#include <pier/access_controller.hpp>

namespace pier::auth {

// The scope parameter for the access records: one "type:name:actions" per
// resource, in the order the resources first appear, each resource's actions
// joined by commas in the order they first appear, resources separated by
// spaces. "" when wanted is empty.
std::string scopeParameter(const std::vector<Access>& wanted);

// text as an HTTP quoted-string: '"' and '\' escaped, control characters dropped.
std::string quotedString(std::string_view text);

struct BearerChallenge {
  std::string realm;
  std::string service;
  std::string error; // "invalid_token", "insufficient_scope" or "" (no token was given)

  // The WWW-Authenticate value; without a scope parameter when wanted is empty.
  std::string header(const std::vector<Access>& wanted) const;
};

// The token of an "Authorization: Bearer <token>" header (scheme case-insensitive,
// blanks before the scheme and the token skipped); "" for anything else.
std::string parseBearerAuthorization(std::string_view header);

// A 401 UNAUTHORIZED result with the challenge; message "" keeps the code's own.
AuthResult unauthorized(const BearerChallenge& challenge, const std::vector<Access>& wanted,
                        std::string message = {});

} // namespace pier::auth
