#pragma once

#include <string>
#include <vector>

#include <atomic>

#include <pier/access_controller.hpp>

#include "errcode/ErrorCode.hpp"
#include "events/EventBridge.hpp"

namespace pier {

class App;
class Exchange;
struct RouteMatch;

namespace http {
class ServerRequest;
}

// The seam between HTTP and the registry (Distribution's app.go dispatcher):
// for each request it finds the route, derives the access records the route
// needs, asks the access controller (answering its challenge with the error
// JSON), puts the granted user into the Context, bounds the uploads in
// flight (http.maxuploads), builds the repository the handler works on, wired
// to the request's events, runs the handler, turns failures into registered
// error responses, counts it in the metrics and writes the access log line.
class Dispatcher {
public:
  // sourceAddress: this server's address, named in events; maxUploads: upload requests in flight at most.
  Dispatcher(App& app, std::string sourceAddress, long long maxUploads);

  void serve(http::ServerRequest& request);
  // Marks every request's Context done, those in flight and any after: at
  // shutdown, once the drain timeout has passed, so that work a driver does
  // in steps (S3 retries, part uploads) stops instead of holding the exit.
  void cancelRequests() { cancelled_->store(true); }

private:
  // routeIndex: set to the matched route's index in routes(), for the metrics.
  void dispatch(Exchange& exchange, std::size_t& routeIndex);
  // Grants (the user goes into the Context) or throws the controller's challenge.
  void authorize(Exchange& exchange, const AuthRequest& request, const std::vector<Access>& wanted);
  void respondWithError(Exchange& exchange, const errcode::Errors& errors, const std::string& what);
  void writeAccessLog(const Exchange& exchange, long long micros);

  App& app_;
  EventSource eventSource_; // this server's address and instance id, in every event
  long long maxUploads_;
  std::atomic<long long> uploadsInFlight_{0};
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
};

// The access records a matched route needs for a request (exposed for tests):
// pull for GET and HEAD, push for POST, PATCH and PUT, delete for DELETE on
// the repository, pull on `from` for a cross-repository mount,
// registry:catalog:* for the catalog, none for /v2/.
std::vector<Access> accessRecords(const RouteMatch& match, const Exchange& exchange);

} // namespace pier
