#include <Poco/JSON/Object.h>

#include "app/App.hpp"
#include "http/Exchange.hpp"
#include "http/Handlers.hpp"

namespace pier {

void handleBase(Exchange& exchange) {
  exchange.sendJson(200, "{}");
}

// Healthy while the storage driver answers: a stat of the root that finds it
// missing still is an answer.
void handleHealth(Exchange& exchange) {
  App& app = exchange.app();
  if (!app.config().health.storageDriverEnabled) return exchange.sendJson(200, "{}");
  try {
    app.driver().stat(exchange.context(), "/");
  } catch (const PathNotFoundError&) {
  } catch (const std::exception& e) {
    Poco::JSON::Object body;
    body.set("storagedriver_" + app.driver().name(), e.what());
    std::ostringstream out;
    body.stringify(out);
    return exchange.sendJson(503, out.str());
  }
  exchange.sendJson(200, "{}");
}

} // namespace pier
