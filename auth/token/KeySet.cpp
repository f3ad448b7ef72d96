#include "KeySet.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <pier/errors.hpp>

#include "Base64.hpp"
#include "InvalidToken.hpp"

namespace pier::token {

namespace {

const std::string kBundleKey = "auth.token.rootcertbundle";
const std::string kJwksKey = "auth.token.jwks";
constexpr std::size_t kMaxChainLength = 10;

using Certificate = OpenSsl<X509, X509_free>;
using KeyContext = OpenSsl<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using Bignum = OpenSsl<BIGNUM, BN_free>;

void freeCertificates(STACK_OF(X509) * stack) {
  sk_X509_pop_free(stack, X509_free);
}

std::string readWholeFile(const std::string& path, const std::string& configKey) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(configKey + ": cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw ConfigError(configKey + ": cannot read " + path);
  return content.str();
}

std::string openSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// --- JWKS --------------------------------------------------------------------

[[noreturn]] void failJwk(std::size_t index, const std::string& what) {
  throw ConfigError(kJwksKey + ": keys[" + std::to_string(index) + "]: " + what);
}

std::string member(const Poco::JSON::Object& jwk, const std::string& name, std::size_t index) {
  if (!jwk.has(name) || !jwk.get(name).isString()) failJwk(index, "\"" + name + "\" must be a string");
  return jwk.getValue<std::string>(name);
}

std::string base64UrlMember(const Poco::JSON::Object& jwk, const std::string& name, std::size_t index) {
  auto bytes = decodeBase64Url(member(jwk, name, index));
  if (!bytes || bytes->empty()) failJwk(index, "\"" + name + "\" is not base64url");
  return *bytes;
}

EvpKey keyFromParams(const char* type, OSSL_PARAM_BLD* builder, std::size_t index) {
  OpenSsl<OSSL_PARAM, OSSL_PARAM_free> params(OSSL_PARAM_BLD_to_param(builder));
  KeyContext context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    failJwk(index, std::string("not a valid ") + type + " key: " + openSslError());
  EvpKey owned(key);
  KeyContext check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    failJwk(index, std::string("not a valid ") + type + " key: " + openSslError());
  return owned;
}

BIGNUM* pushBignum(OSSL_PARAM_BLD* builder, const char* name, const std::string& bytes,
                   std::vector<Bignum>& keepAlive) {
  BIGNUM* number =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()), nullptr);
  if (number) keepAlive.emplace_back(number);
  if (!number || OSSL_PARAM_BLD_push_BN(builder, name, number) != 1) return nullptr;
  return number;
}

// RSA (n, e), EC (crv P-256/P-384/P-521, x, y) and OKP (crv Ed25519, x), as RFC 7518 and 8037 define them.
EvpKey keyOfJwk(const Poco::JSON::Object& jwk, std::size_t index) {
  std::string kty = member(jwk, "kty", index);
  OpenSsl<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> builder(OSSL_PARAM_BLD_new());
  if (!builder) throw std::bad_alloc();
  if (kty == "RSA") {
    std::vector<Bignum> numbers;
    if (!pushBignum(builder.get(), OSSL_PKEY_PARAM_RSA_N, base64UrlMember(jwk, "n", index), numbers) ||
        !pushBignum(builder.get(), OSSL_PKEY_PARAM_RSA_E, base64UrlMember(jwk, "e", index), numbers))
      failJwk(index, "cannot read n and e");
    return keyFromParams("RSA", builder.get(), index);
  }
  std::string curve = member(jwk, "crv", index);
  if (kty == "EC") {
    std::size_t size = curve == "P-256" ? 32 : curve == "P-384" ? 48 : curve == "P-521" ? 66 : 0;
    if (size == 0) failJwk(index, "curve \"" + curve + "\" is not P-256, P-384 or P-521");
    std::string x = base64UrlMember(jwk, "x", index), y = base64UrlMember(jwk, "y", index);
    if (x.size() != size || y.size() != size)
      failJwk(index, "x and y must be " + std::to_string(size) + " bytes each for " + curve);
    std::string point = '\x04' + x + y; // uncompressed (SEC 1 section 2.3.3)
    if (OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.c_str(), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1)
      failJwk(index, "cannot read the EC point");
    return keyFromParams("EC", builder.get(), index);
  }
  if (kty == "OKP") {
    if (curve != "Ed25519") failJwk(index, "curve \"" + curve + "\" is not Ed25519");
    std::string x = base64UrlMember(jwk, "x", index);
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char*>(x.data()), x.size());
    if (!key) failJwk(index, "not a valid Ed25519 key: " + openSslError());
    return EvpKey(key);
  }
  failJwk(index, "kty \"" + kty + "\" is not RSA, EC or OKP");
}

} // namespace

std::shared_ptr<const KeySet> KeySet::load(const std::string& rootCertBundle, const std::string& jwks) {
  auto keys = std::shared_ptr<KeySet>(new KeySet);
  keys->roots_.reset(X509_STORE_new());
  if (!keys->roots_) throw std::bad_alloc();
  // Any certificate of the bundle is a trust anchor, a root or not, as Go's x509.CertPool is for
  // Distribution.
  X509_STORE_set_flags(keys->roots_.get(), X509_V_FLAG_PARTIAL_CHAIN);
  if (!rootCertBundle.empty()) keys->loadBundle(rootCertBundle);
  if (!jwks.empty()) keys->loadJwks(jwks);
  if (keys->keysById_.empty()) {
    if (!rootCertBundle.empty())
      throw ConfigError(kBundleKey + ": " + rootCertBundle +
                        " holds no certificate with an RSA, EC or Ed25519 key" +
                        (jwks.empty() ? "" : ", and " + jwks + " no key"));
    if (!jwks.empty()) throw ConfigError(kJwksKey + ": " + jwks + " holds no key");
    throw ConfigError(kBundleKey + ": is required (or auth.token.jwks): the keys tokens are signed with");
  }
  return keys;
}

void KeySet::addKey(const std::string& id, const std::shared_ptr<const PublicKey>& key,
                    const std::string& configKey) {
  auto [existing, added] = keysById_.emplace(id, key);
  if (!added && existing->second->jwkThumbprint() != key->jwkThumbprint())
    throw ConfigError(configKey + ": the key id \"" + id + "\" names two different keys");
}

void KeySet::loadBundle(const std::string& path) {
  std::string pem = readWholeFile(path, kBundleKey);
  OpenSsl<BIO, BIO_free_all> bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) throw std::bad_alloc();
  std::size_t count = 0;
  ERR_clear_error();
  // Blocks other than certificates are skipped, as Distribution skips them.
  while (Certificate certificate{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    ++count;
    if (X509_STORE_add_cert(roots_.get(), certificate.get()) != 1)
      throw ConfigError(kBundleKey + ": cannot use certificate " + std::to_string(count) + " of " + path +
                        ": " + openSslError());
    // A certificate whose key cannot sign tokens may still be the root of an x5c chain.
    EVP_PKEY* key = X509_get_pubkey(certificate.get());
    try {
      auto publicKey = std::make_shared<const PublicKey>(EvpKey(key));
      addKey(publicKey->libtrustKeyId(), publicKey, kBundleKey);
      addKey(publicKey->jwkThumbprint(), publicKey, kBundleKey);
    } catch (const ConfigError&) {
      throw;
    } catch (const std::exception&) {
    }
  }
  unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)
    ERR_clear_error(); // the end of the file
  else if (last != 0)
    throw ConfigError(kBundleKey + ": cannot parse certificate " + std::to_string(count + 1) + " of " + path +
                      ": " + openSslError());
  if (count == 0) throw ConfigError(kBundleKey + ": " + path + " holds no PEM certificate");
}

void KeySet::loadJwks(const std::string& path) {
  std::string text = readWholeFile(path, kJwksKey);
  Poco::JSON::Object::Ptr document;
  try {
    document = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception& error) {
    throw ConfigError(kJwksKey + ": " + path + " is not a JSON object: " + error.what());
  }
  Poco::JSON::Array::Ptr list = document->getArray("keys");
  if (!list) throw ConfigError(kJwksKey + ": " + path + " has no \"keys\" array");
  for (std::size_t index = 0; index < list->size(); ++index) {
    Poco::JSON::Object::Ptr jwk = list->getObject(static_cast<unsigned>(index));
    if (!jwk) failJwk(index, "must be a JSON object");
    std::string algorithm = jwk->has("alg") ? member(*jwk, "alg", index) : "";
    std::shared_ptr<const PublicKey> key;
    try {
      key = std::make_shared<const PublicKey>(keyOfJwk(*jwk, index), algorithm);
    } catch (const ConfigError&) {
      throw;
    } catch (const std::exception& error) {
      failJwk(index, error.what());
    }
    if (jwk->has("kid")) addKey(member(*jwk, "kid", index), key, kJwksKey);
    addKey(key->jwkThumbprint(), key, kJwksKey);
  }
}

std::shared_ptr<const PublicKey> KeySet::byKeyId(const std::string& kid) const {
  auto found = keysById_.find(kid);
  return found == keysById_.end() ? nullptr : found->second;
}

std::shared_ptr<const PublicKey> KeySet::verifyChain(const std::vector<std::string>& derCertificates) const {
  if (derCertificates.empty()) throw InvalidToken("the x5c chain is empty");
  if (derCertificates.size() > kMaxChainLength)
    throw InvalidToken("the x5c chain is longer than 10 certificates");
  std::vector<Certificate> chain;
  for (const auto& der : derCertificates) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
    const unsigned char* end = bytes;
    Certificate certificate(d2i_X509(nullptr, &end, long(der.size())));
    if (!certificate || end != bytes + der.size()) {
      ERR_clear_error();
      throw InvalidToken("x5c holds something that is not a DER certificate");
    }
    chain.push_back(std::move(certificate));
  }
  OpenSsl<STACK_OF(X509), freeCertificates> intermediates(sk_X509_new_null());
  if (!intermediates) throw std::bad_alloc();
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (!sk_X509_push(intermediates.get(), chain[i].get())) throw std::bad_alloc();
    chain[i].release(); // the stack owns it now
  }
  OpenSsl<X509_STORE_CTX, X509_STORE_CTX_free> context(X509_STORE_CTX_new());
  if (!context || X509_STORE_CTX_init(context.get(), roots_.get(), chain[0].get(), intermediates.get()) != 1)
    throw std::bad_alloc();
  if (X509_verify_cert(context.get()) != 1) {
    int error = X509_STORE_CTX_get_error(context.get());
    ERR_clear_error();
    throw InvalidToken(std::string("the x5c chain does not verify to a certificate of the bundle: ") +
                       X509_verify_cert_error_string(error));
  }
  try {
    return std::make_shared<const PublicKey>(EvpKey(X509_get_pubkey(chain[0].get())));
  } catch (const std::exception& error) {
    throw InvalidToken(std::string("the x5c leaf holds ") + error.what());
  }
}

} // namespace pier::token
