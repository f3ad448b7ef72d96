#include "JwtVerifier.hpp"

#include <optional>
#include <utility>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "Base64.hpp"
#include "InvalidToken.hpp"

namespace pier::token {

namespace {

// A header and claims nest a few levels; deeper input is no token and would only cost stack.
constexpr std::size_t kMaxJsonDepth = 16;

Poco::JSON::Object::Ptr jsonSegment(std::string_view segment, const char* what) {
  auto text = decodeBase64Url(segment);
  if (!text) throw InvalidToken(std::string("the ") + what + " is not base64url");
  try {
    Poco::JSON::Parser parser;
    parser.setDepth(kMaxJsonDepth);
    Poco::Dynamic::Var value = parser.parse(*text);
    if (value.type() == typeid(Poco::JSON::Object::Ptr)) return value.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
  }
  throw InvalidToken(std::string("the ") + what + " is not a JSON object");
}

// header.claims.signature, each a view into the token.
struct Segments {
  explicit Segments(std::string_view jwt) {
    std::size_t first = jwt.find('.');
    std::size_t second = first == std::string::npos ? first : jwt.find('.', first + 1);
    if (second == std::string::npos || jwt.find('.', second + 1) != std::string::npos)
      throw InvalidToken("a JWT has three segments separated by dots");
    header = jwt.substr(0, first);
    claims = jwt.substr(first + 1, second - first - 1);
    signature = jwt.substr(second + 1);
    signingInput = jwt.substr(0, second);
  }
  std::string_view header, claims, signature, signingInput;
};

std::string stringMember(const Poco::JSON::Object& header, const std::string& name) {
  if (!header.has(name)) return {};
  Poco::Dynamic::Var value = header.get(name);
  if (!value.isString()) throw InvalidToken("the header's \"" + name + "\" is not a string");
  return value.extract<std::string>();
}

} // namespace

const std::set<std::string>& supportedAlgorithms() {
  static const std::set<std::string> algorithms{"RS256", "RS384", "RS512", "ES256",
                                                "ES384", "ES512", "EdDSA"};
  return algorithms;
}

JwtVerifier::JwtVerifier(std::shared_ptr<const KeySet> keys, std::set<std::string> algorithms)
    : keys_(std::move(keys)), algorithms_(std::move(algorithms)) {}

Poco::JSON::Object::Ptr JwtVerifier::claimsOf(const std::string& jwt) {
  return jsonSegment(Segments(jwt).claims, "claims segment");
}

Poco::JSON::Object::Ptr JwtVerifier::verify(const std::string& jwt) const {
  Segments segments(jwt);
  Poco::JSON::Object::Ptr header = jsonSegment(segments.header, "header");
  Poco::JSON::Object::Ptr claims = jsonSegment(segments.claims, "claims segment");
  auto signature = decodeBase64Url(segments.signature);
  if (!signature) throw InvalidToken("the signature is not base64url");

  std::string algorithm = stringMember(*header, "alg");
  if (algorithm.empty()) throw InvalidToken("the header names no alg");
  if (algorithm == "none") throw InvalidToken("unsigned tokens (alg none) are not accepted");
  if (!algorithms_.count(algorithm)) throw InvalidToken("alg " + algorithm + " is not accepted");
  // An extension the token says must be understood is one this registry does not know (RFC 7515 4.1.11).
  if (header->has("crit")) throw InvalidToken("the header lists critical extensions (crit)");
  if (signature->empty()) throw InvalidToken("the token has no signature");

  std::shared_ptr<const PublicKey> key = signingKey(*header);
  if (!key->fits(algorithm))
    throw InvalidToken("alg " + algorithm + " does not fit the signing key, " + key->description());
  if (!key->verifies(jwt, algorithm, segments.signingInput, *signature))
    throw InvalidToken("the signature does not verify");
  return claims;
}

std::shared_ptr<const PublicKey> JwtVerifier::signingKey(const Poco::JSON::Object& header) const {
  // Distribution's order: a certificate chain first, then the key id.
  if (header.has("x5c")) {
    Poco::JSON::Array::Ptr list = header.getArray("x5c");
    if (!list) throw InvalidToken("the header's x5c is not an array");
    std::vector<std::string> chain;
    for (std::size_t i = 0; i < list->size(); ++i) {
      Poco::Dynamic::Var entry = list->get(static_cast<unsigned>(i));
      std::optional<std::string> der;
      if (entry.isString()) der = decodeBase64(entry.extract<std::string>());
      if (!der || der->empty()) throw InvalidToken("x5c entries are base64 DER certificates");
      chain.push_back(std::move(*der));
    }
    return keys_->verifyChain(chain);
  }
  std::string kid = stringMember(header, "kid");
  if (kid.empty()) throw InvalidToken("the header has neither x5c nor kid: no key to verify it with");
  if (auto key = keys_->byKeyId(kid)) return key;
  throw InvalidToken("kid names no trusted key");
}

} // namespace pier::token
