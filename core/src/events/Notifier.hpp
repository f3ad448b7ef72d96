#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pier/notification_sink.hpp>

#include "app/LineLogger.hpp"
#include "config/Config.hpp"
#include "events/DurableQueue.hpp"
#include "events/EventSink.hpp"
#include "metrics/TextExposition.hpp"

namespace pier {

// What /debug/notifications shows of one endpoint.
struct EndpointFigures {
  std::string name;
  std::string url;
  std::uint64_t pending = 0;          // events queued, not yet delivered
  std::uint64_t successes = 0;        // events delivered
  std::uint64_t failures = 0;         // events in deliveries that failed (each retry counts again)
  std::uint64_t dropped = 0;          // events lost at the queue's bound since the start
  std::uint64_t deliveries = 0;       // deliveries (batches) that succeeded
  std::uint64_t failedDeliveries = 0; // and that failed
  std::vector<int> lastStatusCodes;   // the receiver's answers to the last deliveries, oldest first (0: none)
  std::string lastError;
};

// The broadcaster (Distribution's Broadcaster with an Endpoint per entry):
// publish() logs the event, filters it per endpoint (ignore rules) and
// appends it to the endpoint's durable queue, on the request's thread, before
// the response; a delivery thread per endpoint sends the queue in order,
// in batches, to the endpoint's sink plugin and retries failures forever:
// immediately up to `threshold` failures in a row, then once per `backoff`
// (Distribution's breaker). One more thread syncs every queue to the disk
// about once a second.
class Notifier final : public EventSink {
public:
  struct Endpoint {
    Config::Notifications::Endpoint settings;
    std::shared_ptr<NotificationSink> sink;
    std::unique_ptr<DurableQueue> queue;
  };

  Notifier(std::vector<Endpoint> endpoints, LineLogger& logger);
  ~Notifier() override;

  void publish(const Event& event) override;
  std::string writeRefusal() const override;

  std::vector<EndpointFigures> figures() const;
  // The figures as Prometheus families (pier_notifications_*), for /metrics.
  void writeMetrics(metrics::TextExposition& out) const;

  // Stops the delivery threads: waits, up to `bound`, for a delivery in
  // flight (its context is cancelled; what it carried stays queued). False
  // when a sink did not return in time: its thread is left running, and the
  // process must exit without unloading plugins.
  bool stop(std::chrono::milliseconds bound);

private:
  struct Worker;
  void syncQueues();

  std::vector<std::shared_ptr<Worker>> workers_;
  std::thread syncer_;
  std::mutex syncMutex_;
  std::condition_variable syncWake_;
  bool syncStopping_ = false;
  LoggingEventSink log_;
  LineLogger& logger_;
  bool stopped_ = false;
};

// The figures as /debug/notifications answers them: {"endpoints": [{name, url, pending, ...}]}.
std::string figuresJson(const std::vector<EndpointFigures>& figures);

// Whether an endpoint's ignore rules drop the event (media type or action listed).
bool ignoredBy(const Config::Notifications::Endpoint& endpoint, const Event& event);

} // namespace pier
