// An example notification sink plugin: appends every event it is given as
// one JSON line to a file. Configured as a notifications endpoint:
//
//   notifications:
//     endpoints:
//       - name: audit
//         type: jsonlines
//         url: file:///var/log/pier/events.jsonl   # required of every endpoint; unused here
//         parameters:
//           path: /var/log/pier/events.jsonl
//
// It uses nothing but the SDK: <pier/plugin.hpp> and the parameter helpers
// of <pier/config.hpp>.
#include <chrono>
#include <fstream>
#include <mutex>

#include <Poco/JSON/Object.h>

#include <pier/config.hpp>
#include <pier/plugin.hpp>

namespace {

const std::string kPathKey = "notifications.endpoints.parameters.path";

class JsonLinesSink final : public pier::NotificationSink {
public:
  explicit JsonLinesSink(const std::string& path) : out_(path, std::ios::app) {
    if (!out_)
      throw pier::ConfigError("notifications.endpoints.path: cannot open " + path + " for appending");
  }

  int write(const pier::Context& /*context*/, const std::vector<pier::Event>& events) override {
    std::lock_guard lock(mutex_);
    for (const auto& event : events) {
      Poco::JSON::Object line(Poco::JSON_PRESERVE_KEY_ORDER);
      line.set("id", event.id);
      line.set(
          "timestamp",
          std::chrono::duration_cast<std::chrono::milliseconds>(event.timestamp.time_since_epoch()).count());
      line.set("action", event.action);
      line.set("repository", event.target.repository);
      line.set("digest", event.target.digest);
      line.set("tag", event.target.tag);
      line.set("actor", event.actor.name);
      line.stringify(out_);
      out_ << '\n';
    }
    out_.flush();
    if (!out_) throw pier::DeliveryError("jsonlines sink: writing events failed");
    return 0; // a file has no status to report
  }

private:
  std::mutex mutex_;
  std::ofstream out_;
};

void registerPlugin(pier::PluginRegistry& registry) {
  // The factory gets the endpoint's section; a sink's own settings are under "parameters".
  registry.notificationSink("jsonlines", [](const Poco::JSON::Object& endpoint) {
    Poco::JSON::Object::Ptr parameters = endpoint.getObject("parameters");
    if (!parameters) throw pier::ConfigError(kPathKey + ": is required");
    return std::make_shared<JsonLinesSink>(
        pier::config::requireString(*parameters, "path", "notifications.endpoints.parameters"));
  });
}

} // namespace

PIER_PLUGIN(registerPlugin, "jsonlines", PIER_PLUGIN_VERSION,
            "An example sink: every event as a JSON line in a file")
