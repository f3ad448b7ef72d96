#include "metrics/MeteredStorageDriver.hpp"

#include <type_traits>

namespace pier {

namespace {

// Runs call, reporting it to metrics as operation (failed unless it returns
// or throws PathNotFoundError); returns what it returns.
template <typename Call> auto metered(Metrics& metrics, StorageOperation operation, Call&& call) {
  auto started = std::chrono::steady_clock::now();
  auto report = [&](bool failed) {
    metrics.storageCalled(operation, failed, std::chrono::steady_clock::now() - started);
  };
  try {
    if constexpr (std::is_void_v<decltype(call())>) {
      call();
      report(false);
    } else {
      auto result = call();
      report(false);
      return result;
    }
  } catch (const PathNotFoundError&) {
    report(false);
    throw;
  } catch (...) {
    report(true);
    throw;
  }
}

// A writer whose commit is measured; everything else goes straight through.
class MeteredWriter final : public FileWriter {
public:
  MeteredWriter(std::unique_ptr<FileWriter> writer, Metrics& metrics)
      : writer_(std::move(writer)), metrics_(metrics) {}
  void write(const Context& context, const char* data, std::size_t size) override {
    writer_->write(context, data, size);
  }
  std::int64_t size() const override { return writer_->size(); }
  void close(const Context& context) override { writer_->close(context); }
  void cancel(const Context& context) override { writer_->cancel(context); }
  void commit(const Context& context) override {
    metered(metrics_, StorageOperation::commit, [&] { writer_->commit(context); });
  }

private:
  std::unique_ptr<FileWriter> writer_;
  Metrics& metrics_;
};

} // namespace

std::string MeteredStorageDriver::getContent(const Context& context, const std::string& path) {
  return metered(metrics_, StorageOperation::getContent, [&] { return driver_->getContent(context, path); });
}

void MeteredStorageDriver::putContent(const Context& context, const std::string& path,
                                      std::string_view content) {
  metered(metrics_, StorageOperation::putContent, [&] { driver_->putContent(context, path, content); });
}

std::unique_ptr<FileReader> MeteredStorageDriver::reader(const Context& context, const std::string& path,
                                                         std::int64_t offset) {
  return metered(metrics_, StorageOperation::reader, [&] { return driver_->reader(context, path, offset); });
}

std::unique_ptr<FileWriter> MeteredStorageDriver::writer(const Context& context, const std::string& path,
                                                         bool append) {
  auto writer =
      metered(metrics_, StorageOperation::writer, [&] { return driver_->writer(context, path, append); });
  return std::make_unique<MeteredWriter>(std::move(writer), metrics_);
}

FileInfo MeteredStorageDriver::stat(const Context& context, const std::string& path) {
  return metered(metrics_, StorageOperation::stat, [&] { return driver_->stat(context, path); });
}

std::vector<std::string> MeteredStorageDriver::list(const Context& context, const std::string& path) {
  return metered(metrics_, StorageOperation::list, [&] { return driver_->list(context, path); });
}

void MeteredStorageDriver::move(const Context& context, const std::string& source,
                                const std::string& destination) {
  metered(metrics_, StorageOperation::move, [&] { driver_->move(context, source, destination); });
}

void MeteredStorageDriver::remove(const Context& context, const std::string& path) {
  metered(metrics_, StorageOperation::remove, [&] { driver_->remove(context, path); });
}

std::optional<std::string> MeteredStorageDriver::redirectURL(const Context& context,
                                                             const RedirectRequest& request) {
  return metered(metrics_, StorageOperation::redirectUrl,
                 [&] { return driver_->redirectURL(context, request); });
}

ListPage MeteredStorageDriver::listPage(const Context& context, const std::string& path,
                                        const std::string& startAfter, std::size_t limit) {
  return metered(metrics_, StorageOperation::list,
                 [&] { return driver_->listPage(context, path, startAfter, limit); });
}

void MeteredStorageDriver::walk(const Context& context, const std::string& path, const WalkFunction& visit) {
  // The whole walk, with the visits it makes: what a caller waits for.
  metered(metrics_, StorageOperation::walk, [&] { driver_->walk(context, path, visit); });
}

} // namespace pier
