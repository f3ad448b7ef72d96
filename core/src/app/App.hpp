#pragma once

#include <memory>
#include <string>
#include <vector>

#include <pier/plugin.hpp>

#include "app/HealthCheck.hpp"
#include "app/LineLogger.hpp"
#include "config/Config.hpp"
#include "events/EventSink.hpp"
#include "events/Notifier.hpp"
#include "metrics/Metrics.hpp"
#include "plugin/PluginLoader.hpp"
#include "proxy/PullThroughCache.hpp"
#include "storage/Registry.hpp"
#include "storage/RepositoryIndex.hpp"
#include "storage/UploadPurger.hpp"

namespace pier {

// What an App is built for: serving the registry, or offline maintenance of
// its storage (garbage-collect), which needs only the storage driver and the
// blob descriptor cache: no access controller, notification sinks or upload
// purger, and no refusal of settings that only concern serving (TLS, proxy).
enum class AppMode { serve, maintenance };

// The server's parts, built once at startup from the config (as
// Distribution's app.go): the loaded plugins, the instances made from them
// and the registry's storage. The dispatcher works with it; handlers never see it.
class ScheduledCollection;

class App {
public:
  // Loads the plugins and creates the configured driver and cache and, when
  // serving, the metrics (the driver measured through MeteredStorageDriver),
  // the access controller, sinks, health check and upload purger. Throws
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

  // The Prometheus metrics (http.debug.prometheus.enabled); null when off, and in maintenance mode.
  Metrics* metrics() const { return metrics_.get(); }

  Registry& registry() const { return *registry_; }
  // Where the events of every request go.
  EventSink& eventSink() const { return *eventSink_; }
  // The broadcaster to notifications.endpoints; null when none is enabled (or in maintenance mode).
  Notifier* notifier() const { return notifier_; }
  // Stops the delivery threads (bounded); false when a sink was left running (see Notifier::stop).
  bool stopNotifications();

private:
  Config config_;
  LineLogger& logger_;
  PluginLoader plugins_;             // declared first: the instances below die before their libraries
  std::unique_ptr<Metrics> metrics_; // before the driver, which counts in it
  std::shared_ptr<StorageDriver> driver_;
  std::shared_ptr<BlobDescriptorCache> cache_;
  std::shared_ptr<AccessController> accessController_;
  std::unique_ptr<RepositoryIndex> catalogIndex_; // serving only; outlives the registry that points at it
  std::unique_ptr<PullThroughCache> pullThrough_; // null when the registry is no cache
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<EventSink> eventSink_; // owns the sinks and their queues when notifier_ is set
  Notifier* notifier_ = nullptr;
  // Last: the background threads stop before everything they use.
  std::unique_ptr<HealthCheck> healthCheck_;
  std::unique_ptr<UploadPurger> uploadPurger_;
  std::unique_ptr<ScheduledCollection> scheduledCollection_;
};

// The plugin directory the config names, or the default next to the executable.
std::filesystem::path pluginDirectory(const Config& config);

// Where the endpoints' queues live: notifications.queue.directory, else
// pier-notifications under the filesystem driver's root. Throws ConfigError
// for other drivers without the key.
std::filesystem::path notificationQueueDirectory(const Config& config);

} // namespace pier
