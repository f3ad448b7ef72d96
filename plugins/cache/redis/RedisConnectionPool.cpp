#include "RedisConnectionPool.hpp"

#include <algorithm>

#include <Poco/Exception.h>

#include <pier/errors.hpp>

namespace pier::redis {

namespace {

std::string describe(const std::exception& error) {
  if (const auto* poco = dynamic_cast<const Poco::Exception*>(&error)) return poco->displayText();
  return error.what();
}

std::string milliseconds(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + "ms";
}

} // namespace

RedisConnectionPool::RedisConnectionPool(RedisOptions options)
    : options_(std::move(options)), address_(options_.address()) {}

RedisConnectionPool::~RedisConnectionPool() = default;

std::vector<Poco::Redis::RedisType::Ptr>
RedisConnectionPool::execute(const Context& context, const std::vector<Poco::Redis::Array>& commands) {
  context.throwIfDone();
  // At most two attempts: the second only when a pooled connection turned out closed.
  for (int attempt = 0; attempt < 2; ++attempt) {
    Lease lease = acquire(context, attempt > 0);
    try {
      auto replies = lease.connection->roundTrip(commands);
      giveBack(std::move(lease.connection));
      succeeded(context);
      return replies;
    } catch (const Poco::TimeoutException&) {
      discard(std::move(lease.connection));
      std::string what = "no answer within the timeouts (readtimeout " + milliseconds(options_.readTimeout) +
                         ", writetimeout " + milliseconds(options_.writeTimeout) + ")";
      failed(context, what);
      throw CacheUnavailableError(unavailable(what));
    } catch (const std::exception& e) {
      discard(std::move(lease.connection));
      if (lease.reused && attempt == 0) {
        // The server closed this pooled connection (it restarted, or timed the
        // connection out): once more on a new connection.
        if (lease.probe) abandonProbe();
        continue;
      }
      std::string what = "connection lost: " + describe(e);
      failed(context, what);
      throw CacheUnavailableError(unavailable(what));
    }
  }
  throw CacheUnavailableError(unavailable("connection lost twice"));
}

RedisConnectionPool::Lease RedisConnectionPool::acquire(const Context& context, bool fresh) {
  Connections closing; // closed once the lock is released (declared first, destroyed last)
  std::unique_lock lock(mutex_);
  Lease lease;
  if (failures_ > 0) {
    Clock::time_point now = Clock::now();
    if (probing_ || now < retryAt_) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(std::max(retryAt_ - now, {}));
      throw CacheUnavailableError(unavailable(
          lastError_ + (probing_ ? "; being retried now" : "; retrying in " + milliseconds(wait))));
    }
    probing_ = true;
    lease.probe = true;
  }

  const Clock::time_point waitUntil = std::min(Clock::now() + options_.poolTimeout, context.deadline());
  for (;;) {
    Clock::time_point now = Clock::now();
    takeExpiredIdle(now, closing);
    while (!fresh && !idle_.empty()) {
      std::unique_ptr<RedisConnection> connection = std::move(idle_.back().connection);
      idle_.pop_back();
      if (expired(*connection, now) || connection->hasUnexpectedInput()) {
        --open_;
        closing.push_back(std::move(connection));
        continue;
      }
      lease.connection = std::move(connection);
      lease.reused = true;
      return lease;
    }
    if (open_ < options_.maxActive) {
      ++open_;
      break;
    }
    if (fresh && !idle_.empty()) {
      // Room for a new connection in place of an idle one.
      closing.push_back(std::move(idle_.front().connection));
      idle_.pop_front();
      break;
    }
    if (now >= waitUntil) {
      if (lease.probe) probing_ = false;
      throw CacheUnavailableError(unavailable("all " + std::to_string(options_.maxActive) +
                                              " connections (pool.maxactive) are in use"));
    }
    released_.wait_until(lock, waitUntil);
  }
  lock.unlock();
  closing.clear();

  try {
    lease.connection = std::make_unique<RedisConnection>(options_);
  } catch (const std::exception& e) {
    {
      std::lock_guard relock(mutex_);
      --open_;
    }
    released_.notify_one();
    std::string what = "cannot connect: " + describe(e);
    failed(context, what);
    throw CacheUnavailableError(unavailable(what));
  }
  return lease;
}

void RedisConnectionPool::giveBack(std::unique_ptr<RedisConnection> connection) {
  {
    std::lock_guard lock(mutex_);
    Clock::time_point now = Clock::now();
    if (idle_.size() < options_.maxIdle && !expired(*connection, now)) {
      idle_.push_back(Idle{std::move(connection), now});
    } else {
      --open_;
    }
  }
  released_.notify_one();
  // A connection not kept is closed here, outside the lock.
}

void RedisConnectionPool::discard(std::unique_ptr<RedisConnection> connection) {
  {
    std::lock_guard lock(mutex_);
    --open_;
  }
  released_.notify_one();
  connection.reset();
}

void RedisConnectionPool::succeeded(const Context& context) {
  if (!degraded_.load(std::memory_order_acquire)) return;
  bool recovered;
  {
    std::lock_guard lock(mutex_);
    recovered = failures_ > 0;
    failures_ = 0;
    probing_ = false;
    lastError_.clear();
    degraded_.store(false, std::memory_order_release);
  }
  if (recovered) context.log(LogLevel::info, "redis cache at " + address_ + " answers again");
}

void RedisConnectionPool::failed(const Context& context, const std::string& what) {
  Connections closing;
  bool first;
  std::chrono::milliseconds backoff;
  {
    std::lock_guard lock(mutex_);
    ++failures_;
    first = failures_ == 1;
    unsigned doublings = std::min(failures_ - 1, 5u);
    backoff = std::min(kFirstBackoff * (1 << doublings), kMaxBackoff);
    retryAt_ = Clock::now() + backoff;
    probing_ = false;
    lastError_ = what;
    degraded_.store(true, std::memory_order_release);
    // Connections idle since before the failure are likely as dead as the one that failed.
    for (auto& idle : idle_) closing.push_back(std::move(idle.connection));
    open_ -= idle_.size();
    idle_.clear();
  }
  released_.notify_all();
  if (first)
    context.log(LogLevel::warn, "redis cache at " + address_ + " unavailable: " + what +
                                    "; calls go to storage, retrying in " + milliseconds(backoff));
}

void RedisConnectionPool::abandonProbe() {
  std::lock_guard lock(mutex_);
  probing_ = false;
}

bool RedisConnectionPool::expired(const RedisConnection& connection, Clock::time_point now) const {
  return options_.maxLifetime.count() > 0 && now - connection.createdAt() >= options_.maxLifetime;
}

void RedisConnectionPool::takeExpiredIdle(Clock::time_point now, Connections& closing) {
  if (options_.idleTimeout.count() == 0) return;
  while (!idle_.empty() && now - idle_.front().since >= options_.idleTimeout) {
    closing.push_back(std::move(idle_.front().connection));
    idle_.pop_front();
    --open_;
  }
}

std::string RedisConnectionPool::unavailable(const std::string& reason) const {
  return "redis cache at " + address_ + " unavailable: " + reason;
}

} // namespace pier::redis
