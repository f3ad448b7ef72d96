#include "app/HealthCheck.hpp"

#include <algorithm>

namespace pier {

namespace {

HealthCheck::Settings withDefaults(HealthCheck::Settings settings) {
  if (settings.interval <= std::chrono::milliseconds::zero()) settings.interval = std::chrono::seconds(10);
  settings.threshold = std::max(settings.threshold, 1);
  return settings;
}

} // namespace

HealthCheck::HealthCheck(StorageDriver& driver, Logger& logger, Settings settings)
    : driver_(driver), logger_(logger), settings_(withDefaults(settings)),
      name_("storagedriver_" + driver.name()), thread_([this] { run(); }) {}

HealthCheck::~HealthCheck() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::map<std::string, std::string> HealthCheck::failures() const {
  std::lock_guard lock(mutex_);
  if (!failure_) return {};
  return {{name_, *failure_}};
}

std::optional<std::string> HealthCheck::checkStorageDriver(const Context& context, StorageDriver& driver) {
  try {
    driver.stat(context, "/");
  } catch (const PathNotFoundError&) {
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

void HealthCheck::run() {
  Context context("health-check", logger_);
  std::unique_lock lock(mutex_);
  // The wait, not a sleep, so that stopping does not wait for the next interval.
  while (!wake_.wait_for(lock, settings_.interval, [this] { return stopping_; })) {
    lock.unlock();
    std::optional<std::string> error = checkStorageDriver(context, driver_);
    lock.lock();
    record(context, error);
  }
}

// Called with mutex_ held.
void HealthCheck::record(const Context& context, const std::optional<std::string>& error) {
  if (!error) {
    if (failure_) context.log(LogLevel::info, name_ + " is healthy again");
    consecutiveFailures_ = 0;
    failure_.reset();
    return;
  }
  ++consecutiveFailures_;
  if (consecutiveFailures_ < settings_.threshold) return;
  if (!failure_) context.log(LogLevel::warn, name_ + " is unhealthy: " + *error);
  failure_ = error;
}

} // namespace pier
