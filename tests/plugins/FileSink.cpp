// A notification sink for the notification tests, until the webhook and its
// receiver exist: each delivered event becomes one JSON line in
// <parameters.directory>/events.jsonl, each delivery one line ("<status>
// <event count>") in deliveries.log. While a file named `fail` exists in that
// directory it fails every delivery with DeliveryError(503), while `throw-int`
// exists by throwing an int; while `hang`
// exists it waits (for the context's deadline or cancellation) and then fails.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <pier/config.hpp>
#include <pier/event_json.hpp>
#include <pier/plugin.hpp>

namespace {

class FileSink final : public pier::NotificationSink {
public:
  explicit FileSink(std::filesystem::path directory) : directory_(std::move(directory)) {
    std::filesystem::create_directories(directory_);
  }

  int write(const pier::Context& context, const std::vector<pier::Event>& events) override {
    if (std::filesystem::exists(directory_ / "hang")) {
      // Bounded by the context: the server's deadline (the endpoint's timeout) or its shutdown.
      while (!context.done()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      record(0, events.size());
      throw pier::DeliveryError("gave up waiting", 0);
    }
    if (std::filesystem::exists(directory_ / "throw-int")) {
      record(0, events.size());
      throw 42; // what only a plugin throws: the server must count it a failed delivery
    }
    if (std::filesystem::exists(directory_ / "fail")) {
      record(503, events.size());
      throw pier::DeliveryError("the test receiver is failing", 503);
    }
    std::ofstream out(directory_ / "events.jsonl", std::ios::app);
    for (const auto& event : events) {
      std::ostringstream line;
      pier::eventToJson(event)->stringify(line);
      out << line.str() << '\n';
    }
    out.flush();
    if (!out) throw pier::DeliveryError("cannot write events.jsonl", 500);
    record(200, events.size());
    return 200;
  }

private:
  void record(int status, std::size_t count) {
    std::ofstream(directory_ / "deliveries.log", std::ios::app) << status << ' ' << count << '\n';
  }

  std::filesystem::path directory_;
};

void registerPlugin(pier::PluginRegistry& registry) {
  registry.notificationSink("testfile", [](const Poco::JSON::Object& endpoint) {
    Poco::JSON::Object::Ptr parameters = endpoint.getObject("parameters");
    if (!parameters) throw pier::ConfigError("notifications.endpoints.parameters.directory: is required");
    return std::make_shared<FileSink>(
        pier::config::requireString(*parameters, "directory", "notifications.endpoints.parameters"));
  });
}

} // namespace

PIER_PLUGIN(registerPlugin, "testfile", "1.0.0",
            "Test fixture: a sink writing events to a file, told to fail by another")
