#include "RedisOptions.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include <Poco/JSON/Array.h>

#include <pier/config.hpp>
#include <pier/errors.hpp>

namespace pier::redis {

namespace {

using Duration = RedisOptions::Duration;

const std::string kPrefix = "redis";

std::string path(const std::string& key) {
  return kPrefix + "." + key;
}

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw ConfigError(path(key) + ": " + what);
}

// A sub-section such as pool or tls: a mapping, or absent.
Poco::JSON::Object::Ptr section(const Poco::JSON::Object& parent, const std::string& key) {
  if (!parent.has(key) || parent.isNull(key)) return new Poco::JSON::Object;
  if (!parent.isObject(key)) fail(key, "must be a mapping");
  return parent.getObject(key);
}

void parseAddress(const std::string& key, const std::string& text, RedisOptions& options) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    fail(key, "\"" + text + "\" is not host:port");
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') fail(key, "\"" + text + "\" is not host:port");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    fail(key, "\"" + text + "\" is not host:port (write an IPv6 address as [addr]:port)");
  }
  std::string portText = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, error] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (error != std::errc() || end != portText.data() + portText.size() || port == 0 || port > 65535)
    fail(key, "\"" + portText + "\" is not a port number");
  options.host = host;
  options.port = static_cast<std::uint16_t>(port);
}

// A timeout: absent or 0 keeps the default, for a call to Redis is always bounded.
Duration timeout(const Poco::JSON::Object& params, const std::string& key, const std::string& prefix,
                 Duration fallback) {
  Duration value = config::getDuration(params, key, prefix, fallback);
  if (value.count() < 0) throw ConfigError(config::keyPath(prefix, key) + ": must not be negative");
  return value.count() == 0 ? fallback : value;
}

// A duration where 0 means "no limit".
Duration limit(const Poco::JSON::Object& params, const std::string& key, const std::string& prefix,
               Duration fallback) {
  Duration value = config::getDuration(params, key, prefix, fallback);
  if (value.count() < 0) throw ConfigError(config::keyPath(prefix, key) + ": must not be negative");
  return value;
}

std::int64_t count(const Poco::JSON::Object& params, const std::string& key, const std::string& prefix,
                   std::int64_t fallback, std::int64_t minimum) {
  std::int64_t value = config::getInt(params, key, prefix, fallback);
  if (value < minimum)
    throw ConfigError(config::keyPath(prefix, key) + ": must be at least " + std::to_string(minimum));
  return value;
}

bool given(const Poco::JSON::Object& params, const std::string& key) {
  return params.has(key) && !params.isNull(key);
}

// A 2.x key and its 3.x spelling: one of them, not both.
void refuseBoth(const Poco::JSON::Object& outer, const std::string& newKey, const Poco::JSON::Object& pool,
                const std::string& oldKey) {
  if (given(outer, newKey) && given(pool, oldKey))
    fail(newKey, "conflicts with redis.pool." + oldKey + "; give one of them");
}

void checkKeys(const Poco::JSON::Object& params, const std::string& prefix,
               const std::set<std::string>& known, const std::string& what) {
  for (const auto& [key, value] : params) {
    if (!known.count(key)) throw ConfigError(config::keyPath(prefix, key) + ": unknown parameter " + what);
  }
}

} // namespace

std::string RedisOptions::address() const {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

RedisOptions RedisOptions::parse(const Poco::JSON::Object& params) {
  checkKeys(params, kPrefix, {"addr",         "addrs",       "username",        "password",
                              "db",           "clientname",  "dialtimeout",     "readtimeout",
                              "writetimeout", "pool",        "maxidleconns",    "maxactiveconns",
                              "poolsize",     "pooltimeout", "connmaxidletime", "connmaxlifetime",
                              "tls",          "mastername",  "minidleconns",    "maxretries"},
            "of the redis cache");

  // What Distribution 3 (go-redis) can do and this cache does not.
  if (given(params, "mastername")) fail("mastername", "Redis Sentinel is not supported; give one addr");
  if (given(params, "minidleconns"))
    fail("minidleconns", "not supported: connections are opened on demand and kept up to maxidle");
  if (given(params, "maxretries"))
    fail("maxretries", "not supported: a call that fails goes to storage (a closed pooled connection is "
                       "retried once on a new one)");

  RedisOptions options;

  std::string addr = config::getString(params, "addr", kPrefix);
  if (given(params, "addrs")) {
    if (!params.isArray("addrs")) fail("addrs", "must be a list of host:port strings");
    Poco::JSON::Array::Ptr addrs = params.getArray("addrs");
    if (addrs->size() != 1)
      fail("addrs", "give exactly one address: Redis Cluster and Sentinel are not supported");
    Poco::Dynamic::Var first = addrs->get(0);
    if (!first.isString()) fail("addrs", "must be a list of host:port strings");
    std::string only = first.extract<std::string>();
    if (!addr.empty() && addr != only) fail("addrs", "conflicts with redis.addr; give one of them");
    parseAddress("addrs", only, options);
  } else if (addr.empty()) {
    fail("addr", "is required: the redis blob descriptor cache needs the Redis server's host:port");
  } else {
    parseAddress("addr", addr, options);
  }

  options.username = config::getString(params, "username", kPrefix);
  options.password = config::getString(params, "password", kPrefix);
  if (!options.username.empty() && options.password.empty())
    fail("password", "is required when redis.username is given");
  options.db = count(params, "db", kPrefix, 0, 0);
  options.clientName = config::getString(params, "clientname", kPrefix);
  if (options.clientName.find_first_of(" \t\r\n") != std::string::npos)
    fail("clientname", "must not contain spaces");

  options.dialTimeout = timeout(params, "dialtimeout", kPrefix, options.dialTimeout);
  options.readTimeout = timeout(params, "readtimeout", kPrefix, options.readTimeout);
  options.writeTimeout = timeout(params, "writetimeout", kPrefix, options.writeTimeout);

  Poco::JSON::Object::Ptr pool = section(params, "pool");
  checkKeys(*pool, path("pool"), {"maxidle", "maxactive", "idletimeout"}, "of the redis pool");
  refuseBoth(params, "maxidleconns", *pool, "maxidle");
  refuseBoth(params, "connmaxidletime", *pool, "idletimeout");
  refuseBoth(params, "poolsize", *pool, "maxactive");
  refuseBoth(params, "maxactiveconns", *pool, "maxactive");
  if (given(params, "poolsize") && given(params, "maxactiveconns"))
    fail("maxactiveconns", "conflicts with redis.poolsize; give one of them");

  // Distribution 2.x's redigo took maxactive 0 as "unbounded"; this cache
  // always bounds its connections.
  const std::string poolPrefix = path("pool");
  std::int64_t maxActive = static_cast<std::int64_t>(options.maxActive);
  if (given(*pool, "maxactive")) maxActive = count(*pool, "maxactive", poolPrefix, maxActive, 1);
  if (given(params, "poolsize")) maxActive = count(params, "poolsize", kPrefix, maxActive, 1);
  if (given(params, "maxactiveconns")) maxActive = count(params, "maxactiveconns", kPrefix, maxActive, 1);
  options.maxActive = static_cast<std::size_t>(maxActive);

  std::int64_t maxIdle = static_cast<std::int64_t>(options.maxIdle);
  if (given(*pool, "maxidle")) maxIdle = count(*pool, "maxidle", poolPrefix, maxIdle, 0);
  if (given(params, "maxidleconns")) maxIdle = count(params, "maxidleconns", kPrefix, maxIdle, 0);
  options.maxIdle = std::min(static_cast<std::size_t>(maxIdle), options.maxActive);

  if (given(*pool, "idletimeout")) options.idleTimeout = limit(*pool, "idletimeout", poolPrefix, {});
  if (given(params, "connmaxidletime")) options.idleTimeout = limit(params, "connmaxidletime", kPrefix, {});
  options.maxLifetime = limit(params, "connmaxlifetime", kPrefix, options.maxLifetime);
  // By default a call waits for a busy pool no longer than for an answer.
  options.poolTimeout = timeout(params, "pooltimeout", kPrefix, options.readTimeout);

  Poco::JSON::Object::Ptr tls = section(params, "tls");
  checkKeys(*tls, path("tls"), {"enabled", "certificate", "key", "clientcas"}, "of redis.tls");
  if (config::getBool(*tls, "enabled", path("tls"), false))
    fail("tls.enabled", "not supported: the redis cache connects without TLS");
  for (const char* key : {"certificate", "key", "clientcas"}) {
    if (given(*tls, key))
      fail(std::string("tls.") + key, "not supported: the redis cache connects without TLS");
  }
  return options;
}

} // namespace pier::redis
