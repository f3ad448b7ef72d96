#include "storage/Registry.hpp"

namespace pier {

Registry::Registry(StorageDriver& driver, BlobDescriptorCache* cache, RegistryOptions options)
    : driver_(driver), driverName_(driver.name()), options_(options), blobs_(driver, cache), uploads_(blobs_),
      manifests_(blobs_) {}

CatalogPage Registry::catalog(const Context& context, const std::string& last, std::size_t limit) {
  return listRepositories(context, driver_, last, limit);
}

std::optional<std::string> Registry::storageError(const Context& context) {
  if (!options_.storageHealthCheck) return std::nullopt;
  // A stat of the root that finds it missing still is an answer.
  try {
    driver_.stat(context, "/");
  } catch (const PathNotFoundError&) {
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

} // namespace pier
