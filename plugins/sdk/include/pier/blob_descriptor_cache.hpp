#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

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

} // namespace pier
