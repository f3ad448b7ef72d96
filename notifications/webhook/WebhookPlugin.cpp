// The webhook notification sink plugin: registers "webhook", the type an
// endpoint of `notifications.endpoints[]` has when it names none.
#include <pier/plugin.hpp>

#include "WebhookOptions.hpp"
#include "WebhookSink.hpp"

namespace {

void registerWebhook(pier::PluginRegistry& registry) {
  registry.notificationSink("webhook", [](const Poco::JSON::Object& endpoint) {
    return std::make_shared<pier::webhook::WebhookSink>(pier::webhook::parseWebhookOptions(endpoint));
  });
}

} // namespace

PIER_PLUGIN(registerWebhook, "webhook", PIER_PLUGIN_VERSION,
            "Events POSTed as JSON envelopes to an HTTP endpoint")
