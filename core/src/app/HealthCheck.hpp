#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <pier/storage_driver.hpp>

namespace pier {

// Distribution's health.storagedriver check: every `interval` a background
// thread stats the storage driver's root; the check fails once `threshold`
// consecutive stats failed (0 or 1: the first failure) and passes again after
// one that succeeds. Until the first stat, one interval after start, it passes.
class HealthCheck {
public:
  struct Settings {
    std::chrono::milliseconds interval; // 0 or less: 10 s, as in Distribution
    int threshold = 1;                  // 0 or less: 1
  };

  // Starts the background thread.
  HealthCheck(StorageDriver& driver, Logger& logger, Settings settings);
  ~HealthCheck(); // stops the thread, waiting for a running stat to end
  HealthCheck(const HealthCheck&) = delete;
  HealthCheck& operator=(const HealthCheck&) = delete;

  // The failing checks, by name ("storagedriver_filesystem") with their
  // error; empty while healthy.
  std::map<std::string, std::string> failures() const;

  // One stat of the driver's root: its error, or nothing when it answered (a
  // root that does not exist yet is an answer).
  static std::optional<std::string> checkStorageDriver(const Context& context, StorageDriver& driver);

private:
  void run();
  void record(const Context& context, const std::optional<std::string>& error);

  StorageDriver& driver_;
  Logger& logger_;
  Settings settings_;
  const std::string name_; // "storagedriver_<driver>"

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int consecutiveFailures_ = 0;
  std::optional<std::string> failure_; // set once the threshold is reached
  std::thread thread_;                 // last: started once the rest is set
};

} // namespace pier
