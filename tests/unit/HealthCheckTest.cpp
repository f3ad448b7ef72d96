// The health.storagedriver check: its threshold, recovery and stopping, with a
// driver whose stat the test steps one call at a time.
#include "app/HealthCheck.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include <pier/errors.hpp>

#include "app/LineLogger.hpp"

namespace pier {
namespace {

using namespace std::chrono_literals;

// Only stat works: each call waits until step() lets it through, then fails
// or succeeds as that step said.
class SteppedDriver final : public StorageDriver {
public:
  std::string name() const override { return "stepped"; }
  FileInfo stat(const Context&, const std::string& path) override {
    std::unique_lock lock(mutex_);
    waiting_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return allowed_ > 0 || released_; });
    waiting_ = false;
    if (allowed_ > 0) --allowed_;
    bool fail = fail_ && !released_;
    ++calls_;
    if (fail) throw StorageError("disk on fire");
    return FileInfo{path, 0, {}, true};
  }

  // Lets one stat through and waits until the check is in its next stat, so
  // that it has recorded the result.
  void step(bool fail) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return waiting_; });
    fail_ = fail;
    allowed_ = 1;
    int target = calls_ + 1;
    changed_.notify_all();
    changed_.wait(lock, [&] { return calls_ >= target && waiting_; });
  }
  // Every later stat succeeds at once (before the check stops).
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

  std::string getContent(const Context&, const std::string&) override { throw UnsupportedError("stat only"); }
  void putContent(const Context&, const std::string&, std::string_view) override {
    throw UnsupportedError("stat only");
  }
  std::unique_ptr<FileReader> reader(const Context&, const std::string&, std::int64_t) override {
    throw UnsupportedError("stat only");
  }
  std::unique_ptr<FileWriter> writer(const Context&, const std::string&, bool) override {
    throw UnsupportedError("stat only");
  }
  std::vector<std::string> list(const Context&, const std::string&) override {
    throw UnsupportedError("stat only");
  }
  void move(const Context&, const std::string&, const std::string&) override {
    throw UnsupportedError("stat only");
  }
  void remove(const Context&, const std::string&) override { throw UnsupportedError("stat only"); }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool waiting_ = false;
  int allowed_ = 0;
  int calls_ = 0;
  bool fail_ = false;
  bool released_ = false;
};

TEST(HealthCheck, FailsAfterThresholdFailuresInARowAndRecoversAfterASuccess) {
  SteppedDriver driver;
  LineLogger logger(LogLevel::error);
  {
    HealthCheck check({storageDriverProbe(driver, 1ms, 3)}, logger);
    EXPECT_TRUE(check.failures().empty());
    driver.step(true);
    driver.step(true);
    EXPECT_TRUE(check.failures().empty()); // 2 of 3
    driver.step(false);
    driver.step(true);
    driver.step(true);
    EXPECT_TRUE(check.failures().empty()); // the success reset the count
    driver.step(true);
    auto failures = check.failures();
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures["storagedriver_stepped"], "disk on fire");
    driver.step(true);
    EXPECT_EQ(check.failures().size(), 1u);
    driver.step(false);
    EXPECT_TRUE(check.failures().empty());
    driver.release();
  }
}

TEST(HealthCheck, ThresholdZeroFailsOnTheFirstFailure) {
  SteppedDriver driver;
  LineLogger logger(LogLevel::error);
  HealthCheck check({storageDriverProbe(driver, 1ms, 0)}, logger);
  driver.step(true);
  EXPECT_EQ(check.failures().size(), 1u);
  driver.release();
}

// Stopping wakes the check from its wait: it does not sleep out the interval.
TEST(HealthCheck, StopsWithoutWaitingForTheInterval) {
  SteppedDriver driver;
  driver.release();
  LineLogger logger(LogLevel::error);
  auto start = std::chrono::steady_clock::now();
  { HealthCheck check({storageDriverProbe(driver, std::chrono::hours(1), 1)}, logger); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

} // namespace
} // namespace pier
