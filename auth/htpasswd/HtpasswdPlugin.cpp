// The htpasswd access controller plugin: `auth: {htpasswd: {realm, path}}`.
#include <pier/plugin.hpp>

#include "HtpasswdAccessController.hpp"

namespace {

void registerHtpasswd(pier::PluginRegistry& registry) {
  registry.accessController("htpasswd", [](const Poco::JSON::Object& parameters) {
    return std::make_shared<pier::htpasswd::HtpasswdAccessController>(
        pier::htpasswd::HtpasswdOptions::fromConfig(parameters));
  });
}

} // namespace

PIER_PLUGIN(registerHtpasswd, "htpasswd", PIER_PLUGIN_VERSION,
            "Basic authentication against an Apache htpasswd file (bcrypt)")
