#include "metrics/Metrics.hpp"

#include <algorithm>

namespace pier {

using metrics::MetricType;
using metrics::TextExposition;

namespace {

// The codes Pier answers with (the registered error codes' and the API's);
// any other code is counted in its class's slot, after these.
constexpr std::array<int, 33> kStatusCodes = {200, 201, 202, 204, 206, 301, 302, 304, 307, 308, 400,
                                              401, 403, 404, 405, 406, 408, 409, 411, 412, 413, 414,
                                              415, 416, 422, 429, 431, 500, 501, 502, 503, 504, 505};
// "none": no answer was sent (the client went away first).
constexpr std::array<std::string_view, 6> kStatusClasses = {"1xx", "2xx", "3xx", "4xx", "5xx", "none"};
constexpr std::size_t kStatusSlots = kStatusCodes.size() + kStatusClasses.size();

// Request methods with a series each; anything else is "other".
constexpr std::array<std::string_view, 8> kMethods = {"GET",   "HEAD",   "POST",    "PUT",
                                                      "PATCH", "DELETE", "OPTIONS", "other"};

std::size_t methodSlot(std::string_view method) {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i) {
    if (method == kMethods[i]) return i;
  }
  return kMethods.size() - 1;
}

// Labels as Distribution's storage metrics name the driver calls.
constexpr std::array<std::string_view, kStorageOperations> kStorageOperationNames = {
    "GetContent", "PutContent", "Reader", "Writer",      "Commit", "Stat",
    "List",       "Move",       "Delete", "RedirectURL", "Walk"};

constexpr std::array<double, LatencyHistogram::kBoundsNanos.size()> boundsInSeconds() {
  std::array<double, LatencyHistogram::kBoundsNanos.size()> seconds{};
  for (std::size_t i = 0; i < seconds.size(); ++i)
    seconds[i] = static_cast<double>(LatencyHistogram::kBoundsNanos[i]) / 1e9;
  return seconds;
}
constexpr auto kBoundsSeconds = boundsInSeconds();

} // namespace

void LatencyHistogram::observe(std::chrono::nanoseconds duration) {
  auto nanos = static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0));
  std::size_t bucket = static_cast<std::size_t>(
      std::lower_bound(kBoundsNanos.begin(), kBoundsNanos.end(), nanos) - kBoundsNanos.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sumNanos_.fetch_add(nanos, std::memory_order_relaxed);
}

void LatencyHistogram::write(TextExposition& out, metrics::Labels labels) const {
  std::array<std::uint64_t, kBoundsNanos.size() + 1> counts;
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = buckets_[i].load(std::memory_order_relaxed);
  out.histogram(labels, kBoundsSeconds, counts,
                static_cast<double>(sumNanos_.load(std::memory_order_relaxed)) / 1e9);
}

struct Metrics::RouteSeries {
  std::array<std::array<std::atomic<std::uint64_t>, kStatusSlots>, kMethods.size()> requests{};
  LatencyHistogram latency;
  std::atomic<std::uint64_t> bytesIn{0};
  std::atomic<std::uint64_t> bytesOut{0};

  bool used() const {
    for (const auto& method : requests) {
      for (const auto& count : method) {
        if (count.load(std::memory_order_relaxed) != 0) return true;
      }
    }
    return false;
  }
};

std::size_t Metrics::statusSlot(int status) {
  // Built once: the slot of every code from 100 to 599.
  static const auto slots = [] {
    std::array<std::uint8_t, 500> table{};
    for (int code = 100; code < 600; ++code)
      table[static_cast<std::size_t>(code - 100)] =
          static_cast<std::uint8_t>(kStatusCodes.size() + code / 100 - 1);
    for (std::size_t i = 0; i < kStatusCodes.size(); ++i)
      table[static_cast<std::size_t>(kStatusCodes[i] - 100)] = static_cast<std::uint8_t>(i);
    return table;
  }();
  if (status < 100 || status > 599) return kStatusSlots - 1;
  return slots[static_cast<std::size_t>(status - 100)];
}

Metrics::Metrics(std::vector<std::string_view> routeNames, std::string driverName, std::string cacheName)
    : driverName_(std::move(driverName)), cacheName_(std::move(cacheName)) {
  for (std::string_view name : routeNames) {
    auto known = std::find(seriesNames_.begin(), seriesNames_.end(), name);
    seriesOfRoute_.push_back(static_cast<std::size_t>(known - seriesNames_.begin()));
    if (known == seriesNames_.end()) seriesNames_.push_back(name);
  }
  seriesNames_.push_back("unmatched");
  routes_ = std::make_unique<RouteSeries[]>(seriesNames_.size());
}

Metrics::~Metrics() = default;

void Metrics::requestServed(std::size_t routeIndex, std::string_view method, int status,
                            std::chrono::nanoseconds duration, std::uint64_t bytesIn,
                            std::uint64_t bytesOut) {
  RouteSeries& route =
      routes_[routeIndex < seriesOfRoute_.size() ? seriesOfRoute_[routeIndex] : seriesNames_.size() - 1];
  route.requests[methodSlot(method)][statusSlot(status)].fetch_add(1, std::memory_order_relaxed);
  route.latency.observe(duration);
  if (bytesIn) route.bytesIn.fetch_add(bytesIn, std::memory_order_relaxed);
  if (bytesOut) route.bytesOut.fetch_add(bytesOut, std::memory_order_relaxed);
}

void Metrics::cacheLookedUp(CacheLookup result) {
  cacheLookups_[static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::storageCalled(StorageOperation operation, bool failed, std::chrono::nanoseconds duration) {
  StorageSeries& series = storage_[static_cast<std::size_t>(operation)];
  series.calls.fetch_add(1, std::memory_order_relaxed);
  if (failed) series.errors.fetch_add(1, std::memory_order_relaxed);
  series.latency.observe(duration);
}

void Metrics::garbageCollected(bool succeeded, std::uint64_t blobsDeleted, std::uint64_t bytesFreed) {
  gcRuns_[succeeded ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
  gcBlobsDeleted_.fetch_add(blobsDeleted, std::memory_order_relaxed);
  gcBytesFreed_.fetch_add(bytesFreed, std::memory_order_relaxed);
}

void Metrics::addSource(std::function<void(TextExposition&)> source) {
  sources_.push_back(std::move(source));
}

std::string Metrics::render() const {
  TextExposition out;
  auto load = [](const std::atomic<std::uint64_t>& value) { return value.load(std::memory_order_relaxed); };
  // Routes that saw no request are left out, so a scrape stays short.
  auto routeName = [this](std::size_t index) { return seriesNames_[index]; };
  std::vector<std::size_t> usedRoutes;
  for (std::size_t i = 0; i < seriesNames_.size(); ++i) {
    if (routes_[i].used()) usedRoutes.push_back(i);
  }

  out.family("pier_http_requests_total", MetricType::counter,
             "Requests answered, by method, route and status code.");
  for (std::size_t index : usedRoutes) {
    const RouteSeries& route = routes_[index];
    for (std::size_t method = 0; method < kMethods.size(); ++method) {
      for (std::size_t slot = 0; slot < kStatusSlots; ++slot) {
        std::uint64_t count = load(route.requests[method][slot]);
        if (count == 0) continue;
        std::string status = slot < kStatusCodes.size()
                                 ? std::to_string(kStatusCodes[slot])
                                 : std::string(kStatusClasses[slot - kStatusCodes.size()]);
        out.sample({{"method", kMethods[method]}, {"route", routeName(index)}, {"status", status}}, count);
      }
    }
  }
  out.family("pier_http_request_duration_seconds", MetricType::histogram,
             "Time from a request's head to its response, by route.");
  for (std::size_t index : usedRoutes) routes_[index].latency.write(out, {{"route", routeName(index)}});
  out.family("pier_http_request_body_bytes_total", MetricType::counter, "Request body bytes read, by route.");
  for (std::size_t index : usedRoutes)
    out.sample({{"route", routeName(index)}}, load(routes_[index].bytesIn));
  out.family("pier_http_response_body_bytes_total", MetricType::counter,
             "Response body bytes sent, by route.");
  for (std::size_t index : usedRoutes)
    out.sample({{"route", routeName(index)}}, load(routes_[index].bytesOut));
  out.family("pier_http_uploads_in_flight", MetricType::gauge,
             "Requests streaming a body into a blob upload.");
  out.sample({}, static_cast<std::int64_t>(uploadsInFlight_.load(std::memory_order_relaxed)));

  if (!cacheName_.empty()) {
    static constexpr std::array<std::string_view, 3> kLookupFamilies = {
        "pier_blob_descriptor_cache_hits_total", "pier_blob_descriptor_cache_misses_total",
        "pier_blob_descriptor_cache_errors_total"};
    static constexpr std::array<std::string_view, 3> kLookupHelp = {
        "Blob descriptor lookups the cache answered.", "Blob descriptor lookups the cache did not know.",
        "Blob descriptor lookups that failed in the cache (storage answered)."};
    for (std::size_t i = 0; i < kLookupFamilies.size(); ++i) {
      out.family(kLookupFamilies[i], MetricType::counter, kLookupHelp[i]);
      out.sample({{"cache", cacheName_}}, load(cacheLookups_[i]));
    }
  }

  out.family("pier_storage_driver_calls_total", MetricType::counter, "Storage driver calls, by operation.");
  for (std::size_t i = 0; i < kStorageOperations; ++i)
    out.sample({{"driver", driverName_}, {"operation", kStorageOperationNames[i]}}, load(storage_[i].calls));
  out.family("pier_storage_driver_errors_total", MetricType::counter,
             "Storage driver calls that failed (a path not found is no failure), by operation.");
  for (std::size_t i = 0; i < kStorageOperations; ++i)
    out.sample({{"driver", driverName_}, {"operation", kStorageOperationNames[i]}}, load(storage_[i].errors));
  out.family("pier_storage_driver_duration_seconds", MetricType::histogram,
             "Storage driver call latency, by operation.");
  for (std::size_t i = 0; i < kStorageOperations; ++i) {
    if (load(storage_[i].calls) == 0) continue;
    storage_[i].latency.write(out, {{"driver", driverName_}, {"operation", kStorageOperationNames[i]}});
  }

  out.family("pier_gc_runs_total", MetricType::counter, "Garbage collections finished, by result.");
  out.sample({{"result", "ok"}}, load(gcRuns_[1]));
  out.sample({{"result", "failed"}}, load(gcRuns_[0]));
  out.family("pier_gc_blobs_deleted_total", MetricType::counter, "Blobs garbage collection deleted.");
  out.sample({}, load(gcBlobsDeleted_));
  out.family("pier_gc_bytes_freed_total", MetricType::counter, "Bytes of blobs garbage collection deleted.");
  out.sample({}, load(gcBytesFreed_));

  for (const auto& source : sources_) source(out);
  return out.text();
}

} // namespace pier
