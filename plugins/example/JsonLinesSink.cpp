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
// of <pier/config.hpp>. The sink itself is in JsonLinesSink.hpp, which its
// tests (tests/) build too.
#include <pier/plugin.hpp>

#include "JsonLinesSink.hpp"

namespace {

void registerPlugin(pier::PluginRegistry& registry) {
  // The factory gets the endpoint's section.
  registry.notificationSink("jsonlines", pier_example::makeJsonLinesSink);
}

} // namespace

PIER_PLUGIN(registerPlugin, "jsonlines", PIER_PLUGIN_VERSION,
            "An example sink: every event as a JSON line in a file")
