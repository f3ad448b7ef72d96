#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <openssl/sha.h>

#include "storage/Reference.hpp"

namespace pier {

// Hashes a stream as it arrives (sha256 or sha512), with a state that can be
// saved and restored so that an upload resumes hashing where it stopped,
// even in another process (as Distribution's hashstates).
class Digester {
public:
  explicit Digester(const std::string& algorithm = "sha256"); // throws std::invalid_argument otherwise
  void update(const char* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  Digest digest() const; // of everything so far; the digester can go on

  const std::string& algorithm() const { return algorithm_; }
  std::string saveState() const;
  // False when the bytes are not a state of this algorithm.
  bool restoreState(std::string_view state);

private:
  std::string algorithm_;
  SHA256_CTX sha256_{};
  SHA512_CTX sha512_{};
};

// The sha256 digest of a whole buffer.
Digest sha256Of(std::string_view data);

} // namespace pier
