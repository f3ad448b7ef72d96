#include "app/App.hpp"

namespace pier {

std::filesystem::path pluginDirectory(const Config& config) {
  return config.plugins.directory.empty() ? defaultPluginDirectory()
                                          : std::filesystem::path(config.plugins.directory);
}

namespace {

// Keys Pier reads but does not act on: serving without them would be a
// silent surprise (plain HTTP where a certificate was to be fetched, no
// pull-through cache, no metrics).
void refuseUnsupported(const Config& config) {
  if (config.http.tls.letsEncrypt)
    throw ConfigError("http.tls.letsencrypt: Let's Encrypt (ACME) is not supported; give http.tls.certificate and key");
  if (config.proxy->has("remoteurl"))
    throw ConfigError("proxy.remoteurl: the pull-through cache is not supported yet");
  if (config.http.debug.prometheusEnabled)
    throw ConfigError("http.debug.prometheus.enabled: Prometheus metrics are not served yet");
}

} // namespace

App::App(Config config, LineLogger& logger, AppMode mode) : config_(std::move(config)), logger_(logger) {
  if (mode == AppMode::serve) refuseUnsupported(config_);
  plugins_.loadDirectory(pluginDirectory(config_));
  const PluginCatalog& catalog = plugins_.catalog();

  driver_ = catalog.createStorageDriver(config_.storage.driver.name, *config_.storage.driver.parameters);

  if (!config_.storage.blobDescriptorCache.empty()) {
    // The redis cache reads the top-level redis section, as in Distribution;
    // other caches get storage.cache's own keys (e.g. blobdescriptorsize).
    const Poco::JSON::Object& parameters =
        config_.storage.blobDescriptorCache == "redis" ? *config_.redis : *config_.storage.cacheParameters;
    cache_ = catalog.createBlobDescriptorCache(config_.storage.blobDescriptorCache, parameters);
  }
  if (mode == AppMode::serve && config_.auth)
    accessController_ = catalog.createAccessController(config_.auth->name, *config_.auth->parameters);
  if (mode == AppMode::serve) {
    for (const auto& endpoint : config_.notifications.endpoints) {
      if (endpoint->has("disabled") && endpoint->getValue<bool>("disabled")) continue;
      std::string type = endpoint->has("type") ? endpoint->getValue<std::string>("type") : "webhook";
      sinks_.push_back(catalog.createNotificationSink(type, *endpoint));
    }
  }
  const auto& health = config_.health;
  if (mode == AppMode::serve && health.storageDriverEnabled)
    healthCheck_ = std::make_unique<HealthCheck>(
        *driver_, logger_,
        HealthCheck::Settings{health.storageDriverInterval, health.storageDriverThreshold});
  const auto& storage = config_.storage;
  registry_ = std::make_unique<Registry>(
      *driver_, cache_.get(),
      RegistryOptions{storage.deleteEnabled, storage.redirectDisabled, storage.automaticMount},
      healthCheck_.get());
  eventSink_ = std::make_unique<LoggingEventSink>(logger_);
  const auto& purging = config_.storage.uploadPurging;
  if (mode == AppMode::serve && purging.enabled && !config_.storage.readOnly)
    uploadPurger_ = std::make_unique<UploadPurger>(
        *driver_, logger_, UploadPurger::Settings{purging.age, purging.interval, purging.dryRun});
}

App::~App() {
  for (const auto& sink : sinks_) sink->close();
}

} // namespace pier
