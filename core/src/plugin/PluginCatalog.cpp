#include "plugin/PluginCatalog.hpp"

#include <algorithm>

namespace pier {

std::string_view toString(PluginKind kind) {
  switch (kind) {
  case PluginKind::storageDriver:
    return "storage driver";
  case PluginKind::blobDescriptorCache:
    return "blob descriptor cache";
  case PluginKind::accessController:
    return "access controller";
  case PluginKind::notificationSink:
    return "notification sink";
  }
  return "unknown";
}

void PluginCatalog::claim(PluginKind kind, const std::string& name) {
  if (name.empty())
    throw PluginError(registeringFile_ + ": registers a " + std::string(toString(kind)) +
                      " with an empty name");
  for (const Entry& entry : entries_) {
    if (entry.kind == kind && entry.name == name)
      throw PluginError("the " + std::string(toString(kind)) + " name \"" + name +
                        "\" is registered twice: by " + entry.file + " and by " + registeringFile_);
  }
  entries_.push_back(Entry{kind, name, registeringFile_});
}

void PluginCatalog::storageDriver(const std::string& name, StorageDriverFactory factory) {
  claim(PluginKind::storageDriver, name);
  storageDrivers_[name] = std::move(factory);
}

void PluginCatalog::blobDescriptorCache(const std::string& name, BlobDescriptorCacheFactory factory) {
  claim(PluginKind::blobDescriptorCache, name);
  blobDescriptorCaches_[name] = std::move(factory);
}

void PluginCatalog::accessController(const std::string& name, AccessControllerFactory factory) {
  claim(PluginKind::accessController, name);
  accessControllers_[name] = std::move(factory);
}

void PluginCatalog::notificationSink(const std::string& name, NotificationSinkFactory factory) {
  claim(PluginKind::notificationSink, name);
  notificationSinks_[name] = std::move(factory);
}

std::vector<PluginCatalog::Entry> PluginCatalog::entries() const {
  std::vector<Entry> sorted = entries_;
  std::sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.name < b.name;
  });
  return sorted;
}

std::string PluginCatalog::fileOf(PluginKind kind, const std::string& name) const {
  for (const Entry& entry : entries_) {
    if (entry.kind == kind && entry.name == name) return entry.file;
  }
  return "no plugin file";
}

std::vector<std::string> PluginCatalog::names(PluginKind kind) const {
  std::vector<std::string> result;
  for (const Entry& entry : entries()) {
    if (entry.kind == kind) result.push_back(entry.name);
  }
  return result;
}

namespace {

template <typename Factories>
auto create(const PluginCatalog& catalog, PluginKind kind, const Factories& factories,
            const std::string& name, const Poco::JSON::Object& parameters) {
  auto found = factories.find(name);
  if (found == factories.end()) {
    std::string known;
    for (const std::string& registered : catalog.names(kind))
      known += (known.empty() ? "" : ", ") + registered;
    throw ConfigError("no " + std::string(toString(kind)) + " plugin is registered as \"" + name +
                      "\"; registered: " + (known.empty() ? "none" : known));
  }
  // An exception thrown by a plugin has its type information and vtable in
  // the plugin's library; once the error unwinds past the loader the library
  // is gone. The message travels on in an exception of the server's own.
  const std::string plugin =
      "the " + std::string(toString(kind)) + " plugin \"" + name + "\" (" + catalog.fileOf(kind, name) + ")";
  decltype(found->second(parameters)) instance;
  try {
    instance = found->second(parameters);
  } catch (const ConfigError& e) {
    throw ConfigError(e.what());
  } catch (const std::exception& e) {
    throw ConfigError(plugin + " failed: " + e.what());
  } catch (...) {
    throw ConfigError(plugin + " failed: it threw something that is not a std::exception");
  }
  if (!instance) throw ConfigError(plugin + " returned no instance");
  return instance;
}

} // namespace

std::shared_ptr<StorageDriver>
PluginCatalog::createStorageDriver(const std::string& name, const Poco::JSON::Object& parameters) const {
  return create(*this, PluginKind::storageDriver, storageDrivers_, name, parameters);
}

std::shared_ptr<BlobDescriptorCache>
PluginCatalog::createBlobDescriptorCache(const std::string& name,
                                         const Poco::JSON::Object& parameters) const {
  return create(*this, PluginKind::blobDescriptorCache, blobDescriptorCaches_, name, parameters);
}

std::shared_ptr<AccessController>
PluginCatalog::createAccessController(const std::string& name, const Poco::JSON::Object& parameters) const {
  return create(*this, PluginKind::accessController, accessControllers_, name, parameters);
}

std::shared_ptr<NotificationSink>
PluginCatalog::createNotificationSink(const std::string& name, const Poco::JSON::Object& parameters) const {
  return create(*this, PluginKind::notificationSink, notificationSinks_, name, parameters);
}

} // namespace pier
