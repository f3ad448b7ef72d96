#include "app/App.hpp"
#include "app/ScheduledCollection.hpp"
#include "http/Routes.hpp"
#include "metrics/MeteredStorageDriver.hpp"

#include <pier/config.hpp>

namespace pier {

// How long shutdown waits for a delivery in flight (its context is cancelled at once).
constexpr auto kNotificationStopWait = std::chrono::seconds(5);

std::filesystem::path pluginDirectory(const Config& config) {
  return config.plugins.directory.empty() ? defaultPluginDirectory()
                                          : std::filesystem::path(config.plugins.directory);
}

std::filesystem::path notificationQueueDirectory(const Config& config) {
  if (!config.notifications.queue.directory.empty())
    return std::filesystem::absolute(config.notifications.queue.directory).lexically_normal();
  if (config.storage.driver.name != "filesystem")
    throw ConfigError("notifications.queue.directory: is required with notifications.endpoints when the "
                      "storage driver (" +
                      config.storage.driver.name + ") keeps no local directory");
  // The filesystem driver's default root, as in Distribution.
  std::string root = config::getString(*config.storage.driver.parameters, "rootdirectory",
                                       "storage.filesystem", "/var/lib/registry");
  return (std::filesystem::absolute(root) / "pier-notifications").lexically_normal();
}

namespace {

// Keys Pier reads but does not act on: serving without them would be a
// silent surprise (plain HTTP where a certificate was to be fetched).
void refuseUnsupported(const Config& config) {
  if (config.http.tls.letsEncrypt)
    throw ConfigError(
        "http.tls.letsencrypt: Let's Encrypt (ACME) is not supported; give http.tls.certificate and key");
}

std::vector<std::string_view> routeNames() {
  std::vector<std::string_view> names;
  for (const Route& route : routes()) names.push_back(route.name);
  return names;
}

// What the driver says it supports, and a warning where acknowledged pushes
// may not survive a crash (e.g. filesystem with sync: false).
void logCapabilities(LineLogger& logger, const StorageDriver& driver,
                     const DriverCapabilities& capabilities) {
  auto yesNo = [](bool value) { return std::string(value ? "yes" : "no"); };
  logger.write(LogLevel::info, "storage driver",
               {{"name", driver.name()},
                {"redirects", yesNo(capabilities.redirects)},
                {"durable", yesNo(capabilities.durable)},
                {"resumable_writers", yesNo(capabilities.resumableWriters)},
                {"paged_list", yesNo(capabilities.pagedList)}});
  if (!capabilities.durable && driver.name() != "inmemory")
    logger.write(LogLevel::warn, "storage driver is not durable",
                 {{"name", driver.name()},
                  {"warning", "content acknowledged to clients may be lost in a crash or power loss"}});
}

} // namespace

App::App(Config config, LineLogger& logger, AppMode mode) : config_(std::move(config)), logger_(logger) {
  if (mode == AppMode::serve) refuseUnsupported(config_);
  plugins_.loadDirectory(pluginDirectory(config_));
  const PluginCatalog& catalog = plugins_.catalog();

  driver_ = catalog.createStorageDriver(config_.storage.driver.name, *config_.storage.driver.parameters);
  const DriverCapabilities capabilities = driver_->capabilities();
  if (mode == AppMode::serve) logCapabilities(logger_, *driver_, capabilities);
  if (mode == AppMode::serve && config_.http.debug.prometheusEnabled) {
    metrics_ = std::make_unique<Metrics>(routeNames(), driver_->name(), config_.storage.blobDescriptorCache);
    driver_ = std::make_shared<MeteredStorageDriver>(std::move(driver_), *metrics_);
  }

  if (!config_.storage.blobDescriptorCache.empty()) {
    // The redis cache reads the top-level redis section, as in Distribution;
    // other caches get storage.cache's own keys (e.g. blobdescriptorsize).
    const Poco::JSON::Object& parameters =
        config_.storage.blobDescriptorCache == "redis" ? *config_.redis : *config_.storage.cacheParameters;
    cache_ = catalog.createBlobDescriptorCache(config_.storage.blobDescriptorCache, parameters);
  }
  if (mode == AppMode::serve && config_.auth)
    accessController_ = catalog.createAccessController(config_.auth->name, *config_.auth->parameters);
  std::vector<Notifier::Endpoint> endpoints;
  if (mode == AppMode::serve) {
    const auto& notifications = config_.notifications;
    for (const auto& endpoint : notifications.endpoints) {
      if (endpoint.disabled) {
        logger_.write(LogLevel::info, "notification endpoint disabled", {{"endpoint", endpoint.name}});
        continue;
      }
      DurableQueue::Options queue{notificationQueueDirectory(config_) / queueDirectoryName(endpoint.name),
                                  static_cast<std::uint64_t>(notifications.queue.maxBytes),
                                  notifications.queue.refuseWhenFull, 0};
      endpoints.push_back(
          Notifier::Endpoint{endpoint, catalog.createNotificationSink(endpoint.type, *endpoint.section),
                             std::make_unique<DurableQueue>(std::move(queue), endpoint.name, logger_)});
    }
  }
  if (mode == AppMode::serve) {
    const auto& health = config_.health;
    std::vector<HealthProbe> probes;
    if (health.storageDriverEnabled)
      probes.push_back(
          storageDriverProbe(*driver_, health.storageDriverInterval, health.storageDriverThreshold));
    for (const auto& file : health.files)
      probes.push_back(fileProbe(file.path, file.interval, file.threshold));
    for (const auto& http : health.https)
      probes.push_back(
          httpProbe(http.uri, http.headers, http.statusCode, http.timeout, http.interval, http.threshold));
    for (const auto& tcp : health.tcps)
      probes.push_back(tcpProbe(tcp.address, tcp.timeout, tcp.interval, tcp.threshold));
    if (!probes.empty()) healthCheck_ = std::make_unique<HealthCheck>(std::move(probes), logger_);
  }
  if (mode == AppMode::serve && !config_.proxy.upstreams.empty()) {
    pullThrough_ = std::make_unique<PullThroughCache>(config_.proxy);
    for (const auto& upstream : config_.proxy.upstreams)
      logger_.write(LogLevel::info, "pull-through cache",
                    {{"prefix", upstream.prefix.empty() ? "(every repository)" : upstream.prefix},
                     {"remoteurl", upstream.remoteUrl},
                     {"ttl", std::to_string(upstream.ttl.count() / 1000) + "s"}});
  }
  const auto& storage = config_.storage;
  registry_ = std::make_unique<Registry>(*driver_, cache_.get(),
                                         RegistryOptions{storage.deleteEnabled,
                                                         storage.redirectDisabled || !capabilities.redirects,
                                                         storage.redirectExpiry, storage.automaticMount},
                                         healthCheck_.get(), metrics_.get(), pullThrough_.get());
  if (mode == AppMode::serve) {
    catalogIndex_ = std::make_unique<RepositoryIndex>(
        *driver_, logger_,
        RepositoryIndex::Settings{config_.catalog.rescanInterval, std::chrono::seconds(1),
                                  !config_.storage.readOnly});
    registry_->useIndex(catalogIndex_.get());
  }
  if (endpoints.empty()) {
    eventSink_ = std::make_unique<LoggingEventSink>(logger_);
  } else {
    auto notifier = std::make_unique<Notifier>(std::move(endpoints), logger_);
    notifier_ = notifier.get();
    eventSink_ = std::move(notifier);
    if (metrics_) metrics_->addSource([this](metrics::TextExposition& out) { notifier_->writeMetrics(out); });
  }
  const auto& purging = config_.storage.uploadPurging;
  if (mode == AppMode::serve && purging.enabled && !config_.storage.readOnly)
    uploadPurger_ = std::make_unique<UploadPurger>(
        *driver_, logger_, UploadPurger::Settings{purging.age, purging.interval, purging.dryRun});
  if (mode == AppMode::serve && storage.garbageCollection.enabled && !storage.readOnly)
    scheduledCollection_ = std::make_unique<ScheduledCollection>(*driver_, cache_.get(), logger_,
                                                                 storage.garbageCollection, metrics_.get());
}

App::~App() {
  stopNotifications();
}

bool App::stopNotifications() {
  return notifier_ ? notifier_->stop(kNotificationStopWait) : true;
}

} // namespace pier
