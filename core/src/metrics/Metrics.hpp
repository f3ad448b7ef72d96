#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/TextExposition.hpp"

namespace pier {

// Latencies in buckets of upper bounds from 100 µs to 60 s: a HEAD takes
// tens of microseconds, a large upload's commit to S3 seconds.
class LatencyHistogram {
public:
  static constexpr std::array<std::uint64_t, 18> kBoundsNanos = {
      100'000,       250'000,       500'000,       1'000'000,      2'500'000,      5'000'000,
      10'000'000,    25'000'000,    50'000'000,    100'000'000,    250'000'000,    500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000, 30'000'000'000, 60'000'000'000};

  void observe(std::chrono::nanoseconds duration);
  void write(metrics::TextExposition& out, metrics::Labels labels) const;

private:
  std::array<std::atomic<std::uint64_t>, kBoundsNanos.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sumNanos_{0};
};

// The storage driver calls measured (MeteredStorageDriver), with
// Distribution's names for them; commit is a writer's commit.
enum class StorageOperation {
  getContent,
  putContent,
  reader,
  writer,
  commit,
  stat,
  list,
  move,
  remove,
  redirectUrl,
  walk
};
inline constexpr std::size_t kStorageOperations = 11;

enum class CacheLookup { hit, miss, error };

// The registry's Prometheus metrics (http.debug.prometheus): every series is
// preallocated at startup and counted with relaxed atomics, so that a request
// costs a few atomic adds and no allocation or lock. render() writes them all
// in the text format for the debug listener's page.
class Metrics {
public:
  // routeNames: the route table's names, by route index (rows of one
  // endpoint share a name and a series); requests that match no route are
  // counted under "unmatched". cacheName: the blob descriptor cache's
  // plugin, empty for none.
  Metrics(std::vector<std::string_view> routeNames, std::string driverName, std::string cacheName);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One request answered: routeIndex into routeNames (any larger index when
  // none matched), bytes of the request body read and of the response body sent.
  void requestServed(std::size_t routeIndex, std::string_view method, int status,
                     std::chrono::nanoseconds duration, std::uint64_t bytesIn, std::uint64_t bytesOut);
  // Requests streaming a body into an upload.
  void uploadStarted() { uploadsInFlight_.fetch_add(1, std::memory_order_relaxed); }
  void uploadEnded() { uploadsInFlight_.fetch_sub(1, std::memory_order_relaxed); }
  void cacheLookedUp(CacheLookup result);
  // failed: the call threw anything but PathNotFoundError (a missing path is an answer).
  void storageCalled(StorageOperation operation, bool failed, std::chrono::nanoseconds duration);
  // A garbage collection finished (or failed), with what it deleted.
  void garbageCollected(bool succeeded, std::uint64_t blobsDeleted, std::uint64_t bytesFreed);

  // Families others keep (the notifier's per endpoint figures), written after
  // these by render(); add before serving.
  void addSource(std::function<void(metrics::TextExposition&)> source);
  std::string render() const;

  // The slot of a status code in a route's counters; codes Pier never sends
  // share their class's slot ("4xx"), and 0 (nothing sent) is "none". Public for tests.
  static std::size_t statusSlot(int status);

private:
  struct RouteSeries;

  std::vector<std::string_view> seriesNames_; // distinct route names, then "unmatched"
  std::vector<std::size_t> seriesOfRoute_;    // by route index
  std::string driverName_;
  std::string cacheName_;
  std::unique_ptr<RouteSeries[]> routes_; // by seriesNames_ index
  std::atomic<std::int64_t> uploadsInFlight_{0};
  std::array<std::atomic<std::uint64_t>, 3> cacheLookups_{};
  struct StorageSeries {
    std::atomic<std::uint64_t> calls{0};
    std::atomic<std::uint64_t> errors{0};
    LatencyHistogram latency;
  };
  std::array<StorageSeries, kStorageOperations> storage_{};
  std::array<std::atomic<std::uint64_t>, 2> gcRuns_{}; // failed, succeeded
  std::atomic<std::uint64_t> gcBlobsDeleted_{0};
  std::atomic<std::uint64_t> gcBytesFreed_{0};
  std::vector<std::function<void(metrics::TextExposition&)>> sources_;
};

} // namespace pier
