#include "events/Notifier.hpp"

#include <algorithm>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <pier/event_json.hpp>

namespace pier {

namespace {

constexpr std::size_t kBatchEvents = 100;          // events per delivery, at most
constexpr std::uint64_t kBatchBytes = 1024 * 1024; // and about this much JSON
constexpr auto kSyncInterval = std::chrono::seconds(1);
constexpr auto kRereadPause = std::chrono::milliseconds(100);
constexpr std::size_t kStatusesKept = 10;
constexpr auto kLossLogInterval = std::chrono::seconds(1);

bool listed(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string eventText(const Event& event) {
  std::ostringstream out;
  eventToJson(event)->stringify(out);
  return out.str();
}

} // namespace

std::string figuresJson(const std::vector<EndpointFigures>& figures) {
  Poco::JSON::Array::Ptr endpoints = new Poco::JSON::Array;
  for (const auto& endpoint : figures) {
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    json->set("name", endpoint.name);
    json->set("url", endpoint.url);
    json->set("pending", endpoint.pending);
    json->set("successes", endpoint.successes);
    json->set("failures", endpoint.failures);
    json->set("dropped", endpoint.dropped);
    Poco::JSON::Array::Ptr statuses = new Poco::JSON::Array;
    for (int status : endpoint.lastStatusCodes) statuses->add(status);
    json->set("lastStatusCodes", statuses);
    json->set("lastError", endpoint.lastError);
    endpoints->add(json);
  }
  Poco::JSON::Object document;
  document.set("endpoints", endpoints);
  std::ostringstream out;
  document.stringify(out);
  return out.str();
}

bool ignoredBy(const Config::Notifications::Endpoint& endpoint, const Event& event) {
  return listed(endpoint.ignoredMediaTypes, event.target.mediaType) ||
         listed(endpoint.ignoredActions, event.action);
}

struct Notifier::Worker {
  Worker(Endpoint endpoint, LineLogger& logger)
      : settings(std::move(endpoint.settings)), sink(std::move(endpoint.sink)),
        queue(std::move(endpoint.queue)), logger(logger) {}

  void run();
  // One delivery of a batch; true when the receiver took it.
  bool deliver(const std::vector<Event>& events);
  std::vector<Event> decode(const DurableQueue::Batch& batch);
  // Waits until `until` or stop(); false when stopping.
  bool pauseUntil(std::chrono::steady_clock::time_point until);
  void recordOutcome(bool delivered, std::size_t events, int status, const std::string& error);
  void countLoss(const Event& event, const std::string& error);

  const Config::Notifications::Endpoint settings;
  const std::shared_ptr<NotificationSink> sink;
  const std::unique_ptr<DurableQueue> queue;
  LineLogger& logger;
  std::thread thread;

  std::mutex mutex; // guards stopping and finished; `wake` signals both ways
  std::condition_variable wake;
  bool stopping = false;
  bool finished = false;
  const std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);

  // The breaker's state, the delivery thread's own.
  int failuresInARow = 0;
  std::chrono::steady_clock::time_point lastFailure;

  mutable std::mutex figuresMutex;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t failedDeliveries = 0;
  std::deque<int> statuses;
  std::string lastError;
  std::uint64_t lossesUnlogged = 0;
  std::chrono::steady_clock::time_point lastLossLog;
};

bool Notifier::Worker::pauseUntil(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mutex);
  wake.wait_until(lock, until, [this] { return stopping; });
  return !stopping;
}

std::vector<Event> Notifier::Worker::decode(const DurableQueue::Batch& batch) {
  std::vector<Event> events;
  events.reserve(batch.records.size());
  for (const auto& record : batch.records) {
    try {
      Poco::JSON::Parser parser;
      events.push_back(eventFromJson(*parser.parse(record.payload).extract<Poco::JSON::Object::Ptr>()));
    } catch (const std::exception& e) {
      // A record that checks out but holds no event was never written by this server: skip it.
      logger.write(LogLevel::error, "notification queue record is no event; skipped",
                   {{"endpoint", settings.name}, {"sequence", std::to_string(record.sequence)}});
    }
  }
  return events;
}

void Notifier::Worker::recordOutcome(bool delivered, std::size_t events, int status,
                                     const std::string& error) {
  std::lock_guard lock(figuresMutex);
  (delivered ? successes : failures) += events;
  ++(delivered ? deliveries : failedDeliveries);
  statuses.push_back(status);
  if (statuses.size() > kStatusesKept) statuses.pop_front();
  if (!delivered) lastError = error;
}

bool Notifier::Worker::deliver(const std::vector<Event>& events) {
  // The deadline is the endpoint's timeout; stop() cancels it.
  Context context("notifications-" + settings.name, logger,
                  std::chrono::steady_clock::now() + settings.timeout, cancelled);
  int status = 0;
  std::string error;
  try {
    status = sink->write(context, events);
    recordOutcome(true, events.size(), status, "");
    if (failuresInARow > 0)
      logger.write(LogLevel::info, "notification delivery recovered",
                   {{"endpoint", settings.name}, {"failures_in_a_row", std::to_string(failuresInARow)}});
    failuresInARow = 0;
    return true;
  } catch (const DeliveryError& e) {
    status = e.status();
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "the sink threw something that is not a std::exception";
  }
  recordOutcome(false, events.size(), status, error);
  ++failuresInARow;
  lastFailure = std::chrono::steady_clock::now();
  logger.write(LogLevel::warn, "notification delivery failed; the events stay queued",
               {{"endpoint", settings.name},
                {"events", std::to_string(events.size())},
                {"status", std::to_string(status)},
                {"error", error},
                {"failures_in_a_row", std::to_string(failuresInARow)}});
  return false;
}

void Notifier::Worker::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex);
      wake.wait(lock, [this] { return stopping || queue->pendingRecords() > 0; });
      if (stopping) break;
    }
    // Distribution's breaker: after `threshold` failures in a row, one attempt per `backoff`.
    if (failuresInARow >= settings.threshold && !pauseUntil(lastFailure + settings.backoff)) break;
    DurableQueue::Batch batch = queue->read(kBatchEvents, kBatchBytes);
    if (batch.records.empty()) {
      // Pending but not readable this moment (its segment was dropped meanwhile): read again shortly.
      if (!pauseUntil(std::chrono::steady_clock::now() + kRereadPause)) break;
      continue;
    }
    std::vector<Event> events = decode(batch);
    // Read again after a failure: dropoldest may have dropped part of the batch meanwhile.
    if (events.empty() || deliver(events)) queue->acknowledge(batch.end);
  }
  std::lock_guard lock(mutex);
  finished = true;
  wake.notify_all();
}

void Notifier::Worker::countLoss(const Event& event, const std::string& error) {
  std::uint64_t lost = 0;
  {
    std::lock_guard lock(figuresMutex);
    ++lossesUnlogged;
    auto now = std::chrono::steady_clock::now();
    if (now - lastLossLog < kLossLogInterval) return;
    lastLossLog = now;
    lost = lossesUnlogged;
    lossesUnlogged = 0;
  }
  // One line a second at most, counting the events lost since the last one.
  logger.write(LogLevel::warn, "notification events not queued",
               {{"endpoint", settings.name},
                {"events", std::to_string(lost)},
                {"last_event_id", event.id},
                {"error", error}});
}

Notifier::Notifier(std::vector<Endpoint> endpoints, LineLogger& logger) : log_(logger), logger_(logger) {
  for (auto& endpoint : endpoints) workers_.push_back(std::make_shared<Worker>(std::move(endpoint), logger));
  for (auto& worker : workers_) {
    // The thread holds the worker, so that one left running at exit (stop() returned false) keeps what it
    // uses.
    worker->thread = std::thread([worker] { worker->run(); });
  }
  syncer_ = std::thread([this] { syncQueues(); });
}

void Notifier::syncQueues() {
  // Apart from the delivery threads: one may wait out a long timeout on a receiver that does not answer,
  // and its queue must still reach the disk about once a second.
  std::unique_lock lock(syncMutex_);
  while (!syncStopping_) {
    syncWake_.wait_for(lock, kSyncInterval, [this] { return syncStopping_; });
    lock.unlock();
    for (const auto& worker : workers_) worker->queue->sync();
    lock.lock();
  }
}

Notifier::~Notifier() {
  if (!stopped_) stop(std::chrono::seconds(5));
}

void Notifier::publish(const Event& event) {
  log_.publish(event);
  std::string json; // made once, for the first endpoint that keeps the event
  for (const auto& worker : workers_) {
    if (ignoredBy(worker->settings, event)) continue;
    if (json.empty()) json = eventText(event);
    DurableQueue::Appended appended = worker->queue->append(json);
    if (!appended.queued) worker->countLoss(event, appended.error);
    if (appended.droppedOldest > 0)
      logger_.write(LogLevel::warn, "notification queue full; dropped the oldest undelivered events",
                    {{"endpoint", worker->settings.name},
                     {"events", std::to_string(appended.droppedOldest)},
                     {"dropped_total", std::to_string(worker->queue->dropped())}});
    std::lock_guard lock(worker->mutex);
    worker->wake.notify_all();
  }
}

std::string Notifier::writeRefusal() const {
  for (const auto& worker : workers_) {
    if (worker->queue->options().refuseWhenFull && worker->queue->atBound())
      return "the notification queue of endpoint \"" + worker->settings.name +
             "\" is full (notifications.queue.maxbytes); writes are refused until its receiver takes events "
             "again";
  }
  return {};
}

std::vector<EndpointFigures> Notifier::figures() const {
  std::vector<EndpointFigures> all;
  for (const auto& worker : workers_) {
    EndpointFigures entry;
    entry.name = worker->settings.name;
    entry.url = worker->settings.url;
    entry.pending = worker->queue->pendingRecords();
    entry.dropped = worker->queue->dropped();
    std::lock_guard lock(worker->figuresMutex);
    entry.successes = worker->successes;
    entry.failures = worker->failures;
    entry.deliveries = worker->deliveries;
    entry.failedDeliveries = worker->failedDeliveries;
    entry.lastStatusCodes.assign(worker->statuses.begin(), worker->statuses.end());
    entry.lastError = worker->lastError;
    all.push_back(std::move(entry));
  }
  return all;
}

void Notifier::writeMetrics(metrics::TextExposition& out) const {
  using metrics::MetricType;
  const std::vector<EndpointFigures> all = figures();
  out.family("pier_notifications_deliveries_total", MetricType::counter,
             "Deliveries (batches of events) to an endpoint, by result; each retry counts again.");
  for (const auto& endpoint : all) {
    out.sample({{"endpoint", endpoint.name}, {"result", "delivered"}}, endpoint.deliveries);
    out.sample({{"endpoint", endpoint.name}, {"result", "failed"}}, endpoint.failedDeliveries);
  }
  out.family("pier_notifications_events_total", MetricType::counter,
             "Events in deliveries to an endpoint, by result; each retry counts again.");
  for (const auto& endpoint : all) {
    out.sample({{"endpoint", endpoint.name}, {"result", "delivered"}}, endpoint.successes);
    out.sample({{"endpoint", endpoint.name}, {"result", "failed"}}, endpoint.failures);
  }
  out.family("pier_notifications_pending", MetricType::gauge,
             "Events queued for an endpoint, not yet delivered.");
  for (const auto& endpoint : all)
    out.sample({{"endpoint", endpoint.name}}, static_cast<std::int64_t>(endpoint.pending));
  out.family("pier_notifications_dropped_total", MetricType::counter,
             "Events dropped at the bound of an endpoint's queue.");
  for (const auto& endpoint : all) out.sample({{"endpoint", endpoint.name}}, endpoint.dropped);
}

bool Notifier::stop(std::chrono::milliseconds bound) {
  if (stopped_) return true;
  stopped_ = true;
  {
    std::lock_guard lock(syncMutex_);
    syncStopping_ = true;
    syncWake_.notify_all();
  }
  syncer_.join(); // its last pass syncs what was appended until now
  for (const auto& worker : workers_) {
    worker->cancelled->store(true);
    std::lock_guard lock(worker->mutex);
    worker->stopping = true;
    worker->wake.notify_all();
  }
  const auto deadline = std::chrono::steady_clock::now() + bound;
  bool allStopped = true;
  for (const auto& worker : workers_) {
    bool finished;
    {
      std::unique_lock lock(worker->mutex);
      finished = worker->wake.wait_until(lock, deadline, [&] { return worker->finished; });
    }
    if (finished) {
      worker->thread.join();
      worker->sink->close();
      continue;
    }
    allStopped = false;
    logger_.write(LogLevel::error, "notification sink did not return after shutdown; leaving it",
                  {{"endpoint", worker->settings.name}});
    worker->thread.detach();
  }
  return allStopped;
}

} // namespace pier
