#pragma once

// What the webhook sink reads from its endpoint's section of
// `notifications.endpoints[]`: url, headers and timeout (Distribution's keys)
// and parameters.cafile (Pier's). Retries, backoff, threshold, ignore rules
// and disabled are the server's and are not read here.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <Poco/JSON/Object.h>

namespace pier::webhook {

struct WebhookOptions {
  std::string name;       // the endpoint's name, for messages
  std::string displayUrl; // the url without its user information, for messages
  bool https = false;
  std::string host;       // as the url gives it (a name or an address)
  std::uint16_t port = 0; // the url's, or the scheme's default
  std::string target;     // path and query, at least "/"
  std::string userInfo;   // "user:password" of the url, sent as Basic credentials
  std::vector<std::pair<std::string, std::string>> headers; // one pair per value, in the configured order
  std::chrono::milliseconds timeout{1000};                  // Distribution's default
  std::string caFile; // https: trust only this PEM bundle; empty: the system's CAs
};

// The options of one endpoint section; throws pier::ConfigError naming the
// key, e.g. "notifications.endpoints[audit].url: ...".
WebhookOptions parseWebhookOptions(const Poco::JSON::Object& endpoint);

} // namespace pier::webhook
