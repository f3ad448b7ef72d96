// The SDK's notification sink conformance suite on the jsonlines sink, as a
// plugin built outside Pier's tree runs it: linked with pier::sdk_testing from
// the installed SDK. The sink is made as the plugin's factory makes it, from
// an endpoint's section; what was delivered is read back from its file.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <pier/testing/notification_sink_suite.hpp>

#include "JsonLinesSink.hpp"

namespace {

Poco::JSON::Object endpointFor(const std::string& path) {
  Poco::JSON::Object::Ptr parameters = new Poco::JSON::Object;
  parameters->set("path", path);
  Poco::JSON::Object endpoint;
  endpoint.set("name", "audit");
  endpoint.set("url", "file://" + path);
  endpoint.set("parameters", parameters);
  return endpoint;
}

// The ids of the file's lines, in order.
std::vector<std::string> idsInFile(const std::string& path) {
  std::vector<std::string> ids;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto object = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    ids.push_back(object->getValue<std::string>("id"));
  }
  return ids;
}

pier::testing::NotificationSinkTarget jsonLinesTarget() {
  pier::testing::NotificationSinkTarget target;
  target.name = "jsonlines";
  target.factory = [] {
    auto directory = std::make_shared<pier::testing::ScratchDirectory>();
    const std::string path = (directory->path() / "events.jsonl").string();
    // The directory goes when the suite lets go of the sink.
    auto sink = pier::testing::onRelease<pier::NotificationSink>(
        pier_example::makeJsonLinesSink(endpointFor(path)), [directory](pier::NotificationSink&) {});
    return pier::testing::SinkUnderTest{sink, [path] { return idsInFile(path); }};
  };
  // A full disk: /dev/full opens for appending, and every write to it fails.
  target.failingFactory = [] { return pier_example::makeJsonLinesSink(endpointFor("/dev/full")); };
  return target;
}

PIER_NOTIFICATION_SINK_CONFORMANCE(Example, jsonLinesTarget());

} // namespace
