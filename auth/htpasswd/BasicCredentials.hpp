#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pier::htpasswd {

struct BasicCredentials {
  std::string user;
  std::string password;
};

// The credentials of an "Authorization: Basic <base64(user:password)>"
// header (RFC 7617), or nothing when the header is anything else: another
// scheme, base64 that is not canonical (characters outside the alphabet,
// missing padding), no colon, an empty user, or a NUL byte (crypt would
// read the password only up to it).
std::optional<BasicCredentials> parseBasicAuthorization(std::string_view header);

} // namespace pier::htpasswd
