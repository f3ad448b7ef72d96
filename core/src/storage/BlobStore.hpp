#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <pier/blob_descriptor_cache.hpp>
#include <pier/storage_driver.hpp>

#include "storage/Reference.hpp"

namespace pier {

class RepositoryIndex;
class Metrics;

// Where a repository links a blob: _layers for blobs, _manifests/revisions for manifests.
enum class LinkSpace { layers, manifests };

// The content-addressed blob store shared by every repository, and the
// per-repository links through which a repository sees a blob (Distribution's
// blobStore and linkedBlobStore). The blob descriptor cache, when there is
// one, answers stats before the driver: a global scope for blobs, and a
// repository scope per link space. A cache that fails is logged and bypassed.
// Each lookup in the cache is counted in the metrics, when given.
class BlobStore {
public:
  BlobStore(StorageDriver& driver, BlobDescriptorCache* cache, Metrics* metrics = nullptr)
      : driver_(driver), cache_(cache), metrics_(metrics) {}

  StorageDriver& driver() const { return driver_; }
  // Told of every _layers link written or removed: where repositories come to exist.
  void setRepositoryIndex(RepositoryIndex* index) { index_ = index; }

  // Global scope. stat may answer from the cache; statStored asks the driver
  // (and corrects the cache): what decides whether data may be discarded or
  // a reference accepted must come from storage.
  std::optional<Descriptor> stat(const Context& context, const Digest& digest);
  std::optional<Descriptor> statStored(const Context& context, const Digest& digest);
  // Drops a blob the cache lists but storage no longer holds: globally and in the repository's scopes.
  void forgetMissing(const Context& context, const Digest& digest, const std::string& repository);
  std::string getContent(const Context& context, const Digest& digest); // PathNotFoundError when missing
  std::unique_ptr<FileReader> reader(const Context& context, const Digest& digest, std::int64_t offset);
  // Stores content under its digest (of the given algorithm) unless it is there already.
  Descriptor putContent(const Context& context, const Digest& digest, std::string_view content,
                        const std::string& mediaType);
  // Records what a finished upload put at blobData(digest).
  void remember(const Context& context, const Descriptor& descriptor);

  // Repository scope: the blob's descriptor when the repository links it.
  std::optional<Descriptor> statLinked(const Context& context, const std::string& repository, LinkSpace space,
                                       const Digest& digest);
  // The same from storage only: the link and the blob it names both exist.
  std::optional<Descriptor> statLinkedStored(const Context& context, const std::string& repository,
                                             LinkSpace space, const Digest& digest);
  void link(const Context& context, const std::string& repository, LinkSpace space,
            const Descriptor& descriptor);
  // Removes the link; false when there was none.
  bool unlink(const Context& context, const std::string& repository, LinkSpace space, const Digest& digest);
  // Sets the repository-scoped descriptor (e.g. a manifest's media type) without touching storage.
  void rememberLinked(const Context& context, const std::string& repository, LinkSpace space,
                      const Descriptor& descriptor);

private:
  std::shared_ptr<BlobDescriptorService> scope(const Context& context, const std::string& repository,
                                               LinkSpace space);
  std::optional<Descriptor> cached(const Context& context, BlobDescriptorService* service,
                                   const Digest& digest);
  void store(const Context& context, BlobDescriptorService* service, const Descriptor& descriptor);
  void forget(const Context& context, BlobDescriptorService* service, const Digest& digest);

  StorageDriver& driver_;
  BlobDescriptorCache* cache_;
  RepositoryIndex* index_ = nullptr;
  Metrics* metrics_;
};

std::string linkPath(const std::string& repository, LinkSpace space, const Digest& digest);

} // namespace pier
