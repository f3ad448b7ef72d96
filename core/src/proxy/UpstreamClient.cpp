#include "proxy/UpstreamClient.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>

#include "pier/errors.hpp"
#include "util/Text.hpp"
#include "util/TlsClient.hpp"

namespace pier {

namespace {

// Per step (connect, send, each read): an upstream that stalls this long is down.
const Poco::Timespan kTimeout(30, 0);
constexpr int kMaxRedirects = 3;
constexpr std::size_t kMaxTokenAnswer = 1 << 20;
constexpr auto kDefaultTokenLifetime = std::chrono::seconds(60); // the token spec's default

using Headers = std::vector<std::pair<std::string, std::string>>;

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string describe(const Poco::URI& uri) {
  return uri.getScheme() + "://" + uri.getAuthority();
}

} // namespace

std::optional<std::int64_t> UpstreamResponse::contentLength() const {
  if (!head.hasContentLength()) return std::nullopt;
  return head.getContentLength64();
}

std::map<std::string, std::string> parseChallenge(const std::string& header) {
  std::map<std::string, std::string> out;
  std::size_t space = header.find(' ');
  std::string scheme = lower(trim(header.substr(0, space)));
  if (scheme != "bearer" && scheme != "basic") return out;
  out[""] = scheme;
  std::size_t at = space == std::string::npos ? header.size() : space;
  while (at < header.size()) {
    while (at < header.size() && (header[at] == ' ' || header[at] == ',')) ++at;
    std::size_t equals = header.find('=', at);
    if (equals == std::string::npos) break;
    std::string key = lower(trim(header.substr(at, equals - at)));
    std::string value;
    at = equals + 1;
    if (at < header.size() && header[at] == '"') {
      for (++at; at < header.size() && header[at] != '"'; ++at) {
        if (header[at] == '\\' && at + 1 < header.size()) ++at;
        value += header[at];
      }
      ++at; // the closing quote
    } else {
      std::size_t comma = header.find(',', at);
      value = trim(header.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
      at = comma == std::string::npos ? header.size() : comma;
    }
    out[key] = value;
  }
  return out;
}

UpstreamClient::UpstreamClient(Options options) : options_(std::move(options)) {
  if (Poco::URI(options_.url).getScheme() != "https") return;
  try {
    tls_ = verifyingClientContext(options_.caFile);
  } catch (const Poco::Exception& e) {
    throw ConfigError("proxy: the CA certificates for " + options_.url + " (" +
                      (options_.caFile.empty() ? "the system's" : options_.caFile) +
                      ") do not load: " + e.displayText());
  }
}

std::string UpstreamClient::basicCredentials() const {
  Poco::Net::HTTPRequest request;
  Poco::Net::HTTPBasicCredentials(options_.username, options_.password).authenticate(request);
  return request.get(Poco::Net::HTTPRequest::AUTHORIZATION);
}

UpstreamResponse UpstreamClient::exchange(const Poco::URI& uri, const std::string& method,
                                          const Headers& headers, const std::string& authorization) const {
  UpstreamResponse response;
  try {
    if (uri.getScheme() == "https") {
      // A token realm or a redirect may be https under a plain-http upstream: the system's CAs then.
      Poco::Net::Context::Ptr tls = tls_ ? tls_ : verifyingClientContext();
      response.session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), tls);
    } else {
      response.session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    response.session->setTimeout(kTimeout);
    Poco::Net::HTTPRequest request(method, uri.getPathEtc(), Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) request.add(name, value);
    if (!authorization.empty()) request.set(Poco::Net::HTTPRequest::AUTHORIZATION, authorization);
    response.session->sendRequest(request);
    response.body = &response.session->receiveResponse(response.head);
    response.status = static_cast<int>(response.head.getStatus());
  } catch (const Poco::Exception& e) {
    throw UpstreamUnavailable(describe(uri) + ": " + e.displayText());
  }
  return response;
}

UpstreamClient::Token UpstreamClient::fetchToken(const Context& context, const std::string& realm,
                                                 const std::string& service, const std::string& scope) const {
  context.throwIfDone();
  Poco::URI uri;
  try {
    uri = Poco::URI(realm);
  } catch (const Poco::Exception&) {
    throw UpstreamUnavailable("the token realm \"" + realm + "\" is no URL");
  }
  if (uri.getScheme() != "http" && uri.getScheme() != "https")
    throw UpstreamUnavailable("the token realm \"" + realm + "\" is no http(s) URL");
  if (!service.empty()) uri.addQueryParameter("service", service);
  if (!scope.empty()) uri.addQueryParameter("scope", scope);
  const bool withCredentials = !options_.username.empty();
  if (withCredentials) uri.addQueryParameter("account", options_.username);
  UpstreamResponse answer = exchange(uri, "GET", {}, withCredentials ? basicCredentials() : "");
  if (answer.status != 200)
    throw UpstreamUnavailable(
        "the token service " + describe(uri) + " answered " + std::to_string(answer.status) +
        (withCredentials ? " to proxy.username's credentials" : " to an anonymous request"));
  std::string text;
  try {
    text.resize(kMaxTokenAnswer);
    answer.body->read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(answer.body->gcount()));
    auto object = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
    std::string token = object->optValue<std::string>("token", "");
    if (token.empty()) token = object->optValue<std::string>("access_token", "");
    auto lifetime = std::chrono::seconds(object->optValue<long long>("expires_in", 0));
    if (lifetime.count() <= 0) lifetime = kDefaultTokenLifetime;
    // Renewed a little before the upstream would refuse it.
    if (!token.empty()) return Token{token, std::chrono::steady_clock::now() + lifetime * 9 / 10};
  } catch (const Poco::Exception&) {
  }
  throw UpstreamUnavailable("the token service " + describe(uri) + " answered no token");
}

std::string UpstreamClient::authorizationFor(const Context& context, const std::string& scope) {
  std::string realm, service;
  {
    std::lock_guard lock(mutex_);
    if (scheme_ == Scheme::none) return "";
    if (scheme_ == Scheme::basic) return basicCredentials();
    auto found = tokens_.find(scope);
    if (found != tokens_.end() && found->second.expires > std::chrono::steady_clock::now())
      return "Bearer " + found->second.value;
    realm = realm_;
    service = service_;
  }
  // Fetched outside the lock: other scopes' requests do not wait for it.
  Token token = fetchToken(context, realm, service, scope);
  std::lock_guard lock(mutex_);
  tokens_[scope] = token;
  if (tokens_.size() > 10000) tokens_.erase(tokens_.begin()); // bounded: scopes come from clients
  return "Bearer " + token.value;
}

bool UpstreamClient::learnChallenge(const std::string& wwwAuthenticate, const std::string& scope) {
  auto challenge = parseChallenge(wwwAuthenticate);
  std::lock_guard lock(mutex_);
  if (challenge[""] == "bearer" && !challenge["realm"].empty()) {
    scheme_ = Scheme::bearer;
    realm_ = challenge["realm"];
    service_ = challenge["service"];
    tokens_.erase(scope); // refused or never had one: a new one
    return true;
  }
  if (challenge[""] == "basic" && !options_.username.empty() && scheme_ != Scheme::basic) {
    scheme_ = Scheme::basic;
    return true;
  }
  return false;
}

UpstreamResponse UpstreamClient::send(const Context& context, const std::string& method,
                                      const std::string& apiPath, const std::string& scope,
                                      const Headers& headers) {
  Poco::URI uri(options_.url + apiPath);
  UpstreamResponse response;
  for (int attempt = 0; attempt < 2; ++attempt) {
    context.throwIfDone();
    response = exchange(uri, method, headers, authorizationFor(context, scope));
    if (response.status != 401 || attempt == 1) break;
    if (!learnChallenge(response.header("WWW-Authenticate"), scope)) break;
  }
  if (response.status == 401 || response.status == 403)
    throw UpstreamUnavailable(
        options_.url + " refused " +
        (options_.username.empty() ? "anonymous access" : "proxy.username's credentials") + " (" +
        std::to_string(response.status) + ") for " + scope);
  // Blob storage elsewhere: the credentials are the registry's, not for it.
  for (int hop = 0; isRedirect(response.status) && (method == "GET" || method == "HEAD"); ++hop) {
    std::string location = response.header("Location");
    if (location.empty() || hop == kMaxRedirects)
      throw UpstreamUnavailable(describe(uri) + " redirects too often");
    uri.resolve(location);
    context.throwIfDone();
    response = exchange(uri, method, headers, "");
  }
  return response;
}

} // namespace pier
