#pragma once

#include <string>

namespace pier::htpasswd {

// Whether password hashes to `hash` (a bcrypt hash of the kind isBcryptHash
// accepts) with libcrypt, comparing the result in constant time. False when
// crypt refuses the hash.
bool bcryptMatches(const std::string& password, const std::string& hash);

} // namespace pier::htpasswd
