#pragma once

#include <pier/blob_descriptor_cache.hpp>
#include <pier/storage_driver.hpp>

#include "config/Config.hpp"
#include "metrics/Metrics.hpp"
#include "util/PeriodicTask.hpp"

namespace pier {

// storage.maintenance.gc inside `pier serve`: every interval a garbage
// collection (GarbageCollector, with the grace period) runs beside the
// requests, unless another process on the storage collected less than an
// interval ago or is collecting now. Progress goes to the log at debug
// level, the summary at info.
class ScheduledCollection {
public:
  // metrics may be null (Prometheus metrics off).
  ScheduledCollection(StorageDriver& driver, BlobDescriptorCache* cache, Logger& logger,
                      Config::Storage::GarbageCollection settings, Metrics* metrics);

private:
  void pass();

  StorageDriver& driver_;
  BlobDescriptorCache* cache_;
  Logger& logger_;
  Config::Storage::GarbageCollection settings_;
  Metrics* metrics_;
  PeriodicTask task_; // last: its thread uses the members above
};

} // namespace pier
