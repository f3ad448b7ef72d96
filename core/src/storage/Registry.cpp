#include "storage/Registry.hpp"

#include "app/HealthCheck.hpp"

namespace pier {

Registry::Registry(StorageDriver& driver, BlobDescriptorCache* cache, RegistryOptions options,
                   const HealthCheck* healthCheck, const PullThroughCache* pullThrough)
    : driver_(driver), options_(options), healthCheck_(healthCheck), pullThrough_(pullThrough),
      blobs_(driver, cache), uploads_(blobs_), manifests_(blobs_) {}

CatalogPage Registry::catalog(const Context& context, const std::string& last, std::size_t limit) {
  return listRepositories(context, driver_, last, limit);
}

std::map<std::string, std::string> Registry::healthFailures() const {
  return healthCheck_ ? healthCheck_->failures() : std::map<std::string, std::string>{};
}

} // namespace pier
