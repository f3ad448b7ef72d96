#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <Poco/JSON/Object.h>

namespace pier::redis {

// The top-level `redis` section of the Distribution config, as the redis
// blob descriptor cache uses it. Both the Distribution 2.x keys (addr, pool.*)
// and their 3.x (go-redis) spellings are read; what Pier does not implement
// (Sentinel, Cluster, TLS) is refused with a ConfigError naming the key.
struct RedisOptions {
  using Duration = std::chrono::milliseconds;

  std::string host;
  std::uint16_t port = 0;
  std::string username; // Redis 6 ACL user; empty: AUTH with the password alone
  std::string password;
  std::int64_t db = 0;
  std::string clientName; // CLIENT SETNAME on each connection when set

  // Every call to Redis is bounded: 0 in the config means "the default".
  Duration dialTimeout{1000};
  Duration readTimeout{1000};
  Duration writeTimeout{1000};

  std::size_t maxIdle = 16;     // idle connections kept for reuse
  std::size_t maxActive = 64;   // connections open at once, idle or in use
  Duration idleTimeout{300000}; // an idle connection older than this is closed; 0: never
  Duration maxLifetime{0};      // a connection older than this is closed; 0: no limit
  Duration poolTimeout{1000};   // how long a call waits for a free connection when maxActive are in use

  // "host:port", for messages.
  std::string address() const;

  // Reads the section; throws pier::ConfigError naming "redis.<key>".
  static RedisOptions parse(const Poco::JSON::Object& section);
};

} // namespace pier::redis
