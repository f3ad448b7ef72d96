#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "pier/errors.hpp"

namespace pier {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Where plugins write log lines; the server decides format and destination.
class PIER_SDK_API Logger {
public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;
  virtual bool enabled(LogLevel level) const { return level >= LogLevel::info; }
};

// Passed first to every driver, cache, access controller and sink call: who
// asked (request id, and the user the access controller granted), where to
// log, and until when the work is wanted.
class PIER_SDK_API Context {
public:
  using Clock = std::chrono::steady_clock;

  Context(std::string requestId, Logger& logger, Clock::time_point deadline = Clock::time_point::max(),
          std::shared_ptr<const std::atomic<bool>> cancelFlag = {})
      : requestId_(std::move(requestId)), logger_(&logger), deadline_(deadline),
        cancelFlag_(std::move(cancelFlag)) {}

  const std::string& requestId() const noexcept { return requestId_; }
  // The granted user; "" before authorization or when no access controller names one.
  const std::string& user() const noexcept { return user_; }
  void setUser(std::string user) { user_ = std::move(user); }
  Logger& logger() const noexcept { return *logger_; }
  Clock::time_point deadline() const noexcept { return deadline_; }

  bool done() const noexcept {
    return (cancelFlag_ && cancelFlag_->load(std::memory_order_relaxed)) || Clock::now() >= deadline_;
  }
  // Long operations call this between steps so that abandoned work stops.
  void throwIfDone() const {
    if (done()) throw CancelledError("request " + requestId_ + " was cancelled or passed its deadline");
  }

  void log(LogLevel level, std::string_view message) const {
    if (logger_->enabled(level)) logger_->log(level, message);
  }

private:
  std::string requestId_;
  std::string user_;
  Logger* logger_;
  Clock::time_point deadline_;
  std::shared_ptr<const std::atomic<bool>> cancelFlag_;
};

} // namespace pier
