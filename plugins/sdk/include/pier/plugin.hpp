#pragma once

#include <functional>
#include <memory>
#include <string>

#include <Poco/JSON/Object.h>

#include "pier/access_controller.hpp"
#include "pier/blob_descriptor_cache.hpp"
#include "pier/errors.hpp"
#include "pier/notification_sink.hpp"
#include "pier/storage_driver.hpp"
#include "pier/version.hpp"

namespace pier {

// A factory takes the plugin's own config subtree and returns the instance, or
// throws ConfigError naming what is wrong.
using StorageDriverFactory =
    std::function<std::shared_ptr<StorageDriver>(const Poco::JSON::Object& parameters)>;
using BlobDescriptorCacheFactory =
    std::function<std::shared_ptr<BlobDescriptorCache>(const Poco::JSON::Object& parameters)>;
using AccessControllerFactory =
    std::function<std::shared_ptr<AccessController>(const Poco::JSON::Object& parameters)>;
using NotificationSinkFactory =
    std::function<std::shared_ptr<NotificationSink>(const Poco::JSON::Object& parameters)>;

// The server's registry of named factories, handed to each plugin's Register
// function. Registering a name that is already taken is a startup error.
class PIER_SDK_API PluginRegistry {
public:
  virtual void storageDriver(const std::string& name, StorageDriverFactory factory) = 0;
  virtual void blobDescriptorCache(const std::string& name, BlobDescriptorCacheFactory factory) = 0;
  virtual void accessController(const std::string& name, AccessControllerFactory factory) = 0;
  virtual void notificationSink(const std::string& name, NotificationSinkFactory factory) = 0;

protected:
  ~PluginRegistry() = default;
};

} // namespace pier

// Declares the two symbols every plugin exports: its ABI version and its
// Register function. Use once per plugin:  PIER_PLUGIN(registerMyDriver)
#define PIER_PLUGIN(registerFunction)                                                                        \
  extern "C" __attribute__((visibility("default"))) int pier_plugin_abi_version() {                          \
    return PIER_PLUGIN_ABI_VERSION;                                                                          \
  }                                                                                                          \
  extern "C" __attribute__((visibility("default"))) void pier_plugin_register(::pier::PluginRegistry& r) {   \
    registerFunction(r);                                                                                     \
  }
