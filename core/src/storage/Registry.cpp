#include "storage/Registry.hpp"

#include "app/HealthCheck.hpp"
#include "storage/RepositoryIndex.hpp"

namespace pier {

Registry::Registry(StorageDriver& driver, BlobDescriptorCache* cache, RegistryOptions options,
                   const HealthCheck* healthCheck, Metrics* metrics, const PullThroughCache* pullThrough)
    : driver_(driver), options_(options), healthCheck_(healthCheck), pullThrough_(pullThrough),
      blobs_(driver, cache, metrics), uploads_(blobs_), manifests_(blobs_) {}

void Registry::useIndex(RepositoryIndex* index) {
  index_ = index;
  blobs_.setRepositoryIndex(index);
}

CatalogPage Registry::catalog(const Context& context, const std::string& last, std::size_t limit) {
  if (index_)
    if (auto page = index_->page(last, limit)) return std::move(*page);
  return listRepositories(context, driver_, last, limit);
}

std::map<std::string, std::string> Registry::healthFailures() const {
  return healthCheck_ ? healthCheck_->failures() : std::map<std::string, std::string>{};
}

} // namespace pier
