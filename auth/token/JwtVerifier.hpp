#pragma once

// Checks a JWT's form and signature: three base64url segments, a header and
// claims that are JSON objects, an algorithm the registry accepts, a key the
// header names that the registry trusts (an x5c chain to the root bundle, or
// a kid), and the signature under that key.
#include <memory>
#include <set>
#include <string>

#include <Poco/JSON/Object.h>

#include "KeySet.hpp"

namespace pier::token {

// The JWS algorithms tokens may be signed with (RFC 7518, RFC 8037).
const std::set<std::string>& supportedAlgorithms();

class JwtVerifier {
public:
  // algorithms: those accepted (auth.token.signingalgorithms), a subset of supportedAlgorithms().
  JwtVerifier(std::shared_ptr<const KeySet> keys, std::set<std::string> algorithms);

  // The claims of a token whose signature verifies; throws InvalidToken saying why not.
  Poco::JSON::Object::Ptr verify(const std::string& jwt) const;

  // The claims of a token verify() accepted before, without checking its
  // signature again; throws InvalidToken for what is no JWT.
  static Poco::JSON::Object::Ptr claimsOf(const std::string& jwt);

private:
  std::shared_ptr<const PublicKey> signingKey(const Poco::JSON::Object& header) const;

  std::shared_ptr<const KeySet> keys_;
  std::set<std::string> algorithms_;
};

} // namespace pier::token
