#pragma once

// The jsonlines sink of the example plugin: appends every event it is given
// as one JSON line to a file. In a header so that the plugin
// (JsonLinesSink.cpp) and its tests (tests/JsonLinesSinkTest.cpp) build the
// same code.
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>

#include <pier/config.hpp>
#include <pier/notification_sink.hpp>

namespace pier_example {

// "notifications.endpoints[<name>].parameters": where this endpoint's own
// settings are, for messages (the factory knows the endpoint's name).
inline std::string parametersKey(const Poco::JSON::Object& endpoint) {
  return "notifications.endpoints[" + endpoint.optValue<std::string>("name", "") + "].parameters";
}

class JsonLinesSink final : public pier::NotificationSink {
public:
  JsonLinesSink(const std::string& path, const std::string& key) : out_(path, std::ios::app) {
    if (!out_) throw pier::ConfigError(key + ": cannot open " + path + " for appending");
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

// The sink for an endpoint's section; a sink's own settings are under "parameters".
inline std::shared_ptr<pier::NotificationSink> makeJsonLinesSink(const Poco::JSON::Object& endpoint) {
  const std::string prefix = parametersKey(endpoint);
  Poco::JSON::Object::Ptr parameters = endpoint.getObject("parameters");
  if (!parameters) throw pier::ConfigError(prefix + ".path: is required");
  return std::make_shared<JsonLinesSink>(pier::config::requireString(*parameters, "path", prefix),
                                         prefix + ".path");
}

} // namespace pier_example
