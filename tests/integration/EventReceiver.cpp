#include "EventReceiver.hpp"

#include <csignal>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>

namespace pier::test {

namespace {

constexpr std::streamsize kMaxBody = 64 * 1024 * 1024;

bool isAccepted(const ReceivedRequest& request) {
  return request.answered >= 200 && request.answered < 300;
}

} // namespace

std::string ReceivedRequest::header(const std::string& name) const {
  std::vector<std::string> values = headerValues(name);
  return values.empty() ? std::string() : values.front();
}

std::vector<std::string> ReceivedRequest::headerValues(const std::string& name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers)
    if (Poco::icompare(key, name) == 0) values.push_back(value);
  return values;
}

std::vector<Poco::JSON::Object::Ptr> ReceivedRequest::events() const {
  std::vector<Poco::JSON::Object::Ptr> events;
  try {
    auto envelope = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    Poco::JSON::Array::Ptr list = envelope ? envelope->getArray("events") : nullptr;
    for (std::size_t i = 0; list && i < list->size(); ++i)
      if (Poco::JSON::Object::Ptr event = list->getObject(static_cast<unsigned>(i))) events.push_back(event);
  } catch (const std::exception&) { // Poco's exceptions too
    return {};                      // not an envelope: the test looks at the body itself
  }
  return events;
}

class EventReceiver::Handler final : public Poco::Net::HTTPRequestHandler {
public:
  explicit Handler(EventReceiver& owner) : owner_(owner) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    owner_.handle(request, response);
  }

private:
  EventReceiver& owner_;
};

class EventReceiver::HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
  explicit HandlerFactory(EventReceiver& owner) : owner_(owner) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(owner_);
  }

private:
  EventReceiver& owner_;
};

// An answer may go to a client that already gave up: a closed socket must be
// an error, not SIGPIPE, as in the server (core/src/app/main.cpp).
EventReceiver::EventReceiver() {
  std::signal(SIGPIPE, SIG_IGN);
}

EventReceiver::EventReceiver(Credential tls) : tls_(std::move(tls)) {
  std::signal(SIGPIPE, SIG_IGN);
  Poco::Net::initializeSSL();
}

EventReceiver::~EventReceiver() {
  stop();
  if (tls_) Poco::Net::uninitializeSSL();
}

void EventReceiver::start() {
  if (server_) return;
  std::unique_ptr<Poco::Net::ServerSocket> socket;
  if (tls_) {
    using Poco::Net::Context;
    Context::Ptr context = new Context(Context::TLS_SERVER_USE, tls_->key.string(),
                                       tls_->certificate.string(), "", Context::VERIFY_NONE);
    socket = std::make_unique<Poco::Net::SecureServerSocket>(context);
  } else {
    socket = std::make_unique<Poco::Net::ServerSocket>();
  }
  // Reusing the address lets start() take the port again that stop() freed.
  socket->bind(Poco::Net::SocketAddress("127.0.0.1", port_), true);
  socket->listen(64);
  port_ = socket->address().port();

  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(1000);
  params->setKeepAliveTimeout(Poco::Timespan(15, 0));
  params->setTimeout(Poco::Timespan(5, 0)); // bounds a connection that never sends its request
  params->setMaxThreads(16);
  threads_ = std::make_unique<Poco::ThreadPool>(2, 32);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(*this), *threads_, *socket, params);
  server_->start();
}

void EventReceiver::stop() {
  if (!server_) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  server_->stopAll(true); // stops accepting and shuts every connection down
  threads_->joinAll();
  server_.reset();
  threads_.reset();
  std::lock_guard lock(mutex_);
  stopping_ = false;
}

bool EventReceiver::running() const {
  return server_ != nullptr;
}

std::uint16_t EventReceiver::port() const {
  return port_;
}

std::string EventReceiver::url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<ReceivedRequest> EventReceiver::requests() const {
  std::lock_guard lock(mutex_);
  std::vector<ReceivedRequest> copies;
  for (const auto& entry : requests_) copies.push_back(entry.second);
  return copies;
}

std::vector<Poco::JSON::Object::Ptr> EventReceiver::acceptedEvents() const {
  std::lock_guard lock(mutex_);
  std::vector<Poco::JSON::Object::Ptr> events;
  for (const auto& [serial, request] : requests_)
    if (isAccepted(request))
      for (auto& event : request.events()) events.push_back(event);
  return events;
}

bool EventReceiver::waitForEvents(std::size_t count, std::chrono::milliseconds limit) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] {
    std::size_t accepted = 0;
    for (const auto& [serial, request] : requests_)
      if (isAccepted(request)) accepted += request.events().size();
    return accepted >= count;
  });
}

bool EventReceiver::waitForRequests(std::size_t count, std::chrono::milliseconds limit) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return requests_.size() >= count; });
}

void EventReceiver::clear() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

void EventReceiver::setStatus(int status) {
  std::lock_guard lock(mutex_);
  status_ = status;
}

void EventReceiver::setSilent(bool silent) {
  {
    std::lock_guard lock(mutex_);
    silent_ = silent;
  }
  changed_.notify_all();
}

void EventReceiver::handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  ReceivedRequest record;
  record.method = request.getMethod();
  record.target = request.getURI();
  for (const auto& [name, value] : request) record.headers.emplace_back(name, value);
  record.peer = request.clientAddress().toString();
  std::istream& body = request.stream();
  char buffer[8192];
  while (body.read(buffer, sizeof buffer) || body.gcount() > 0) {
    record.body.append(buffer, static_cast<std::size_t>(body.gcount()));
    if (static_cast<std::streamsize>(record.body.size()) > kMaxBody) break;
  }

  int status;
  {
    std::unique_lock lock(mutex_);
    const std::uint64_t serial = nextSerial_++;
    requests_.emplace_back(serial, std::move(record));
    changed_.notify_all();
    changed_.wait(lock, [&] { return !silent_ || stopping_; });
    if (stopping_) {
      response.setKeepAlive(false); // no answer: the connection just closes
      return;
    }
    status = status_;
    for (auto& entry : requests_)
      if (entry.first == serial) entry.second.answered = status;
  }
  changed_.notify_all();

  response.setStatusAndReason(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status),
      Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status)));
  // A short body (none where HTTP forbids one), so a client must read it to keep the connection.
  const std::string text = status == 204 || status == 304 ? "" : "status " + std::to_string(status) + "\n";
  response.setContentType("text/plain");
  response.setContentLength(static_cast<std::streamsize>(text.size()));
  response.send() << text;
}

} // namespace pier::test
