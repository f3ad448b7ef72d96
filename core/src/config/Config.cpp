#include "config/Config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <Poco/JSON/Array.h>

#include "config/ConfigSchema.hpp"
#include "config/HealthConfig.hpp"
#include "config/NotificationsConfig.hpp"
#include "config/ProxyConfig.hpp"
#include "config/YamlToJson.hpp"
#include "pier/config.hpp"
#include "pier/errors.hpp"
#include "util/Json.hpp"
#include "util/Text.hpp"

namespace pier {

namespace {

// The metrics page is served only on the debug listener, at a plain path.
void checkPrometheus(const Config::Http::Debug& debug) {
  const std::string& path = debug.prometheusPath;
  bool plain = path.starts_with('/') && std::none_of(path.begin(), path.end(), [](char c) {
                 return c == '?' || c == '#' || static_cast<unsigned char>(c) <= ' ';
               });
  if (!plain)
    throw ConfigError("http.debug.prometheus.path: must be a path starting with '/' (\"" + path + "\")");
  if (path == "/debug/notifications")
    throw ConfigError("http.debug.prometheus.path: /debug/notifications is the notifications' page");
  if (debug.prometheusEnabled && debug.addr.empty())
    throw ConfigError("http.debug.prometheus.enabled: needs http.debug.addr, the listener that serves it");
}

using configschema::Node;
using Poco::JSON::Array;
using Poco::JSON::Object;

using configschema::sectionOf;

std::string getText(const Object& object, const std::string& key) {
  return config::getString(object, key, "");
}

std::vector<std::string> stringList(const Object& object, const std::string& key) {
  std::vector<std::string> values;
  if (Array::Ptr array = object.getArray(key)) {
    for (std::size_t i = 0; i < array->size(); ++i)
      values.push_back(array->get(static_cast<unsigned int>(i)).extract<std::string>());
  }
  return values;
}

NamedPlugin namedPlugin(const Object& section, const std::string& name) {
  Object::Ptr parameters = section.getObject(name);
  return NamedPlugin{name, parameters ? parameters : json::newObject()};
}

Config buildConfig(const Object::Ptr& document, std::vector<std::string> warnings) {
  using std::chrono::milliseconds;
  const Node& schema = configschema::registrySchema();
  Config config;
  config.document = document;
  config.warnings = std::move(warnings);
  config.version = getText(*document, "version");
  if (config.version != "0.1")
    throw ConfigError("version: \"" + config.version +
                      "\" is not supported; the configuration version is \"0.1\"");

  Object::Ptr log = sectionOf(*document, "log");
  config.log.level = getText(*log, "level");
  if (config.log.level.empty()) config.log.level = getText(*document, "loglevel");
  if (config.log.level.empty()) config.log.level = "info";
  config.log.formatter = config::getString(*log, "formatter", "log", "text");
  config.log.accessLogDisabled = config::getBool(*sectionOf(*log, "accesslog"), "disabled", "", false);
  config.log.fields = sectionOf(*log, "fields");

  Object::Ptr storage = sectionOf(*document, "storage");
  const Node& storageSchema = *schema.field("storage");
  config.storage.driver = namedPlugin(*storage, configschema::pluginNames(*storage, storageSchema).at(0));
  Object::Ptr cache = sectionOf(*storage, "cache");
  std::string blobDescriptor = getText(*cache, "blobdescriptor");
  std::string layerInfo = getText(*cache, "layerinfo");
  if (!blobDescriptor.empty() && !layerInfo.empty() && blobDescriptor != layerInfo)
    throw ConfigError("storage.cache.layerinfo: \"" + layerInfo +
                      "\" contradicts storage.cache.blobdescriptor \"" + blobDescriptor +
                      "\" (layerinfo is its deprecated name; give only blobdescriptor)");
  config.storage.blobDescriptorCache = blobDescriptor.empty() ? layerInfo : blobDescriptor;
  if (lower(config.storage.blobDescriptorCache) == "none") config.storage.blobDescriptorCache.clear();
  config.storage.cacheParameters = json::newObject();
  for (const std::string& key : cache->getNames()) {
    if (key != "blobdescriptor" && key != "layerinfo")
      config.storage.cacheParameters->set(key, cache->get(key));
  }
  config.storage.deleteEnabled = config::getBool(*sectionOf(*storage, "delete"), "enabled", "", false);
  Object::Ptr redirect = sectionOf(*storage, "redirect");
  config.storage.redirectDisabled = config::getBool(*redirect, "disable", "", false);
  auto expiry = config::getDuration(*redirect, "expiry", "storage.redirect", config.storage.redirectExpiry);
  if (expiry < std::chrono::seconds(1)) throw ConfigError("storage.redirect.expiry: must be at least 1s");
  config.storage.redirectExpiry = std::chrono::duration_cast<std::chrono::seconds>(expiry);
  config.storage.automaticMount = config::getBool(*sectionOf(*storage, "mount"), "automatic", "", false);
  Object::Ptr maintenance = sectionOf(*storage, "maintenance");
  config.storage.readOnly = config::getBool(*sectionOf(*maintenance, "readonly"), "enabled", "", false);
  Object::Ptr purging = sectionOf(*maintenance, "uploadpurging");
  auto& uploadPurging = config.storage.uploadPurging;
  const std::string purgingPath = "storage.maintenance.uploadpurging";
  uploadPurging.enabled = config::getBool(*purging, "enabled", purgingPath, uploadPurging.enabled);
  uploadPurging.age = config::getDuration(*purging, "age", purgingPath, uploadPurging.age);
  uploadPurging.interval = config::getDuration(*purging, "interval", purgingPath, uploadPurging.interval);
  uploadPurging.dryRun = config::getBool(*purging, "dryrun", purgingPath, uploadPurging.dryRun);
  Object::Ptr gc = sectionOf(*maintenance, "gc");
  auto& collection = config.storage.garbageCollection;
  const std::string gcPath = "storage.maintenance.gc";
  collection.enabled = config::getBool(*gc, "enabled", gcPath, collection.enabled);
  collection.interval = config::getDuration(*gc, "interval", gcPath, collection.interval);
  collection.grace = config::getDuration(*gc, "grace", gcPath, collection.grace);
  collection.deleteUntagged = config::getBool(*gc, "deleteuntagged", gcPath, collection.deleteUntagged);
  collection.dryRun = config::getBool(*gc, "dryrun", gcPath, collection.dryRun);
  if (collection.interval.count() <= 0) throw ConfigError(gcPath + ".interval: must be longer than 0");
  if (collection.grace.count() < 0) throw ConfigError(gcPath + ".grace: must not be negative");

  Object::Ptr http = sectionOf(*document, "http");
  auto& h = config.http;
  h.addr = config::getString(*http, "addr", "http", h.addr);
  h.net = config::getString(*http, "net", "http", h.net);
  h.prefix = getText(*http, "prefix");
  h.host = getText(*http, "host");
  h.secret = getText(*http, "secret");
  h.relativeUrls = config::getBool(*http, "relativeurls", "http", false);
  h.drainTimeout = config::getDuration(*http, "draintimeout", "http", h.drainTimeout);
  Object::Ptr headers = sectionOf(*http, "headers");
  for (const std::string& name : headers->getNames())
    h.headers.emplace_back(name, stringList(*headers, name));
  Object::Ptr tls = sectionOf(*http, "tls");
  h.tls.certificate = getText(*tls, "certificate");
  h.tls.key = getText(*tls, "key");
  h.tls.clientCAs = stringList(*tls, "clientcas");
  h.tls.clientAuth = getText(*tls, "clientauth");
  h.tls.minimumTls = getText(*tls, "minimumtls");
  h.tls.cipherSuites = stringList(*tls, "ciphersuites");
  h.tls.letsEncrypt = tls->has("letsencrypt");
  Object::Ptr debug = sectionOf(*http, "debug");
  h.debug.addr = getText(*debug, "addr");
  Object::Ptr prometheus = sectionOf(*debug, "prometheus");
  const std::string prometheusKey = "http.debug.prometheus";
  h.debug.prometheusEnabled = config::getBool(*prometheus, "enabled", prometheusKey, false);
  h.debug.prometheusPath = config::getString(*prometheus, "path", prometheusKey, h.debug.prometheusPath);
  checkPrometheus(h.debug);
  h.threads = static_cast<int>(config::getInt(*http, "threads", "http", 0));
  h.queue = static_cast<int>(config::getInt(*http, "queue", "http", 0));
  auto& limits = h.limits;
  limits.headTimeout = config::getDuration(*http, "headtimeout", "http", limits.headTimeout);
  limits.idleTimeout = config::getDuration(*http, "idletimeout", "http", limits.idleTimeout);
  limits.bodyTimeout = config::getDuration(*http, "bodytimeout", "http", limits.bodyTimeout);
  limits.sendTimeout = config::getDuration(*http, "sendtimeout", "http", limits.sendTimeout);
  limits.minBodyRate = config::getInt(*http, "minbodyrate", "http", limits.minBodyRate);
  limits.maxHeadSize = static_cast<std::size_t>(
      config::getInt(*http, "maxheadsize", "http", static_cast<long long>(limits.maxHeadSize)));
  limits.maxConnections = config::getInt(*http, "maxconnections", "http", 0);
  limits.maxConnectionsPerClient = config::getInt(*http, "maxconnectionsperclient", "http", 0);
  limits.maxUploads = config::getInt(*http, "maxuploads", "http", 0);

  Object::Ptr auth = sectionOf(*document, "auth");
  std::vector<std::string> controllers = configschema::pluginNames(*auth, *schema.field("auth"));
  if (!controllers.empty()) config.auth = namedPlugin(*auth, controllers[0]);

  config.notifications = parseNotifications(*sectionOf(*document, "notifications"));

  config.redis = sectionOf(*document, "redis");

  config.health = parseHealth(*sectionOf(*document, "health"));
  config.catalog.rescanInterval = config::getDuration(*sectionOf(*document, "catalog"), "rescaninterval",
                                                      "catalog", config.catalog.rescanInterval);

  config.proxy = parseProxy(*sectionOf(*document, "proxy"));
  config.validation = sectionOf(*document, "validation");
  config.plugins.directory = getText(*sectionOf(*document, "plugins"), "directory");
  return config;
}

} // namespace

Config parseConfig(const std::string& yaml, const Environment& overrides, const std::string& source) {
  Object::Ptr document = parseYamlDocument(yaml, source);

  std::vector<AppliedOverride> applied = applyEnvironmentOverrides(document, overrides);

  std::vector<std::string> warnings;
  try {
    configschema::validateDocument(document, warnings);
    return buildConfig(document, std::move(warnings));
  } catch (const ConfigError& e) {
    throw ConfigError(withOverrideHint(e.what(), applied));
  }
}

Config loadConfigFile(const std::string& path, const Environment& overrides) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw ConfigError(path + ": cannot read the configuration file: it is a directory");
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  return parseConfig(text.str(), overrides, path);
}

} // namespace pier
