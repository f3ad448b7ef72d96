#include <Poco/JSON/Object.h>

#include "app/App.hpp"
#include "http/Exchange.hpp"
#include "http/Handlers.hpp"

namespace pier {

void handleBase(Exchange& exchange) {
  exchange.sendJson(200, "{}");
}

// What the health.storagedriver check last found (Distribution's body: one
// member per failing check, named by the check, holding its error).
void handleHealth(Exchange& exchange) {
  const HealthCheck* check = exchange.app().healthCheck();
  auto failures = check ? check->failures() : std::map<std::string, std::string>{};
  if (failures.empty()) return exchange.sendJson(200, "{}");
  Poco::JSON::Object body;
  for (const auto& [name, error] : failures) body.set(name, error);
  std::ostringstream out;
  body.stringify(out);
  exchange.sendJson(503, out.str());
}

} // namespace pier
