#pragma once

#include <memory>
#include <string>
#include <vector>

#include <pier/plugin.hpp>

#include "app/HealthCheck.hpp"
#include "app/LineLogger.hpp"
#include "config/Config.hpp"
#include "plugin/PluginLoader.hpp"
#include "storage/BlobStore.hpp"
#include "storage/ManifestService.hpp"
#include "storage/UploadPurger.hpp"
#include "storage/UploadService.hpp"

namespace pier {

// What an App is built for: serving the registry, or offline maintenance of
// its storage (garbage-collect), which needs only the storage driver and the
// blob descriptor cache: no access controller, notification sinks or upload
// purger, and no refusal of settings that only concern serving (TLS, proxy).
enum class AppMode { serve, maintenance };

// Everything a handler needs, built once at startup from the config (as
// Distribution's app.go): the loaded plugins and the instances made from them.
class App {
public:
  // Loads the plugins and creates the configured driver and cache and, when
  // serving, the access controller, sinks, health check and upload purger. Throws
  // ConfigError or PluginError.
  App(Config config, LineLogger& logger, AppMode mode = AppMode::serve);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  const Config& config() const { return config_; }
  LineLogger& logger() const { return logger_; }
  const PluginLoader& plugins() const { return plugins_; }

  StorageDriver& driver() const { return *driver_; }
  // Null when the config names no cache / no access controller (the latter always in maintenance mode).
  BlobDescriptorCache* blobDescriptorCache() const { return cache_.get(); }
  AccessController* accessController() const { return accessController_.get(); }
  const std::vector<std::shared_ptr<NotificationSink>>& notificationSinks() const { return sinks_; }

  // The storage services the handlers work with.
  BlobStore& blobs() const { return *blobs_; }
  UploadService& uploads() const { return *uploads_; }
  ManifestService& manifests() const { return *manifests_; }

  // The health.storagedriver check; null when it is disabled, or not serving.
  const HealthCheck* healthCheck() const { return healthCheck_.get(); }

private:
  Config config_;
  LineLogger& logger_;
  PluginLoader plugins_; // declared first: the instances below die before their libraries
  std::shared_ptr<StorageDriver> driver_;
  std::shared_ptr<BlobDescriptorCache> cache_;
  std::shared_ptr<AccessController> accessController_;
  std::vector<std::shared_ptr<NotificationSink>> sinks_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<UploadService> uploads_;
  std::unique_ptr<ManifestService> manifests_;
  // Last: the background threads stop before everything they use.
  std::unique_ptr<HealthCheck> healthCheck_;
  std::unique_ptr<UploadPurger> uploadPurger_;
};

// The plugin directory the config names, or the default next to the executable.
std::filesystem::path pluginDirectory(const Config& config);

} // namespace pier
