#pragma once

#include <stdexcept>

namespace pier::token {

// A token the registry does not accept; what() says why, for the log and the
// error message (never a secret, never the token).
class InvalidToken : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace pier::token
