#include "app/HealthCheck.hpp"

#include <algorithm>

namespace pier {

struct HealthCheck::Running {
  HealthProbe probe;
  int consecutiveFailures = 0;
  std::optional<std::string> failure; // set once the threshold is reached
  std::thread thread;
};

HealthProbe storageDriverProbe(StorageDriver& driver, std::chrono::milliseconds interval, int threshold) {
  return {"storagedriver_" + driver.name(),
          [&driver](const Context& context) { return HealthCheck::checkStorageDriver(context, driver); },
          interval, threshold};
}

HealthCheck::HealthCheck(std::vector<HealthProbe> probes, Logger& logger) : logger_(logger) {
  for (auto& probe : probes) {
    if (probe.interval <= std::chrono::milliseconds::zero()) probe.interval = std::chrono::seconds(10);
    probe.threshold = std::max(probe.threshold, 1);
    probes_.push_back(std::make_unique<Running>(Running{std::move(probe), 0, std::nullopt, {}}));
  }
  for (auto& running : probes_) running->thread = std::thread([this, &running = *running] { run(running); });
}

HealthCheck::~HealthCheck() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& running : probes_) running->thread.join();
}

std::map<std::string, std::string> HealthCheck::failures() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::string> failing;
  for (const auto& running : probes_)
    if (running->failure) failing.emplace(running->probe.name, *running->failure);
  return failing;
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

void HealthCheck::run(Running& running) {
  Context context("health-check", logger_);
  const HealthProbe& probe = running.probe;
  std::unique_lock lock(mutex_);
  // The wait, not a sleep, so that stopping does not wait for the next interval.
  while (!wake_.wait_for(lock, probe.interval, [this] { return stopping_; })) {
    lock.unlock();
    std::optional<std::string> error;
    try {
      error = probe.check(context);
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    if (!error) {
      if (running.failure) context.log(LogLevel::info, probe.name + " is healthy again");
      running.consecutiveFailures = 0;
      running.failure.reset();
      continue;
    }
    if (++running.consecutiveFailures < probe.threshold) continue;
    if (!running.failure) context.log(LogLevel::warn, probe.name + " is unhealthy: " + *error);
    running.failure = error;
  }
}

} // namespace pier
