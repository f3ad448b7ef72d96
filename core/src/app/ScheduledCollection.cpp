#include "app/ScheduledCollection.hpp"

#include <ostream>
#include <sstream>
#include <streambuf>

#include "storage/CollectionFence.hpp"
#include "storage/GarbageCollector.hpp"
#include "util/Uuid.hpp"

namespace pier {

namespace {

// An ostream whose every line becomes one log line.
class LogLines : public std::streambuf {
public:
  LogLines(const Context& context, LogLevel level) : context_(context), level_(level) {}
  ~LogLines() override { flushLine(); }

protected:
  int overflow(int c) override {
    if (c == '\n')
      flushLine();
    else if (c != traits_type::eof())
      line_.push_back(static_cast<char>(c));
    return c == traits_type::eof() ? 0 : c;
  }

private:
  void flushLine() {
    if (!line_.empty()) context_.log(level_, "garbage collection: " + line_);
    line_.clear();
  }
  const Context& context_;
  LogLevel level_;
  std::string line_;
};

} // namespace

ScheduledCollection::ScheduledCollection(StorageDriver& driver, BlobDescriptorCache* cache, Logger& logger,
                                         Config::Storage::GarbageCollection settings, Metrics* metrics)
    : driver_(driver), cache_(cache), logger_(logger), settings_(settings), metrics_(metrics),
      task_(settings.interval, [this] { pass(); }) {}

void ScheduledCollection::pass() {
  Context context("gc-" + newUuid(), logger_);
  try {
    // With several instances on one storage, one collection per interval is enough.
    auto last = CollectionFence(driver_).read(context);
    const auto now = std::chrono::system_clock::now();
    if (last && last->live(now)) return;
    auto interval = std::chrono::duration_cast<std::chrono::seconds>(settings_.interval).count();
    if (last && last->finished > 0 && unixSeconds(now) - last->finished < interval) return;

    LogLines progressLines(context, LogLevel::debug), warningLines(context, LogLevel::warn);
    std::ostream progress(&progressLines), warnings(&warningLines);
    GarbageCollector::Options options;
    options.dryRun = settings_.dryRun;
    options.deleteUntagged = settings_.deleteUntagged;
    options.grace = std::chrono::duration_cast<std::chrono::seconds>(settings_.grace);
    options.owner = collectorName("serve");
    GarbageCollector collector(driver_, cache_, progress, warnings);
    auto summary = collector.run(context, options);
    if (metrics_ && !options.dryRun)
      metrics_->garbageCollected(true, summary.blobsEligible, summary.bytesEligible);
    context.log(LogLevel::info, std::string("garbage collection ") + (options.dryRun ? "(dry run) " : "") +
                                    "finished: " + std::to_string(summary.blobsEligible) + " blobs, " +
                                    std::to_string(summary.bytesEligible) + " bytes freed, " +
                                    std::to_string(summary.manifestsEligible) + " manifests, " +
                                    std::to_string(summary.layerLinksEligible) + " layer links deleted; " +
                                    std::to_string(summary.blobsYoung) + " young and " +
                                    std::to_string(summary.blobsRescued) + " rescued blobs kept");
  } catch (const std::exception& e) {
    if (metrics_) metrics_->garbageCollected(false, 0, 0);
    context.log(LogLevel::warn, std::string("garbage collection failed: ") + e.what());
  }
}

} // namespace pier
