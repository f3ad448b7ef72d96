#pragma once

// A key tokens may be signed with: RSA, EC P-256/P-384/P-521 or Ed25519, as
// an OpenSSL EVP_PKEY, with the ids Distribution gives it and the signature
// check for each JWS algorithm.
#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include <Poco/Crypto/ECKey.h>
#include <Poco/Crypto/RSAKey.h>
#include <Poco/SharedPtr.h>

#include "OpenSsl.hpp"

namespace pier::token {

using EvpKey = OpenSsl<EVP_PKEY, EVP_PKEY_free>;

enum class KeyType { rsa, ecP256, ecP384, ecP521, ed25519 };

class PublicKey {
public:
  // Throws std::runtime_error for a key of another type (DSA, RSA-PSS, Ed448, other curves).
  // requiredAlgorithm: a JWK's "alg", the only algorithm the key may then verify; "" for any that fits.
  explicit PublicKey(EvpKey key, std::string requiredAlgorithm = {});

  KeyType type() const { return type_; }
  std::string description() const; // "RSA 2048", "EC P-256", "Ed25519"

  // Whether the JWS algorithm belongs to this key's type: RS256/384/512 to
  // RSA, ES256 to P-256, ES384 to P-384, ES512 to P-521, EdDSA to Ed25519.
  bool fits(const std::string& algorithm) const;

  // Whether signature verifies jwt (compact serialization) under algorithm,
  // which must fit. signingInput is jwt's "header.payload", signature its
  // decoded third segment.
  bool verifies(const std::string& jwt, const std::string& algorithm, std::string_view signingInput,
                std::string_view signature) const;

  // Distribution 2.x's kid for a key (libtrust): SHA-256 of the DER
  // SubjectPublicKeyInfo, its first 240 bits in base32, in 12 groups of 4 joined by ':'.
  std::string libtrustKeyId() const;
  // The RFC 7638 JWK thumbprint (SHA-256, base64url): Distribution 3.x's kid
  // for a certificate of the bundle.
  std::string jwkThumbprint() const;

private:
  EvpKey key_;
  KeyType type_;
  std::string requiredAlgorithm_;
  // Poco's copies of the key, made once, for RS* and ES* through Poco::JWT.
  Poco::SharedPtr<Poco::Crypto::RSAKey> pocoRsa_;
  Poco::SharedPtr<Poco::Crypto::ECKey> pocoEc_;
};

} // namespace pier::token
