#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Poco/JSON/Object.h>

#include <pier/storage_driver.hpp>

#include "config/EnvironmentOverrides.hpp" // Environment, registryEnvironment

namespace pier {

// A plugin chosen by name with its own parameters, e.g.
// storage: {filesystem: {rootdirectory: /var/lib/pier}} -> {"filesystem", {...}}.
struct NamedPlugin {
  std::string name;
  Poco::JSON::Object::Ptr parameters; // never null; empty when the section had none
};

// The registry configuration, in the Distribution config format (version 0.1).
// Parsed from YAML, overridden by REGISTRY_* environment variables, validated:
// unknown keys, wrong types and missing required values are ConfigErrors that
// name the key's path.
struct Config {
  std::string version; // "0.1"

  struct Log {
    std::string level = "info";     // error, warn, info, debug
    std::string formatter = "text"; // text, json, logstash
    bool accessLogDisabled = false;
    Poco::JSON::Object::Ptr fields; // extra fields added to every log line; never null
  } log;

  struct Storage {
    NamedPlugin driver; // the one storage driver section
    // storage.cache.blobdescriptor (or its deprecated synonym layerinfo); "" when
    // no cache is configured; "none" is normalised to "".
    std::string blobDescriptorCache;
    Poco::JSON::Object::Ptr cacheParameters; // storage.cache without the name keys; never null
    bool deleteEnabled = false;              // storage.delete.enabled
    bool redirectDisabled = false;           // storage.redirect.disable
    // storage.redirect.expiry (Pier extension): how long a redirect URL works.
    std::chrono::seconds redirectExpiry = kDefaultRedirectExpiry;
    // storage.mount.automatic (Pier extension): a mount without `from` links
    // a blob the registry holds (one the requester may pull, under access control).
    bool automaticMount = false;
    bool readOnly = false; // storage.maintenance.readonly.enabled
    struct UploadPurging {
      bool enabled = true;
      std::chrono::milliseconds age = std::chrono::hours(168);
      std::chrono::milliseconds interval = std::chrono::hours(24);
      bool dryRun = false;
    } uploadPurging; // storage.maintenance.uploadpurging
    // storage.maintenance.gc (Pier extension): garbage collection inside serve, safe beside other instances.
    struct GarbageCollection {
      bool enabled = false;
      std::chrono::milliseconds interval = std::chrono::hours(24);
      std::chrono::milliseconds grace = std::chrono::hours(1);
      bool deleteUntagged = false;
      bool dryRun = false;
    } garbageCollection;
  } storage;

  struct Http {
    std::string addr = ":5000"; // host:port; ":5000" listens on every address
    std::string net = "tcp";
    std::string prefix;
    std::string host;
    std::string secret;
    bool relativeUrls = false;
    std::chrono::milliseconds drainTimeout = std::chrono::seconds(5); // requests in flight at shutdown
    std::vector<std::pair<std::string, std::vector<std::string>>>
        headers; // http.headers, sent on every response
    struct Tls {
      std::string certificate;
      std::string key;
      std::vector<std::string> clientCAs;
      std::string clientAuth; // Go's modes by Distribution's names; "" with clientCAs: require and verify
      std::string minimumTls; // "" is tls1.2
      std::vector<std::string> cipherSuites; // IANA names; "" leaves OpenSSL's defaults
      bool letsEncrypt = false;              // asked for, and refused: no ACME here
    } tls;
    struct Debug {
      std::string addr;
      bool prometheusEnabled = false;
      std::string prometheusPath = "/metrics";
    } debug;
    // Pier extensions: worker threads and the listen backlog of the HTTP
    // server; 0 chooses from the number of cores.
    int threads = 0;
    int queue = 0;
    // Pier extensions: the connection layer's deadlines and limits.
    struct Limits {
      std::chrono::milliseconds headTimeout = std::chrono::seconds(10); // a whole request head
      std::chrono::milliseconds idleTimeout =
          std::chrono::seconds(60); // a kept-alive connection between requests
      std::chrono::milliseconds bodyTimeout = std::chrono::seconds(30); // the window of minBodyRate
      std::chrono::milliseconds sendTimeout = std::chrono::seconds(60); // a response making no progress
      long long minBodyRate = 1024;          // bytes per second over each bodyTimeout, else 408
      std::size_t maxHeadSize = 64 * 1024;   // bytes; past it 431
      long long maxConnections = 0;          // 0: from the open-file limit
      long long maxConnectionsPerClient = 0; // per client address; 0: half of maxConnections
      long long maxUploads = 0;              // concurrent upload requests, else 429; 0: half the threads
    } limits;
  } http;

  std::optional<NamedPlugin> auth; // auth: {<controller>: {...}}

  struct Notifications {
    bool includeReferences = false; // notifications.events.includereferences
    // One notifications.endpoints[] entry; Distribution's defaults.
    struct Endpoint {
      std::string name; // unique; names the endpoint's queue directory
      std::string url;  // http(s) for the webhook type
      std::string type = "webhook";
      bool disabled = false;
      std::chrono::milliseconds timeout = std::chrono::seconds(1); // one delivery, at most
      int threshold = 10;                                          // failures in a row before backing off
      std::chrono::milliseconds backoff = std::chrono::seconds(1);
      std::vector<std::string> ignoredMediaTypes; // ignoredmediatypes and ignore.mediatypes together
      std::vector<std::string> ignoredActions;    // ignore.actions
      Poco::JSON::Object::Ptr section;            // the entry as given: the sink factory's parameters
    };
    std::vector<Endpoint> endpoints;
    // Pier extensions: the durable queue of every endpoint.
    struct Queue {
      std::string directory; // "" = <storage.filesystem.rootdirectory>/pier-notifications
      std::int64_t maxBytes = std::int64_t(1) << 30;
      bool refuseWhenFull = false; // full: refuse (writes answered 503) or dropoldest
    } queue;
  } notifications;

  struct Catalog {
    // catalog.rescaninterval (Pier extension): how often the repository
    // index walks storage for what it was not told; 0: only at start.
    std::chrono::milliseconds rescanInterval = std::chrono::minutes(10);
  } catalog;

  Poco::JSON::Object::Ptr redis; // the redis section, for plugins that use Redis; never null

  struct Health {
    bool storageDriverEnabled = true;
    std::chrono::milliseconds storageDriverInterval = std::chrono::seconds(10);
    int storageDriverThreshold = 1;
    // Distribution's other checks; interval 0: 10 s; threshold 0: the first failure.
    struct File {
      std::string path;
      std::chrono::milliseconds interval{0};
      int threshold = 0;
    };
    struct Http {
      std::string uri;
      std::vector<std::pair<std::string, std::string>> headers;
      int statusCode = 200;
      std::chrono::milliseconds timeout = std::chrono::seconds(1);
      std::chrono::milliseconds interval{0};
      int threshold = 0;
    };
    struct Tcp {
      std::string address;
      std::chrono::milliseconds timeout = std::chrono::seconds(1);
      std::chrono::milliseconds interval{0};
      int threshold = 0;
    };
    std::vector<File> files;
    std::vector<Http> https;
    std::vector<Tcp> tcps;
  } health;

  // proxy: the pull-through cache. Distribution's single upstream (prefix "",
  // every repository) and Pier's proxy.upstreams, each for the repositories
  // under its prefix. Empty: a normal registry.
  struct Proxy {
    struct Upstream {
      std::string prefix; // "dockerhub/": dockerhub/library/alpine is library/alpine upstream
      std::string remoteUrl;
      std::string username, password;
      std::chrono::milliseconds ttl = std::chrono::hours(168); // a cached tag is trusted this long
      std::string caFile;                                      // "" = the system's CAs
    };
    std::vector<Upstream> upstreams; // longest prefix first
  } proxy;
  Poco::JSON::Object::Ptr validation; // never null

  struct Plugins {
    std::string directory; // "" = ../lib/pier/plugins next to the executable
  } plugins;

  Poco::JSON::Object::Ptr document; // the whole validated document

  // Deprecated keys used (loglevel, storage.cache.layerinfo, ...) and accepted
  // Distribution sections Pier ignores (middleware, log.hooks), one message
  // each, starting with the key's path: for the server to log at startup.
  std::vector<std::string> warnings;
};

// Parses YAML text (source names it in errors), applies overrides, validates.
// Throws pier::ConfigError.
Config parseConfig(const std::string& yaml, const Environment& overrides, const std::string& source);

// Reads and parses a config file. Throws pier::ConfigError (also for an unreadable file).
Config loadConfigFile(const std::string& path, const Environment& overrides);

// The embedded default configuration: conf/config.yml, compiled in.
const std::string& defaultConfigText();

} // namespace pier
