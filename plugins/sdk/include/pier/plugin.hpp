#pragma once

#include <functional>
#include <memory>
#include <string>

#include <Poco/JSON/Object.h>
#include <Poco/Version.h>

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

// What a plugin says of itself and of how it was built, read by the loader
// before any C++ type crosses between server and plugin. A plain C struct so
// that its layout does not depend on the compiler or library either side was
// built with; new fields go at the end with an ABI version bump.
extern "C" {
struct PierPluginInfo {
  int abiVersion;              // PIER_PLUGIN_ABI_VERSION
  const char* name;            // the plugin's own name, e.g. "s3"
  const char* version;         // the plugin's version, e.g. "1.4.0"
  const char* description;     // one line for `pier plugins`
  const char* standardLibrary; // "libstdc++", "libc++" or "unknown"
  int cxx11Abi;                // _GLIBCXX_USE_CXX11_ABI (0 or 1); -1 without libstdc++
  unsigned long pocoVersion;   // POCO_VERSION: 0xMMmmppbb
  const char* compiler;        // e.g. "GCC 12.2.0"
};
}

// What this translation unit is built with: the same macros describe the
// server (compiled into it) and each plugin (compiled into PIER_PLUGIN).
#if defined(_LIBCPP_VERSION)
#define PIER_BUILD_STANDARD_LIBRARY "libc++"
#define PIER_BUILD_CXX11_ABI -1
#elif defined(__GLIBCXX__)
#define PIER_BUILD_STANDARD_LIBRARY "libstdc++"
#define PIER_BUILD_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define PIER_BUILD_STANDARD_LIBRARY "unknown"
#define PIER_BUILD_CXX11_ABI -1
#endif
#if defined(__clang__)
#define PIER_BUILD_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define PIER_BUILD_COMPILER "GCC " __VERSION__
#else
#define PIER_BUILD_COMPILER "unknown"
#endif

#define PIER_PLUGIN_ENTRY extern "C" __attribute__((visibility("default")))

// Declares the three symbols every plugin exports, once per plugin:
//
//   PIER_PLUGIN(registerMyDriver, "mydriver", "1.0.0", "a driver for my store")
//
// pier_plugin_abi_version stays alone and first, so that any server can read
// it from any plugin; pier_plugin_info tells the rest; pier_plugin_register
// is the plugin's Register function. pier_add_plugin defines
// PIER_PLUGIN_VERSION as the project's version, for the second argument.
#define PIER_PLUGIN(registerFunction, pluginName, pluginVersion, pluginDescription)                          \
  PIER_PLUGIN_ENTRY int pier_plugin_abi_version() {                                                          \
    return PIER_PLUGIN_ABI_VERSION;                                                                          \
  }                                                                                                          \
  PIER_PLUGIN_ENTRY const PierPluginInfo* pier_plugin_info() {                                               \
    static const PierPluginInfo info{                                                                        \
        PIER_PLUGIN_ABI_VERSION,     pluginName,           pluginVersion, pluginDescription,                 \
        PIER_BUILD_STANDARD_LIBRARY, PIER_BUILD_CXX11_ABI, POCO_VERSION,  PIER_BUILD_COMPILER};              \
    return &info;                                                                                            \
  }                                                                                                          \
  PIER_PLUGIN_ENTRY void pier_plugin_register(::pier::PluginRegistry& r) {                                   \
    registerFunction(r);                                                                                     \
  }
