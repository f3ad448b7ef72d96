// Distribution's "silly" access controller, for development: a request with
// any Authorization header is granted everything (as the user "silly", as
// Distribution names it); one without is challenged with a Bearer challenge
// for what it wanted.
//
//   auth:
//     silly:
//       realm: https://auth.example.com/token
//       service: registry.example.com
#include <cstdio>
#include <ctime>
#include <set>

#include <pier/config.hpp>
#include <pier/plugin.hpp>

#include "BearerChallenge.hpp"

namespace {

const std::string kPrefix = "auth.silly";

class SillyAccessController final : public pier::AccessController {
public:
  explicit SillyAccessController(pier::auth::BearerChallenge challenge) : challenge_(std::move(challenge)) {}

  pier::AuthResult authorize(const pier::Context&, const pier::AuthRequest& request,
                             const std::vector<pier::Access>& wanted) override {
    if (request.header("Authorization").empty()) return pier::auth::unauthorized(challenge_, wanted);
    pier::AuthResult result;
    result.granted = true;
    result.user = "silly";
    return result;
  }

private:
  pier::auth::BearerChallenge challenge_;
};

// A factory has no logger (the SDK hands it only its parameters), so the
// warning goes to stderr, where the server logs by default, in its text format.
void warnAtStartup(const char* message) {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char time[32];
  std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::fprintf(stderr, "time=%s level=warn msg=\"%s\"\n", time, message);
  std::fflush(stderr);
}

std::shared_ptr<pier::AccessController> makeController(const Poco::JSON::Object& parameters) {
  const std::set<std::string> known{"realm", "service"};
  for (const auto& [key, value] : parameters)
    if (!known.count(key))
      throw pier::ConfigError(pier::config::keyPath(kPrefix, key) +
                              ": unknown parameter of the silly access controller");
  pier::auth::BearerChallenge challenge{pier::config::requireString(parameters, "realm", kPrefix),
                                        pier::config::requireString(parameters, "service", kPrefix), ""};
  warnAtStartup("the silly access controller grants every request that has an Authorization header, "
                "whatever it holds: for development only, never in production");
  return std::make_shared<SillyAccessController>(std::move(challenge));
}

void registerPlugin(pier::PluginRegistry& registry) {
  registry.accessController("silly", makeController);
}

} // namespace

PIER_PLUGIN(registerPlugin, "silly", PIER_PLUGIN_VERSION,
            "Any Authorization header passes: for development only")
