#include "TestTokens.hpp"

#include <algorithm>
#include <ctime>
#include <memory>
#include <regex>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ApiClient.hpp"

namespace pier::test {

namespace {

template <typename T, void (*Free)(T*)> struct Deleter {
  void operator()(T* pointer) const { Free(pointer); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSignature = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

Key readPrivateKey(const std::filesystem::path& file) {
  std::string pem = readFile(file);
  std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  check(key != nullptr, "reading the private key");
  return key;
}

std::string runOpenssl(const std::vector<std::string>& arguments) {
  CommandResult result = runCommand("/usr/bin/openssl", arguments);
  if (result.exitCode != 0) throw std::runtime_error("openssl failed: " + result.output);
  return result.output;
}

// The DER SubjectPublicKeyInfo of a private key's public half, by `openssl pkey`.
std::string publicKeyDer(const std::filesystem::path& privateKey) {
  std::filesystem::path der = privateKey;
  der.replace_extension(".pub.der");
  runOpenssl({"pkey", "-in", privateKey.string(), "-pubout", "-outform", "DER", "-out", der.string()});
  return readFile(der);
}

std::string fromHex(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes += char(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

std::string sha256(const std::string& bytes) {
  unsigned char digest[32];
  unsigned int length = 0;
  check(EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) == 1, "SHA-256");
  return std::string(reinterpret_cast<char*>(digest), length);
}

// The members of the key's JWK, in the lexicographic order RFC 7638 wants.
std::string jwkMembers(const std::filesystem::path& privateKey) {
  Key key = readPrivateKey(privateKey);
  std::string der = publicKeyDer(privateKey);
  switch (EVP_PKEY_get_base_id(key.get())) {
  case EVP_PKEY_RSA: {
    std::filesystem::path pub = privateKey;
    pub.replace_extension(".pub.pem");
    runOpenssl({"pkey", "-in", privateKey.string(), "-pubout", "-out", pub.string()});
    std::string modulus = runOpenssl({"rsa", "-pubin", "-in", pub.string(), "-noout", "-modulus"});
    modulus = modulus.substr(modulus.find('=') + 1);
    modulus = modulus.substr(0, modulus.find_first_of("\r\n"));
    // genpkey's public exponent is 65537.
    return "\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" + base64Url(fromHex(modulus)) + "\"";
  }
  case EVP_PKEY_ED25519:
    // The DER ends with the 32-byte public key.
    return "\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"" + base64Url(der.substr(der.size() - 32)) + "\"";
  case EVP_PKEY_EC: {
    // The DER ends with the uncompressed point 04 || x || y.
    std::size_t size = EVP_PKEY_get_bits(key.get()) == 256 ? 32 : 48;
    std::string point = der.substr(der.size() - 2 * size);
    return std::string("\"crv\":\"") + (size == 32 ? "P-256" : "P-384") + "\",\"kty\":\"EC\",\"x\":\"" +
           base64Url(point.substr(0, size)) + "\",\"y\":\"" + base64Url(point.substr(size)) + "\"";
  }
  }
  throw std::invalid_argument("a key that is neither RSA, EC nor Ed25519");
}

const EVP_MD* digestOf(const std::string& alg) {
  if (alg == "EdDSA") return nullptr;
  if (alg.ends_with("256")) return EVP_sha256();
  if (alg.ends_with("384")) return EVP_sha384();
  if (alg.ends_with("512")) return EVP_sha512();
  throw std::invalid_argument("unknown alg " + alg);
}

// "repository:lib/app:pull,push" -> {"type":"repository","name":"lib/app","actions":["pull","push"]}
std::string accessEntry(const std::string& scope) {
  std::size_t first = scope.find(':'), last = scope.rfind(':');
  std::string actions;
  std::string list = scope.substr(last + 1);
  for (std::size_t start = 0; start <= list.size();) {
    std::size_t comma = std::min(list.find(',', start), list.size());
    actions += (actions.empty() ? "\"" : ",\"") + list.substr(start, comma - start) + "\"";
    start = comma + 1;
  }
  return "{\"type\":\"" + scope.substr(0, first) + "\",\"name\":\"" +
         scope.substr(first + 1, last - first - 1) + "\",\"actions\":[" + actions + "]}";
}

} // namespace

std::string TokenClaims::json() const {
  long long now = std::time(nullptr);
  std::string access = accessJson;
  if (access.empty()) {
    for (const auto& scope : scopes) {
      if (!access.empty()) access += ',';
      access += accessEntry(scope);
    }
    access = "[" + access + "]";
  }
  std::string text = "{\"iss\":\"" + issuer + "\",\"sub\":\"" + subject + "\",\"aud\":" + audienceJson;
  if (expiresIn) text += ",\"exp\":" + std::to_string(now + *expiresIn);
  if (notBeforeIn) text += ",\"nbf\":" + std::to_string(now + *notBeforeIn);
  if (issuedIn) text += ",\"iat\":" + std::to_string(now + *issuedIn);
  return text + ",\"jti\":\"" + std::to_string(now) + "\",\"access\":" + access + extraJson + "}";
}

std::string kidHeader(const std::string& alg, const std::string& kid) {
  return "{\"typ\":\"JWT\",\"alg\":\"" + alg + "\",\"kid\":\"" + kid + "\"}";
}

std::string x5cHeader(const std::string& alg, const std::vector<std::filesystem::path>& chain) {
  std::string entries;
  for (const auto& certificate : chain)
    entries += (entries.empty() ? "\"" : ",\"") + x5cEntry(certificate) + "\"";
  return "{\"typ\":\"JWT\",\"alg\":\"" + alg + "\",\"x5c\":[" + entries + "]}";
}

std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string errorMessage(const HttpResponse& response) {
  try {
    return parseJson(response.body)->getArray("errors")->getObject(0)->getValue<std::string>("message");
  } catch (const std::exception&) {
    return "<no error message>";
  }
}

::testing::AssertionResult isChallenge(const HttpResponse& response, const std::string& scope,
                                       const std::string& error, const std::string& realm,
                                       const std::string& service) {
  if (auto problem = api::isError(response, 401, "UNAUTHORIZED"); !problem) return problem;
  std::string header = response.header("WWW-Authenticate");
  std::map<std::string, std::string> expected{{"realm", realm}, {"service", service}};
  if (!scope.empty()) expected["scope"] = scope;
  if (!error.empty()) expected["error"] = error;
  if (bearerChallenge(header) != expected)
    return ::testing::AssertionFailure() << "challenge " << header << "; message " << errorMessage(response);
  return ::testing::AssertionSuccess();
}

std::string base64Url(std::string_view bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string text;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    unsigned long group = 0;
    for (std::size_t j = 0; j < 3; ++j)
      group = (group << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0);
    for (std::size_t j = 0; j <= n; ++j) text += alphabet[(group >> (18 - 6 * j)) & 0x3f];
  }
  return text;
}

std::string signJwt(const std::string& headerJson, const std::string& claimsJson,
                    const std::filesystem::path& privateKey, const std::string& alg) {
  std::string input = base64Url(headerJson) + "." + base64Url(claimsJson);
  Key key = readPrivateKey(privateKey);
  DigestContext context(EVP_MD_CTX_new());
  check(EVP_DigestSignInit(context.get(), nullptr, digestOf(alg), nullptr, key.get()) == 1, "sign init");
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  check(EVP_DigestSign(context.get(), nullptr, &length, data, input.size()) == 1, "sign (length)");
  std::string signature(length, '\0');
  check(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                       input.size()) == 1,
        "sign");
  signature.resize(length);
  if (alg.starts_with("ES")) {
    // OpenSSL writes ECDSA signatures in DER; JWS wants r and s, each as long as a coordinate.
    const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
    EcdsaSignature parsed(d2i_ECDSA_SIG(nullptr, &der, long(signature.size())));
    check(parsed != nullptr, "reading the ECDSA signature");
    int size = (EVP_PKEY_get_bits(key.get()) + 7) / 8;
    std::string raw(2 * std::size_t(size), '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    check(BN_bn2binpad(ECDSA_SIG_get0_r(parsed.get()), out, size) == size &&
              BN_bn2binpad(ECDSA_SIG_get0_s(parsed.get()), out + size, size) == size,
          "encoding r and s");
    signature = raw;
  }
  return input + "." + base64Url(signature);
}

std::string x5cEntry(const std::filesystem::path& certificate) {
  std::filesystem::path der = certificate;
  der.replace_extension(".der");
  runOpenssl({"x509", "-in", certificate.string(), "-outform", "DER", "-out", der.string()});
  std::string url = base64Url(readFile(der));
  // base64url to standard base64 with padding
  for (char& c : url) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (url.size() % 4 != 0) url += '=';
  return url;
}

std::string publicJwk(const std::filesystem::path& privateKey, const std::string& kid) {
  std::string members = jwkMembers(privateKey);
  if (!kid.empty()) members += ",\"kid\":\"" + kid + "\"";
  return "{" + members + "}";
}

std::string jwkThumbprint(const std::filesystem::path& privateKey) {
  std::string members = jwkMembers(privateKey);
  return base64Url(sha256("{" + members + "}"));
}

std::string libtrustKeyId(const std::filesystem::path& privateKey) {
  std::string hash = sha256(publicKeyDer(privateKey)).substr(0, 30);
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string id;
  // 240 bits are 48 base32 digits: read 5 bits at a time, most significant first.
  for (std::size_t bit = 0; bit < hash.size() * 8; bit += 5) {
    int value = 0;
    for (std::size_t b = bit; b < bit + 5; ++b)
      value = (value << 1) | ((static_cast<unsigned char>(hash[b / 8]) >> (7 - b % 8)) & 1);
    if (bit > 0 && bit % 20 == 0) id += ':';
    id += alphabet[value];
  }
  return id;
}

std::map<std::string, std::string> bearerChallenge(const std::string& wwwAuthenticate) {
  std::map<std::string, std::string> parameters;
  if (!wwwAuthenticate.starts_with("Bearer ")) return parameters;
  static const std::regex parameter(R"re(([a-z]+)="((?:[^"\\]|\\.)*)"(,|$))re");
  std::string rest = wwwAuthenticate.substr(7);
  for (std::sregex_iterator it(rest.begin(), rest.end(), parameter), end; it != end; ++it) {
    std::string value;
    std::string quoted = (*it)[2];
    for (std::size_t i = 0; i < quoted.size(); ++i) value += quoted[i] == '\\' ? quoted[++i] : quoted[i];
    parameters[(*it)[1]] = value;
  }
  return parameters;
}

} // namespace pier::test
