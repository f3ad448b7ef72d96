#pragma once

#include <chrono>
#include <cstddef>

#include <pier/storage_driver.hpp>

#include "util/PeriodicTask.hpp"

namespace pier {

// Removes abandoned uploads (Distribution's storage.maintenance.uploadpurging):
// every `interval`, uploads whose startedat is older than `age` are deleted,
// or only logged in a dry run.
class UploadPurger {
public:
  struct Settings {
    std::chrono::milliseconds age;
    std::chrono::milliseconds interval;
    bool dryRun = false;
  };

  // Starts the background thread; its first pass runs one interval after start.
  UploadPurger(StorageDriver& driver, Logger& logger, Settings settings);
  // Destruction stops the thread, waiting for a running pass to end.
  UploadPurger(const UploadPurger&) = delete;
  UploadPurger& operator=(const UploadPurger&) = delete;

  // One pass: uploads started before `startedBefore` are removed (unless
  // dryRun). Returns how many were (or would have been) removed.
  static std::size_t purge(const Context& context, StorageDriver& driver,
                           std::chrono::system_clock::time_point startedBefore, bool dryRun);

private:
  void pass();

  StorageDriver& driver_;
  Logger& logger_;
  Settings settings_;
  PeriodicTask task_; // last: its thread uses the members above
};

} // namespace pier
