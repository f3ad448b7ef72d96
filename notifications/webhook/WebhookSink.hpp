#pragma once

// The webhook sink: each batch of events is one POST of Distribution's
// envelope to the endpoint's url, on one kept-alive connection per endpoint.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>

#include <pier/notification_sink.hpp>

#include "WebhookOptions.hpp"

namespace pier::webhook {

// Holds Poco's OpenSSL initialization for as long as a sink lives.
struct SslLibrary {
  SslLibrary();
  ~SslLibrary();
};

class WebhookSink final : public NotificationSink {
public:
  // Throws ConfigError when an https endpoint's CA bundle does not load.
  explicit WebhookSink(WebhookOptions options);
  ~WebhookSink() override;
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  // The receiver's status when it is 2xx or 3xx (Distribution's rule);
  // DeliveryError with the status for any other answer, with 0 when there
  // was none (refused, timed out, TLS refused, malformed).
  int write(const Context& context, const std::vector<Event>& events) override;
  void close() override;

  const WebhookOptions& options() const { return options_; }

private:
  Poco::Net::HTTPClientSession& session();
  int exchange(const Context& context, const std::string& body);
  // Waits until the answer starts, the endpoint's timeout passes or the context is done.
  void awaitAnswer(const Context& context, Poco::Net::HTTPClientSession& client);
  void drainBody(std::istream& body, const Poco::Net::HTTPResponse& response);
  std::string describe(const std::string& what) const;

  SslLibrary sslLibrary_; // first: initialized before the TLS context, released after it
  WebhookOptions options_;
  Poco::Net::Context::Ptr tls_;
  std::mutex mutex_; // the server sends one batch at a time; this keeps the sink safe if not
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

} // namespace pier::webhook
