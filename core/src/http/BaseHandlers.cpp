#include <Poco/JSON/Object.h>

#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "storage/Registry.hpp"

namespace pier {

void handleBase(Exchange& exchange, Registry&) {
  exchange.sendJson(200, "{}");
}

// Healthy while the storage driver answers.
void handleHealth(Exchange& exchange, Registry& registry) {
  auto error = registry.storageError(exchange.context());
  if (!error) return exchange.sendJson(200, "{}");
  Poco::JSON::Object body;
  body.set("storagedriver_" + registry.driverName(), *error);
  std::ostringstream out;
  body.stringify(out);
  exchange.sendJson(503, out.str());
}

} // namespace pier
