#include "storage/Digester.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace pier {

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string toHex(const unsigned char* bytes, std::size_t size) {
  std::string hex(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return hex;
}

// A saved state is tagged with the algorithm and the context size so that a
// state of another algorithm or another OpenSSL layout is refused.
template <typename Context> std::string serialize(const std::string& algorithm, const Context& context) {
  std::string state = "pier-hashstate-" + algorithm + "-" + std::to_string(sizeof(Context)) + ":";
  state.append(reinterpret_cast<const char*>(&context), sizeof(Context));
  return state;
}

// What a context restored from storage must hold: a buffered length (num)
// inside the block, else OpenSSL's next update writes out of bounds, and the
// digest length of the algorithm, else the final step writes nothing.
bool isSound(const SHA256_CTX& context) {
  return context.num < SHA256_CBLOCK && context.md_len == SHA256_DIGEST_LENGTH;
}

bool isSound(const SHA512_CTX& context) {
  return context.num < SHA512_CBLOCK && context.md_len == SHA512_DIGEST_LENGTH;
}

template <typename Context>
bool deserialize(const std::string& algorithm, std::string_view state, Context& context) {
  std::string header = "pier-hashstate-" + algorithm + "-" + std::to_string(sizeof(Context)) + ":";
  if (state.size() != header.size() + sizeof(Context) || state.substr(0, header.size()) != header)
    return false;
  Context restored;
  std::memcpy(&restored, state.data() + header.size(), sizeof(Context));
  if (!isSound(restored)) return false;
  context = restored;
  return true;
}

// Distribution (Go's crypto/sha256) saves a sha256 state as "sha\x03", the
// eight state words big-endian, the 64-byte block buffer and the message
// length in bytes, big-endian: 108 bytes. Reading it lets Pier finish an
// upload that Distribution started.
bool importGoSha256State(std::string_view state, SHA256_CTX& context) {
  constexpr std::size_t kSize = 4 + 32 + 64 + 8;
  if (state.size() != kSize || state.substr(0, 4) != std::string_view("sha\x03", 4)) return false;
  auto bigEndian = [&](std::size_t offset, int bytes) {
    std::uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<unsigned char>(state[offset + i]);
    return value;
  };
  SHA256_CTX imported{};
  SHA256_Init(&imported);
  for (int i = 0; i < 8; ++i) imported.h[i] = static_cast<SHA_LONG>(bigEndian(4 + 4 * i, 4));
  std::uint64_t length = bigEndian(100, 8);
  std::size_t buffered = static_cast<std::size_t>(length % 64);
  std::memcpy(imported.data, state.data() + 36, buffered);
  imported.num = static_cast<unsigned int>(buffered);
  imported.Nl = static_cast<SHA_LONG>((length << 3) & 0xffffffffULL);
  imported.Nh = static_cast<SHA_LONG>(length >> 29);
  context = imported;
  return true;
}

} // namespace

Digester::Digester(const std::string& algorithm) : algorithm_(algorithm) {
  if (algorithm == "sha256")
    SHA256_Init(&sha256_);
  else if (algorithm == "sha512")
    SHA512_Init(&sha512_);
  else
    throw std::invalid_argument("unsupported digest algorithm " + algorithm);
}

void Digester::update(const char* data, std::size_t size) {
  if (algorithm_ == "sha256")
    SHA256_Update(&sha256_, data, size);
  else
    SHA512_Update(&sha512_, data, size);
}

Digest Digester::digest() const {
  std::string text;
  if (algorithm_ == "sha256") {
    SHA256_CTX copy = sha256_;
    unsigned char out[SHA256_DIGEST_LENGTH];
    SHA256_Final(out, &copy);
    text = "sha256:" + toHex(out, sizeof out);
  } else {
    SHA512_CTX copy = sha512_;
    unsigned char out[SHA512_DIGEST_LENGTH];
    SHA512_Final(out, &copy);
    text = "sha512:" + toHex(out, sizeof out);
  }
  return *Digest::parse(text);
}

std::string Digester::saveState() const {
  return algorithm_ == "sha256" ? serialize(algorithm_, sha256_) : serialize(algorithm_, sha512_);
}

bool Digester::restoreState(std::string_view state) {
  if (algorithm_ == "sha256")
    return deserialize(algorithm_, state, sha256_) || importGoSha256State(state, sha256_);
  return deserialize(algorithm_, state, sha512_);
}

Digest sha256Of(std::string_view data) {
  Digester digester;
  digester.update(data);
  return digester.digest();
}

} // namespace pier
