#include "PublicKey.hpp"

#include <stdexcept>
#include <utility>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>

#include <Poco/Crypto/EVPPKey.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include "Base64.hpp"

namespace pier::token {

namespace {

// What each key type means to JWS and JWK (RFC 7518, RFC 8037).
struct KeyTraits {
  KeyType type;
  const char* description;
  const char* curve;          // JWK crv; "" for RSA
  std::size_t coordinateSize; // of x, y, r and s; 0 for RSA and Ed25519
  const char* algorithm;      // the one JWS algorithm; "" for RSA, which has three
};
constexpr KeyTraits kTraits[] = {
    {KeyType::rsa, "RSA", "", 0, ""},
    {KeyType::ecP256, "EC P-256", "P-256", 32, "ES256"},
    {KeyType::ecP384, "EC P-384", "P-384", 48, "ES384"},
    {KeyType::ecP521, "EC P-521", "P-521", 66, "ES512"},
    {KeyType::ed25519, "Ed25519", "Ed25519", 0, "EdDSA"},
};

const KeyTraits& traitsOf(KeyType type) {
  for (const auto& traits : kTraits)
    if (traits.type == type) return traits;
  throw std::logic_error("a key type without traits");
}

KeyType typeOf(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
  case EVP_PKEY_RSA:
    return KeyType::rsa;
  case EVP_PKEY_ED25519:
    return KeyType::ed25519;
  case EVP_PKEY_EC: {
    char curve[80] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve, &length) != 1)
      throw std::runtime_error("an EC key without a named curve");
    // OpenSSL names the curves by their SEC 2 names, or as a key was imported.
    std::string name(curve, length);
    if (name == "prime256v1" || name == "P-256") return KeyType::ecP256;
    if (name == "secp384r1" || name == "P-384") return KeyType::ecP384;
    if (name == "secp521r1" || name == "P-521") return KeyType::ecP521;
    throw std::runtime_error("an EC key on curve " + name + ", not P-256, P-384 or P-521");
  }
  default:
    throw std::runtime_error("a key that is neither RSA, EC nor Ed25519");
  }
}

std::string sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return std::string(reinterpret_cast<char*>(digest), length);
}

// A big-endian parameter of the key; padded to `size` bytes when size > 0.
std::string bignumParameter(EVP_PKEY* key, const char* name, std::size_t size = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1)
    throw std::runtime_error(std::string("no key parameter ") + name);
  OpenSsl<BIGNUM, BN_free> number(raw);
  std::string bytes(size > 0 ? size : std::size_t(BN_num_bytes(number.get())), '\0');
  auto* out = reinterpret_cast<unsigned char*>(bytes.data());
  if (size > 0 ? BN_bn2binpad(number.get(), out, int(size)) < 0 : BN_bn2bin(number.get(), out) < 0)
    throw std::runtime_error(std::string("cannot encode key parameter ") + name);
  return bytes;
}

bool verifiesEdDsa(EVP_PKEY* key, std::string_view signingInput, std::string_view signature) {
  OpenSsl<EVP_MD_CTX, EVP_MD_CTX_free> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key) != 1) return false;
  return EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(signingInput.data()),
                          signingInput.size()) == 1;
}

// Poco::JWT checks the signature, allowed only the one algorithm the header
// names and the key fits: Poco would take ES384 or ES512 from a P-256 key.
template <typename PocoKey>
bool verifiesWithPoco(const Poco::SharedPtr<PocoKey>& key, const std::string& jwt,
                      const std::string& algorithm) {
  Poco::JWT::Signer signer(key);
  signer.setAlgorithms({algorithm});
  Poco::JWT::Token token;
  try {
    return signer.tryVerify(jwt, token);
  } catch (const std::exception&) {
    return false; // it parses the token again, and throws on what it cannot parse
  }
}

} // namespace

PublicKey::PublicKey(EvpKey key, std::string requiredAlgorithm)
    : key_(std::move(key)), requiredAlgorithm_(std::move(requiredAlgorithm)) {
  if (!key_) throw std::runtime_error("no key");
  type_ = typeOf(key_.get());
  if (!requiredAlgorithm_.empty() && !fits(requiredAlgorithm_))
    throw std::runtime_error("alg " + requiredAlgorithm_ + " does not fit a " + description() + " key");
  // Poco::Crypto copies RSA and EC keys only (an Ed25519 key is "not implemented").
  if (type_ == KeyType::rsa) pocoRsa_ = new Poco::Crypto::RSAKey(Poco::Crypto::EVPPKey(key_.get()));
  if (traitsOf(type_).coordinateSize > 0)
    pocoEc_ = new Poco::Crypto::ECKey(Poco::Crypto::EVPPKey(key_.get()));
}

std::string PublicKey::description() const {
  std::string description = traitsOf(type_).description;
  if (type_ == KeyType::rsa) {
    description += ' ';
    description += std::to_string(EVP_PKEY_get_bits(key_.get()));
  }
  return description;
}

bool PublicKey::fits(const std::string& algorithm) const {
  if (!requiredAlgorithm_.empty() && algorithm != requiredAlgorithm_) return false;
  if (type_ == KeyType::rsa) return algorithm == "RS256" || algorithm == "RS384" || algorithm == "RS512";
  return algorithm == traitsOf(type_).algorithm;
}

bool PublicKey::verifies(const std::string& jwt, const std::string& algorithm, std::string_view signingInput,
                         std::string_view signature) const {
  if (!fits(algorithm)) return false;
  if (type_ == KeyType::rsa) return verifiesWithPoco(pocoRsa_, jwt, algorithm);
  if (type_ == KeyType::ed25519) return verifiesEdDsa(key_.get(), signingInput, signature);
  // Poco reads r and s as the two halves of the signature: only the exact length is one.
  if (signature.size() != 2 * traitsOf(type_).coordinateSize) return false;
  return verifiesWithPoco(pocoEc_, jwt, algorithm);
}

std::string PublicKey::libtrustKeyId() const {
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key_.get(), &der);
  if (length <= 0) throw std::runtime_error("cannot encode the public key");
  std::string info(reinterpret_cast<char*>(der), std::size_t(length));
  OPENSSL_free(der);
  std::string encoded = encodeBase32(sha256(info).substr(0, 30));
  std::string id;
  for (std::size_t i = 0; i < encoded.size(); i += 4) {
    if (i > 0) id += ':';
    id += encoded.substr(i, 4);
  }
  return id;
}

std::string PublicKey::jwkThumbprint() const {
  // The required members only, in lexicographic order, without whitespace (RFC 7638 section 3).
  std::string members;
  if (type_ == KeyType::rsa) {
    members = "{\"e\":\"" + encodeBase64Url(bignumParameter(key_.get(), OSSL_PKEY_PARAM_RSA_E)) +
              "\",\"kty\":\"RSA\",\"n\":\"" +
              encodeBase64Url(bignumParameter(key_.get(), OSSL_PKEY_PARAM_RSA_N)) + "\"}";
  } else if (type_ == KeyType::ed25519) {
    unsigned char raw[32];
    std::size_t length = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &length) != 1)
      throw std::runtime_error("cannot read the Ed25519 key");
    members = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"" +
              encodeBase64Url(std::string_view(reinterpret_cast<char*>(raw), length)) + "\"}";
  } else {
    const KeyTraits& traits = traitsOf(type_);
    members = std::string("{\"crv\":\"") + traits.curve + "\",\"kty\":\"EC\",\"x\":\"" +
              encodeBase64Url(bignumParameter(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, traits.coordinateSize)) +
              "\",\"y\":\"" +
              encodeBase64Url(bignumParameter(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, traits.coordinateSize)) +
              "\"}";
  }
  return encodeBase64Url(sha256(members));
}

} // namespace pier::token
