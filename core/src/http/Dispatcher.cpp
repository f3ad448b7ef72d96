#include "http/Dispatcher.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/NetException.h>

#include "app/App.hpp"
#include "events/EventBridge.hpp"
#include "http/Exchange.hpp"
#include "http/Routes.hpp"
#include "http/server/ServerRequest.hpp"
#include "storage/Repository.hpp"
#include "util/Uuid.hpp"

namespace pier {

namespace {

std::string actionOf(const std::string& method) {
  if (method == "GET" || method == "HEAD") return "pull";
  if (method == "DELETE") return "delete";
  return "push"; // POST, PATCH, PUT
}

AuthRequest authRequestOf(const Exchange& exchange, bool tls) {
  const auto& request = exchange.request();
  AuthRequest auth;
  auth.method = request.getMethod();
  auth.uri = request.getURI();
  const std::string& client = exchange.clientAddress();
  auth.remoteAddress = client.substr(0, client.rfind(':'));
  auth.headers = exchange.requestHeaders();
  auth.extensions = new Poco::JSON::Object;
  auth.extensions->set("tls", tls);
  return auth;
}

// What event target URLs start with: http.host (or the request's scheme and
// Host, as forwarded by a proxy) and http.prefix, as Distribution's URL builder.
std::string eventUrlBase(const Exchange& exchange, const Config::Http& http) {
  std::string base = exchange.urlFor("");
  if (http.relativeUrls || !http.host.empty()) return base;
  const auto& request = exchange.request();
  std::string scheme = request.get("X-Forwarded-Proto", http.tls.certificate.empty() ? "http" : "https");
  std::string host = request.get("X-Forwarded-Host", request.getHost());
  // A proxy chain lists several: the first is the client's.
  scheme = scheme.substr(0, scheme.find(','));
  host = host.substr(0, host.find(','));
  return scheme + "://" + host + base;
}

RequestRecord requestRecordOf(const Exchange& exchange) {
  const auto& request = exchange.request();
  return RequestRecord{exchange.requestId(), exchange.clientAddress(), request.getHost(), request.getMethod(),
                       request.get("User-Agent", "")};
}

// The access records, as Distribution puts them in an UNAUTHORIZED error's detail.
Poco::Dynamic::Var accessDetail(const std::vector<Access>& wanted) {
  Poco::JSON::Array::Ptr records = new Poco::JSON::Array;
  for (const auto& access : wanted) {
    Poco::JSON::Object::Ptr record = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    record->set("Type", access.type);
    record->set("Class", "");
    record->set("Name", access.name);
    record->set("Action", access.action);
    records->add(record);
  }
  return records;
}

bool isRead(const std::string& method) {
  return method == "GET" || method == "HEAD";
}

} // namespace

std::vector<Access> accessRecords(const RouteMatch& match, const Exchange& exchange) {
  switch (match.route->access) {
  case RouteAccess::none:
  case RouteAccess::base:
    return {};
  case RouteAccess::catalog:
    return {Access{"registry", "catalog", "*"}};
  case RouteAccess::repository:
    break;
  }
  std::vector<Access> wanted{Access{"repository", match.name, actionOf(exchange.method())}};
  if (exchange.method() == "POST" && exchange.queryParameter("mount")) {
    auto from = exchange.queryParameter("from");
    if (from && isValidRepositoryName(*from) && *from != match.name)
      wanted.push_back(Access{"repository", *from, "pull"});
  }
  return wanted;
}

Dispatcher::Dispatcher(App& app, std::string sourceAddress, long long maxUploads)
    : app_(app), eventSource_{std::move(sourceAddress), newUuid(),
                              app.config().notifications.includeReferences},
      maxUploads_(maxUploads) {}

void Dispatcher::authorize(Exchange& exchange, const AuthRequest& request,
                           const std::vector<Access>& wanted) {
  AccessController* controller = app_.accessController();
  if (!controller) return; // no access control configured: everything is granted
  AuthResult result = controller->authorize(exchange.context(), request, wanted);
  if (result.granted) {
    exchange.context().setUser(result.user);
    return;
  }
  // A controller naming no registered code, or one that is no 401/403, challenges with UNAUTHORIZED.
  auto code = errcode::findCode(result.errorCode);
  if (!code || (code->httpStatus() != 401 && code->httpStatus() != 403)) code = errcode::Unauthorized;
  for (const auto& [name, value] : result.headers) exchange.response().add(name, value);
  throw errcode::Exception(*code, result.message,
                           wanted.empty() ? Poco::Dynamic::Var() : accessDetail(wanted));
}

void Dispatcher::dispatch(Exchange& exchange, std::size_t& routeIndex) {
  RouteMatch match = matchRoute(exchange);
  const Route& route = *match.route;
  routeIndex = static_cast<std::size_t>(match.route - routes().data());
  AuthRequest authRequest;
  if (route.access != RouteAccess::none && app_.accessController()) {
    authRequest = authRequestOf(exchange, !app_.config().http.tls.certificate.empty());
    authorize(exchange, authRequest, accessRecords(match, exchange));
  }
  if (route.access == RouteAccess::repository && !isRead(exchange.method())) {
    if (app_.config().storage.readOnly)
      throw errcode::Exception(errcode::Unsupported,
                               "the registry is in read-only mode (storage.maintenance.readonly)");
    const PullThroughCache* cache = app_.registry().pullThrough();
    if (const Upstream* upstream = cache ? cache->upstreamFor(match.name) : nullptr)
      throw errcode::Exception(errcode::Unsupported, match.name + " is a pull-through cache of " +
                                                         upstream->url() + " (proxy): it takes no writes");
    // A full notification queue that may not drop events: the write would make one it cannot keep.
    std::string refusal = app_.eventSink().writeRefusal();
    if (!refusal.empty()) {
      exchange.response().set("Retry-After", "10");
      throw errcode::Exception(errcode::Unavailable, refusal);
    }
  }

  if (auto handler = std::get_if<RegistryHandler>(&route.handler))
    return (*handler)(exchange, app_.registry());

  // Uploads hold a worker while their body streams in: bounded, so that reads are still served.
  struct UploadSlot {
    std::atomic<long long>* counter = nullptr;
    Metrics* metrics = nullptr;
    ~UploadSlot() {
      if (counter) --*counter;
      if (metrics) metrics->uploadEnded();
    }
  } slot;
  const long long maxUploads = maxUploads_;
  const bool isUpload = exchange.hasBody() && route.pattern.starts_with("/v2/<name>/blobs/uploads/");
  if (maxUploads > 0 && isUpload) {
    if (++uploadsInFlight_ > maxUploads) {
      --uploadsInFlight_;
      exchange.response().set("Retry-After", "1");
      throw errcode::Exception(errcode::TooManyRequests,
                               "too many uploads in flight (http.maxuploads); retry later");
    }
    slot.counter = &uploadsInFlight_;
  }
  if (isUpload && (slot.metrics = app_.metrics())) slot.metrics->uploadStarted();

  EventBridge events(app_.eventSink(), eventSource_, requestRecordOf(exchange), exchange.context().user(),
                     eventUrlBase(exchange, app_.config().http));
  Repository::PullCheck mayPull;
  if (AccessController* controller = app_.accessController()) {
    // Whether this request may pull another repository: for mounts that discover their source.
    mayPull = [controller, &exchange, &authRequest](const std::string& repository) {
      try {
        return controller
            ->authorize(exchange.context(), authRequest, {Access{"repository", repository, "pull"}})
            .granted;
      } catch (const std::exception&) {
        return false;
      }
    };
  }
  Repository repository(app_.registry(), exchange.context(), match.name, events, std::move(mayPull));
  std::get<RepositoryHandler>(route.handler)(exchange, repository, match.reference);
}

void Dispatcher::serve(http::ServerRequest& request) {
  auto started = std::chrono::steady_clock::now();
  Exchange exchange(app_.config().http, app_.logger(), request, newUuid(), cancelled_);
  LineLogger& logger = app_.logger();
  std::size_t routeIndex = routes().size(); // none until one matches
  try {
    dispatch(exchange, routeIndex);
  } catch (const errcode::Exception& e) {
    respondWithError(exchange, e.errors(), e.what());
  } catch (const CancelledError& e) {
    respondWithError(exchange, errcode::Error{errcode::Unavailable, e.what(), {}}, e.what());
  } catch (const StorageThrottledError& e) {
    // The backend asks to slow down: so are the clients, with when to come back.
    logger.write(LogLevel::warn, "storage throttled",
                 {{"error", e.what()}, {"request_id", exchange.requestId()}});
    if (!exchange.responded())
      exchange.response().set("Retry-After", std::to_string(std::max(1, e.retryAfterSeconds())));
    respondWithError(exchange, errcode::Error{errcode::TooManyRequests, "storage throttled", {}}, e.what());
  } catch (const StorageUnavailableError& e) {
    // Storage down: worth a retry, so not a 500.
    logger.write(LogLevel::warn, "storage unavailable",
                 {{"error", e.what()}, {"request_id", exchange.requestId()}});
    respondWithError(exchange, errcode::Error{errcode::Unavailable, "storage unavailable", {}}, e.what());
  } catch (const Poco::Net::NetException& e) {
    // The client went away or the connection broke: nothing can be sent.
    // Clients abort downloads all the time; this is no server trouble.
    logger.write(LogLevel::info, "connection closed",
                 {{"error", e.displayText()}, {"request_id", exchange.requestId()}});
  } catch (const std::exception& e) {
    logger.write(LogLevel::error, "request failed",
                 {{"error", e.what()}, {"request_id", exchange.requestId()}});
    respondWithError(exchange, errcode::Error{errcode::Unknown, "internal error", exchange.requestId()},
                     e.what());
  } catch (...) {
    // Only a plugin throws what is not a std::exception: still one failed request, not a lost worker.
    const std::string what = "a plugin threw something that is not a std::exception";
    logger.write(LogLevel::error, "request failed", {{"error", what}, {"request_id", exchange.requestId()}});
    respondWithError(exchange, errcode::Error{errcode::Unknown, "internal error", exchange.requestId()},
                     what);
  }
  auto elapsed = std::chrono::steady_clock::now() - started;
  if (Metrics* metrics = app_.metrics())
    metrics->requestServed(routeIndex, exchange.method(), exchange.status(), elapsed,
                           static_cast<std::uint64_t>(exchange.bytesReceived()),
                           static_cast<std::uint64_t>(exchange.bytesSent()));
  if (!app_.config().log.accessLogDisabled)
    writeAccessLog(exchange, std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
}

void Dispatcher::respondWithError(Exchange& exchange, const errcode::Errors& errors,
                                  const std::string& what) {
  // A body that stopped short decides the answer, whatever the handler made of it.
  using Failure = http::RequestBody::Failure;
  Failure failure = exchange.bodyFailure();
  if (failure != Failure::none) exchange.response().setKeepAlive(false);
  if (failure == Failure::disconnected) return; // no one to answer
  if (failure == Failure::timedOut && !exchange.responded() &&
      errors.list().front().code != errcode::RequestTimeout)
    return respondWithError(exchange, errcode::Error{errcode::RequestTimeout, "", {}}, what);
  if (failure == Failure::malformed && !exchange.responded() &&
      errors.list().front().code != errcode::RequestInvalid)
    return respondWithError(exchange, errcode::Error{errcode::RequestInvalid, "malformed chunked body", {}},
                            what);
  if (exchange.responded()) {
    // Headers are out: the body cannot change any more; close the connection.
    app_.logger().write(LogLevel::warn, "error after the response started",
                        {{"error", what}, {"request_id", exchange.requestId()}});
    exchange.response().setKeepAlive(false);
    return;
  }
  try {
    exchange.sendErrors(errors);
  } catch (const std::exception& e) {
    app_.logger().write(LogLevel::warn, "cannot send error response",
                        {{"error", e.what()}, {"request_id", exchange.requestId()}});
  }
}

void Dispatcher::writeAccessLog(const Exchange& exchange, long long micros) {
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f", static_cast<double>(micros) / 1000.0);
  app_.logger().write(LogLevel::info, "request",
                      {{"method", exchange.method()},
                       {"path", exchange.path()},
                       {"status", std::to_string(exchange.status())},
                       {"bytes", std::to_string(exchange.bytesSent())},
                       {"duration_ms", duration},
                       {"request_id", exchange.requestId()},
                       {"user", exchange.context().user()},
                       {"remote", exchange.clientAddress()}});
}

} // namespace pier
