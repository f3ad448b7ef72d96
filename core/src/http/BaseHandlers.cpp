#include <Poco/JSON/Object.h>

#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "storage/Registry.hpp"

namespace pier {

void handleBase(Exchange& exchange, Registry&) {
  exchange.sendJson(200, "{}");
}

// What the health.storagedriver check last found (Distribution's body: one
// member per failing check, named by the check, holding its error).
void handleHealth(Exchange& exchange, Registry& registry) {
  auto failures = registry.healthFailures();
  if (failures.empty()) return exchange.sendJson(200, "{}");
  Poco::JSON::Object body;
  for (const auto& [name, error] : failures) body.set(name, error);
  std::ostringstream out;
  body.stringify(out);
  exchange.sendJson(503, out.str());
}

} // namespace pier
