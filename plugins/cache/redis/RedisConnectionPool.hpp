#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pier/context.hpp>

#include "RedisConnection.hpp"
#include "RedisOptions.hpp"

namespace pier::redis {

// A bounded pool of connections to one Redis server (redigo's Pool, as
// Distribution 2.x configures it): at most maxActive open at once, up to
// maxIdle kept for reuse, idle ones closed after idleTimeout. Connections are
// opened on demand, so a Redis that is down at startup does not stop the
// server. Idle connections are checked and closed when the pool is used: the
// pool has no thread of its own.
//
// When Redis fails (cannot be dialled, does not answer in time, drops the
// connection), the pool backs off: calls fail at once with
// CacheUnavailableError for a while (100ms, doubling with each failure up to
// 1s), then one call tries Redis again while the others still fail at once.
// When it answers, the pool is used as before, with no restart. So a dead
// Redis costs at most one dial or read timeout per back-off period, not one
// per request.
class RedisConnectionPool {
public:
  using Clock = std::chrono::steady_clock;

  static constexpr std::chrono::milliseconds kFirstBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{1000};

  explicit RedisConnectionPool(RedisOptions options);
  RedisConnectionPool(const RedisConnectionPool&) = delete;
  RedisConnectionPool& operator=(const RedisConnectionPool&) = delete;
  ~RedisConnectionPool();

  const RedisOptions& options() const { return options_; }

  // Sends the commands in one round trip on a pooled connection and returns
  // one reply per command (an error reply among them). Throws
  // CacheUnavailableError when Redis cannot answer, CancelledError when the
  // context is done.
  std::vector<Poco::Redis::RedisType::Ptr> execute(const Context& context,
                                                   const std::vector<Poco::Redis::Array>& commands);

private:
  struct Lease {
    std::unique_ptr<RedisConnection> connection;
    bool reused = false; // taken from the idle list rather than dialled for this call
    bool probe = false;  // the call that tries Redis again after a failure
  };
  struct Idle {
    std::unique_ptr<RedisConnection> connection;
    Clock::time_point since;
  };
  using Connections = std::vector<std::unique_ptr<RedisConnection>>;

  Lease acquire(const Context& context, bool fresh);
  void giveBack(std::unique_ptr<RedisConnection> connection);
  void discard(std::unique_ptr<RedisConnection> connection);
  void succeeded(const Context& context);
  void failed(const Context& context, const std::string& what);
  void abandonProbe();
  bool expired(const RedisConnection& connection, Clock::time_point now) const;
  void takeExpiredIdle(Clock::time_point now, Connections& closing);
  std::string unavailable(const std::string& reason) const;

  const RedisOptions options_;
  const std::string address_;

  std::mutex mutex_;
  std::condition_variable released_;
  std::deque<Idle> idle_; // most recently used at the back
  std::size_t open_ = 0;  // idle, in use and being dialled

  // Back-off after a failure; under mutex_ except the flag read on the fast path.
  std::atomic<bool> degraded_{false};
  unsigned failures_ = 0;
  Clock::time_point retryAt_{};
  bool probing_ = false;
  std::string lastError_;
};

} // namespace pier::redis
