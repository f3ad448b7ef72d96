#include "WebhookSink.hpp"

#include <chrono>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Timespan.h>

#include <pier/event_json.hpp>

namespace pier::webhook {

namespace {

// An answer's body is read this far to keep the connection for the next
// batch; a longer one costs the connection instead.
constexpr std::streamsize kDrainLimit = 64 * 1024;
const std::string kUserAgent = "pier-webhook";
constexpr std::chrono::milliseconds kAnswerPollSlice(100);

Poco::Timespan timespanOf(std::chrono::milliseconds duration) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(duration.count()) * 1000);
}

// The reason phrase is the receiver's text: keep it short and printable for the log.
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 100)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

} // namespace

SslLibrary::SslLibrary() {
  Poco::Net::initializeSSL();
}

SslLibrary::~SslLibrary() {
  Poco::Net::uninitializeSSL();
}

WebhookSink::WebhookSink(WebhookOptions options) : options_(std::move(options)) {
  if (!options_.https) return;
  using Poco::Net::Context;
  Context::Params params;
  // Strict, not relaxed: relaxed skips the host name check for 127.0.0.1 and localhost.
  params.verificationMode = Context::VERIFY_STRICT;
  params.loadDefaultCAs = options_.caFile.empty();
  params.caLocation = options_.caFile;
  params.cipherList = "DEFAULT";
  const std::string prefix = "notifications.endpoints[" + options_.name + "]";
  try {
    tls_ = new Context(Context::TLS_CLIENT_USE, params);
    tls_->disableProtocols(Context::PROTO_SSLV2 | Context::PROTO_SSLV3 | Context::PROTO_TLSV1 |
                           Context::PROTO_TLSV1_1);
  } catch (const Poco::Exception& e) {
    if (options_.caFile.empty())
      throw ConfigError(prefix + ".url: the system's CA certificates do not load: " + e.displayText());
    throw ConfigError(prefix + ".parameters.cafile: " + options_.caFile +
                      " does not load: " + e.displayText());
  }
}

WebhookSink::~WebhookSink() = default;

int WebhookSink::write(const Context& context, const std::vector<Event>& events) {
  if (events.empty()) return 0;
  context.throwIfDone();
  const std::string body = eventEnvelope(events);
  std::lock_guard lock(mutex_);
  for (int attempt = 0;; ++attempt) {
    // A kept-alive connection that the receiver closed while it was idle
    // fails before any answer: the batch goes once more on a new connection.
    // At worst the receiver gets it twice, with the same event ids.
    const bool reused = session_ && session_->connected();
    try {
      return exchange(context, body);
    } catch (const DeliveryError&) {
      throw;
    } catch (const Poco::TimeoutException& e) {
      session_.reset();
      throw DeliveryError(describe("no answer within " + std::to_string(options_.timeout.count()) +
                                   " ms: " + e.displayText()));
    } catch (const Poco::Exception& e) {
      session_.reset();
      if (reused && attempt == 0) continue;
      throw DeliveryError(describe(e.displayText()));
    } catch (const std::exception& e) {
      session_.reset();
      throw DeliveryError(describe(e.what()));
    }
  }
}

void WebhookSink::close() {
  std::lock_guard lock(mutex_);
  session_.reset();
}

Poco::Net::HTTPClientSession& WebhookSink::session() {
  if (!session_) {
    if (options_.https)
      session_ = std::make_unique<Poco::Net::HTTPSClientSession>(options_.host, options_.port, tls_);
    else
      session_ = std::make_unique<Poco::Net::HTTPClientSession>(options_.host, options_.port);
    // Bounds the connect (with the TLS handshake), each write and each wait for the answer.
    Poco::Timespan timeout = timespanOf(options_.timeout);
    session_->setTimeout(timeout, timeout, timeout);
    session_->setKeepAlive(true);
  }
  return *session_;
}

int WebhookSink::exchange(const Context& context, const std::string& body) {
  using Poco::Net::HTTPMessage;
  using Poco::Net::HTTPRequest;
  Poco::Net::HTTPClientSession& client = session();
  HTTPRequest request(HTTPRequest::HTTP_POST, options_.target, HTTPMessage::HTTP_1_1);
  request.setContentType(kEventsMediaType);
  request.setContentLength64(static_cast<Poco::Int64>(body.size()));
  request.set("User-Agent", kUserAgent);
  if (!options_.userInfo.empty()) {
    std::size_t colon = options_.userInfo.find(':');
    Poco::Net::HTTPBasicCredentials credentials(
        options_.userInfo.substr(0, colon),
        colon == std::string::npos ? std::string() : options_.userInfo.substr(colon + 1));
    credentials.authenticate(request);
  }
  // Configured headers replace the sink's own of the same name (User-Agent, Authorization).
  for (const auto& header : options_.headers) request.erase(header.first);
  for (const auto& [name, value] : options_.headers) request.add(name, value);
  request.setKeepAlive(true);

  std::ostream& out = client.sendRequest(request);
  client.socket().setNoDelay(true); // the body's pieces go at once, not after the ACK of the head (Nagle)
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
  out.flush();
  if (!out) {
    if (const Poco::Exception* error = client.networkException()) error->rethrow();
    throw Poco::IOException("the events could not be sent");
  }
  awaitAnswer(context, client);
  Poco::Net::HTTPResponse response;
  std::istream& in = client.receiveResponse(response);
  const int status = static_cast<int>(response.getStatus());
  if (status < 100 || status > 599) {
    session_.reset();
    throw DeliveryError(describe("answered with a malformed status " + std::to_string(status)));
  }
  drainBody(in, response);
  // Distribution's http sink accepts any 2xx or 3xx answer. Redirects are not
  // followed: a 3xx counts as delivered, as its rule says.
  if (status >= 200 && status < 400) return status;
  throw DeliveryError(describe("answered " + std::to_string(status) + " " + printable(response.getReason())),
                      status);
}

void WebhookSink::awaitAnswer(const Context& context, Poco::Net::HTTPClientSession& client) {
  // In slices, so that a cancelled context (the server shutting down) ends the wait at once, not after the
  // endpoint's timeout; the receive timeout still bounds the answer once it has started.
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  while (!client.socket().poll(timespanOf(kAnswerPollSlice), Poco::Net::Socket::SELECT_READ)) {
    if (context.done()) {
      session_.reset();
      throw DeliveryError(describe("cancelled while waiting for the answer"));
    }
    if (std::chrono::steady_clock::now() >= deadline) throw Poco::TimeoutException("waiting for the answer");
  }
}

void WebhookSink::drainBody(std::istream& body, const Poco::Net::HTTPResponse& response) {
  const int status = static_cast<int>(response.getStatus());
  const bool bodiless = status == 204 || status == 304;
  const bool framed = response.getChunkedTransferEncoding() || response.hasContentLength();
  // A body that only the end of the connection ends, an interim answer, a
  // close asked for or a body too long to read: the connection goes.
  if (status < 200 || !response.getKeepAlive() || (!bodiless && !framed) ||
      (response.hasContentLength() && response.getContentLength64() > kDrainLimit)) {
    session_.reset();
    return;
  }
  if (bodiless) return;
  try {
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    char buffer[4096];
    std::streamsize total = 0;
    while (body.read(buffer, sizeof buffer) || body.gcount() > 0) {
      total += body.gcount();
      if (total > kDrainLimit || std::chrono::steady_clock::now() > deadline) {
        session_.reset();
        return;
      }
    }
    if (!body.eof() || body.bad()) session_.reset();
  } catch (const std::exception&) {
    session_.reset(); // the status stands; only the connection is lost
  }
}

std::string WebhookSink::describe(const std::string& what) const {
  return "webhook endpoint " + options_.name + " (" + options_.displayUrl + "): " + what;
}

} // namespace pier::webhook
