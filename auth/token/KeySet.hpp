#pragma once

// The keys tokens may be signed with: the certificates of the root bundle
// (trust anchors for x5c chains, and keys by kid) and the keys of a JWKS file.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "PublicKey.hpp"

namespace pier::token {

class KeySet {
public:
  // Reads the PEM bundle and the JWKS file (either path may be "": not
  // configured). Throws ConfigError naming auth.token.rootcertbundle or
  // auth.token.jwks when one cannot be read or parsed, or when neither holds a key.
  static std::shared_ptr<const KeySet> load(const std::string& rootCertBundle, const std::string& jwks);

  // The key a token's kid names: the libtrust id or JWK thumbprint of a
  // bundle certificate's key, or a JWKS key's kid or thumbprint. Null when none.
  std::shared_ptr<const PublicKey> byKeyId(const std::string& kid) const;

  // The leaf's key once the chain (DER certificates, leaf first, as x5c
  // lists them) verifies to a certificate of the bundle. Throws InvalidToken.
  std::shared_ptr<const PublicKey> verifyChain(const std::vector<std::string>& derCertificates) const;

private:
  void addKey(const std::string& id, const std::shared_ptr<const PublicKey>& key,
              const std::string& configKey);
  void loadBundle(const std::string& path);
  void loadJwks(const std::string& path);

  OpenSsl<X509_STORE, X509_STORE_free> roots_;
  std::map<std::string, std::shared_ptr<const PublicKey>> keysById_;
};

} // namespace pier::token
