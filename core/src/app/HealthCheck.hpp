#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pier/storage_driver.hpp>

namespace pier {

// One of Distribution's health checks: every `interval` a background thread
// runs `check`; it fails once `threshold` runs in a row failed (0 or 1: the
// first) and passes again after one that succeeds. Until its first run, one
// interval after start, it passes.
struct HealthProbe {
  std::string name;                                                // its key in /debug/health's answer
  std::function<std::optional<std::string>(const Context&)> check; // the error, or nothing when healthy
  std::chrono::milliseconds interval{0};                           // 0 or less: 10 s, as in Distribution
  int threshold = 1;                                               // 0 or less: 1
};

// health.storagedriver: a stat of the driver's root ("storagedriver_<driver>").
HealthProbe storageDriverProbe(StorageDriver& driver, std::chrono::milliseconds interval, int threshold);
// health.file: unhealthy while the file exists (an operator's switch to take an instance out of rotation).
HealthProbe fileProbe(std::string path, std::chrono::milliseconds interval, int threshold);
// health.http: a HEAD of uri, unhealthy unless it answers `status` within `timeout`.
HealthProbe httpProbe(std::string uri, std::vector<std::pair<std::string, std::string>> headers, int status,
                      std::chrono::milliseconds timeout, std::chrono::milliseconds interval, int threshold);
// health.tcp: unhealthy unless a connection to host:port opens within `timeout`.
HealthProbe tcpProbe(std::string address, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds interval, int threshold);

// Runs every probe on a thread of its own, so a slow one never delays the
// others or a request: /debug/health reads the last results.
class HealthCheck {
public:
  HealthCheck(std::vector<HealthProbe> probes, Logger& logger);
  ~HealthCheck(); // stops the threads, waiting for running checks to end
  HealthCheck(const HealthCheck&) = delete;
  HealthCheck& operator=(const HealthCheck&) = delete;

  // The failing checks, by name, with their error; empty while healthy.
  std::map<std::string, std::string> failures() const;

  // One stat of the driver's root: its error, or nothing when it answered (a
  // root that does not exist yet is an answer).
  static std::optional<std::string> checkStorageDriver(const Context& context, StorageDriver& driver);

private:
  struct Running;
  void run(Running& probe);

  Logger& logger_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Running>> probes_;
};

} // namespace pier
