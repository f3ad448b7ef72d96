#pragma once

#include <optional>
#include <string>
#include <string_view>

// The grammars of the OCI distribution-spec for what clients put in URLs and
// manifests: repository names, tags and digests. Nothing that fails these
// checks ever becomes part of a storage path.
namespace pier {

constexpr std::size_t kMaxRepositoryNameLength = 255; // as Distribution
constexpr std::size_t kMaxTagLength = 128;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
bool isValidRepositoryName(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool isValidTag(std::string_view tag);

// A content digest "<algorithm>:<hex>" of a supported algorithm (sha256, sha512).
class Digest {
public:
  // Nothing when the text is not a digest of a supported algorithm with the right length of lowercase hex.
  static std::optional<Digest> parse(std::string_view text);

  const std::string& algorithm() const { return algorithm_; }
  const std::string& hex() const { return hex_; }
  std::string toString() const { return algorithm_ + ":" + hex_; }
  bool operator==(const Digest& other) const = default;
  bool operator<(const Digest& other) const { return toString() < other.toString(); }

private:
  Digest(std::string algorithm, std::string hex) : algorithm_(std::move(algorithm)), hex_(std::move(hex)) {}
  std::string algorithm_;
  std::string hex_;
};

// True for text of the digest grammar (algorithm ":" encoded), supported or not.
bool looksLikeDigest(std::string_view text);

} // namespace pier
