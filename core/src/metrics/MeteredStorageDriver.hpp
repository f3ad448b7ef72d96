#pragma once

#include <memory>

#include <pier/storage_driver.hpp>

#include "metrics/Metrics.hpp"

namespace pier {

// The configured storage driver, every call counted and timed in Metrics
// (calls, failures, latency per operation), so that each driver plugin is
// measured without a change to it. Every virtual function of StorageDriver is
// forwarded here: one left out would silently become the SDK's default. A
// writer's commit is measured too; reads and writes of bytes are not (a
// blob's bytes mostly go out by sendfile).
class MeteredStorageDriver final : public StorageDriver {
public:
  MeteredStorageDriver(std::shared_ptr<StorageDriver> driver, Metrics& metrics)
      : driver_(std::move(driver)), metrics_(metrics) {}

  std::string name() const override { return driver_->name(); }
  std::string getContent(const Context& context, const std::string& path) override;
  void putContent(const Context& context, const std::string& path, std::string_view content) override;
  std::unique_ptr<FileReader> reader(const Context& context, const std::string& path,
                                     std::int64_t offset) override;
  std::unique_ptr<FileWriter> writer(const Context& context, const std::string& path, bool append) override;
  FileInfo stat(const Context& context, const std::string& path) override;
  std::vector<std::string> list(const Context& context, const std::string& path) override;
  void move(const Context& context, const std::string& source, const std::string& destination) override;
  void remove(const Context& context, const std::string& path) override;
  DriverCapabilities capabilities() const override { return driver_->capabilities(); }
  std::optional<std::string> redirectURL(const Context& context, const RedirectRequest& request) override;
  ListPage listPage(const Context& context, const std::string& path, const std::string& startAfter,
                    std::size_t limit) override;
  std::size_t purgeLeftovers(const Context& context, std::chrono::system_clock::time_point before) override {
    return driver_->purgeLeftovers(context, before);
  }
  void walk(const Context& context, const std::string& path, const WalkFunction& visit) override;

private:
  std::shared_ptr<StorageDriver> driver_;
  Metrics& metrics_;
};

} // namespace pier
