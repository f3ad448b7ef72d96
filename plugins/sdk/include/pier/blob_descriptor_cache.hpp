#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pier/context.hpp"

namespace pier {

// What is known of a blob without reading it.
struct Descriptor {
  std::string digest;    // "sha256:<hex>"
  std::int64_t size = 0; // bytes
  std::string mediaType;
};

// Stat, set and clear descriptors by digest (Distribution's
// BlobDescriptorService). A cache that cannot answer throws
// CacheUnavailableError; the server then goes to storage.
class PIER_SDK_API BlobDescriptorService {
public:
  virtual ~BlobDescriptorService() = default;
  virtual std::optional<Descriptor> stat(const Context& context, const std::string& digest) = 0;
  virtual void setDescriptor(const Context& context, const std::string& digest,
                             const Descriptor& descriptor) = 0;
  virtual void clear(const Context& context, const std::string& digest) = 0;
};

// A cache backend: itself the global scope (every blob of the registry), and
// a repository scope for blobs linked into one repository.
class PIER_SDK_API BlobDescriptorCache : public BlobDescriptorService {
public:
  virtual std::shared_ptr<BlobDescriptorService> repositoryScoped(const std::string& repository) = 0;
};

// A digest of a registered algorithm (sha256, sha384, sha512) with its
// lowercase hex, as Distribution accepts them.
inline bool isValidDigest(std::string_view digest) {
  std::size_t colon = digest.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view algorithm = digest.substr(0, colon), encoded = digest.substr(colon + 1);
  std::size_t length = algorithm == "sha256"   ? 64
                       : algorithm == "sha384" ? 96
                       : algorithm == "sha512" ? 128
                                               : 0;
  if (length == 0 || encoded.size() != length) return false;
  for (char c : encoded) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Argument checks every cache backend makes; each throws std::invalid_argument.
inline void checkCacheDigest(const std::string& digest) {
  if (!isValidDigest(digest)) throw std::invalid_argument("invalid digest \"" + digest + "\"");
}

inline void checkCacheDescriptor(const std::string& digest, const Descriptor& descriptor) {
  checkCacheDigest(digest);
  if (!isValidDigest(descriptor.digest))
    throw std::invalid_argument("invalid digest \"" + descriptor.digest + "\" in the descriptor of " +
                                digest);
  // As in Distribution: a descriptor may name the blob by another algorithm only.
  if (descriptor.digest != digest &&
      descriptor.digest.substr(0, descriptor.digest.find(':')) == digest.substr(0, digest.find(':')))
    throw std::invalid_argument("descriptor digest " + descriptor.digest + " differs from " + digest);
  if (descriptor.size < 0)
    throw std::invalid_argument("negative size " + std::to_string(descriptor.size) + " for " + digest);
}

// Scope names the server passes: repository names, and "<name>/_manifests"
// scopes. Neither '@' nor ':' occurs in them, so a backend may key entries "<scope>@<digest>".
inline void checkCacheScope(const std::string& name) {
  bool valid = !name.empty() && name.size() <= 1024;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/'))
      valid = false;
  }
  if (!valid) throw std::invalid_argument("invalid repository name \"" + name + "\"");
}

} // namespace pier
