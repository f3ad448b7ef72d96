#include "Bcrypt.hpp"

#include <cstring>
#include <memory>

#include <crypt.h>
#include <openssl/crypto.h>

namespace pier::htpasswd {
namespace {

// crypt's work area (about 32 KiB: too much for a worker's stack), wiped
// after use since it holds material derived from the password.
struct CryptArea {
  crypt_data data{};
  ~CryptArea() { OPENSSL_cleanse(&data, sizeof data); }
};

} // namespace

bool bcryptMatches(const std::string& password, const std::string& hash) {
  auto area = std::make_unique<CryptArea>();
  // crypt_rn, unlike crypt_r, answers NULL on failure instead of a "*0" string.
  const char* computed = crypt_rn(password.c_str(), hash.c_str(), &area->data, sizeof area->data);
  if (!computed) return false;
  std::size_t length = std::strlen(computed);
  return length == hash.size() && CRYPTO_memcmp(computed, hash.data(), length) == 0;
}

} // namespace pier::htpasswd
