#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <pier/plugin.hpp>

namespace pier {

enum class PluginKind { storageDriver, blobDescriptorCache, accessController, notificationSink };

std::string_view toString(PluginKind kind);

// Raised when a plugin cannot be loaded, fails to register or registers a name twice.
class PluginError : public Error {
public:
  using Error::Error;
};

// Core's registry of named factories: plugins add to it through the SDK's
// PluginRegistry interface, the App creates instances from it by name.
class PluginCatalog final : public PluginRegistry {
public:
  struct Entry {
    PluginKind kind;
    std::string name;
    std::string file; // the plugin file that registered it
  };

  void storageDriver(const std::string& name, StorageDriverFactory factory) override;
  void blobDescriptorCache(const std::string& name, BlobDescriptorCacheFactory factory) override;
  void accessController(const std::string& name, AccessControllerFactory factory) override;
  void notificationSink(const std::string& name, NotificationSinkFactory factory) override;

  // Each creates the named instance or throws ConfigError; an unknown name's
  // error lists the names that are registered for that kind.
  std::shared_ptr<StorageDriver> createStorageDriver(const std::string& name,
                                                     const Poco::JSON::Object& parameters) const;
  std::shared_ptr<BlobDescriptorCache> createBlobDescriptorCache(const std::string& name,
                                                                 const Poco::JSON::Object& parameters) const;
  std::shared_ptr<AccessController> createAccessController(const std::string& name,
                                                           const Poco::JSON::Object& parameters) const;
  std::shared_ptr<NotificationSink> createNotificationSink(const std::string& name,
                                                           const Poco::JSON::Object& parameters) const;

  std::vector<Entry> entries() const; // sorted by kind, then name
  std::vector<std::string> names(PluginKind kind) const;
  std::string fileOf(PluginKind kind, const std::string& name) const; // the file that registered it

  // The file whose Register function is running, recorded with its entries.
  void setRegisteringFile(std::string file) { registeringFile_ = std::move(file); }

private:
  void claim(PluginKind kind, const std::string& name);

  std::string registeringFile_;
  std::vector<Entry> entries_;
  std::map<std::string, StorageDriverFactory> storageDrivers_;
  std::map<std::string, BlobDescriptorCacheFactory> blobDescriptorCaches_;
  std::map<std::string, AccessControllerFactory> accessControllers_;
  std::map<std::string, NotificationSinkFactory> notificationSinks_;
};

} // namespace pier
