#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <pier/blob_descriptor_cache.hpp>
#include <pier/storage_driver.hpp>

#include "storage/BlobStore.hpp"
#include "storage/Catalog.hpp"
#include "storage/ManifestService.hpp"
#include "storage/UploadService.hpp"

namespace pier {

class HealthCheck;
class RepositoryIndex;
class PullThroughCache;

// What the registry's storage may do, from storage.* settings.
struct RegistryOptions {
  bool deletesEnabled = false;    // storage.delete.enabled
  bool redirectsDisabled = false; // storage.redirect.disable, or a driver without them
  std::chrono::seconds redirectExpiry = kDefaultRedirectExpiry; // storage.redirect.expiry (Pier extension)
  bool automaticMount = false;                                  // storage.mount.automatic (Pier extension)
  bool storageHealthCheck = true;                               // health.storagedriver.enabled
};

// The registry's storage (Distribution's Namespace): the storage services
// over one driver and blob descriptor cache that Repository objects work
// through, and what spans repositories (the catalog, the driver's health).
class Registry {
public:
  // healthCheck: the health.storagedriver check, null when there is none;
  // metrics: where cache lookups are counted, null without metrics; pullThrough:
  // the proxy's upstreams, null when the registry is no cache.
  Registry(StorageDriver& driver, BlobDescriptorCache* cache, RegistryOptions options,
           const HealthCheck* healthCheck = nullptr, Metrics* metrics = nullptr,
           const PullThroughCache* pullThrough = nullptr);

  const RegistryOptions& options() const { return options_; }
  const PullThroughCache* pullThrough() const { return pullThrough_; }

  // Serves the catalog from the index (null: walks storage) and keeps it told of links.
  void useIndex(RepositoryIndex* index);

  // Repositories in catalog order after `last`, at most `limit`: from the
  // index once it is built, else a walk of storage.
  CatalogPage catalog(const Context& context, const std::string& last, std::size_t limit);

  // The failing health checks by name, with their errors; empty while healthy.
  std::map<std::string, std::string> healthFailures() const;

  // The services underneath, for maintenance (garbage collection) and for Repository.
  StorageDriver& driver() const { return driver_; }
  BlobStore& blobs() { return blobs_; }
  UploadService& uploads() { return uploads_; }
  ManifestService& manifests() { return manifests_; }

private:
  StorageDriver& driver_;
  RegistryOptions options_;
  const HealthCheck* healthCheck_;
  RepositoryIndex* index_ = nullptr;
  const PullThroughCache* pullThrough_;
  BlobStore blobs_;
  UploadService uploads_;
  ManifestService manifests_;
};

} // namespace pier
