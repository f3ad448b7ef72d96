#pragma once

#include <chrono>
#include <cstdint>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>

#include <pier/context.hpp>

#include "errcode/ErrorCode.hpp"

namespace pier {

// The upstream registry cannot be reached, refuses Pier's credentials or
// answers what no registry should: 503 UNAVAILABLE for the client (worth a
// retry), and what makes a cached tag be served after its ttl.
class UpstreamUnavailable : public errcode::Exception {
public:
  explicit UpstreamUnavailable(const std::string& message)
      : errcode::Exception(errcode::Unavailable, "upstream registry: " + message) {}
};

// An answer of the upstream; its body is read from `body` while `session` lives.
struct UpstreamResponse {
  int status = 0;
  Poco::Net::HTTPResponse head;
  std::istream* body = nullptr;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;

  std::string header(const std::string& name) const { return head.get(name, ""); }
  std::optional<std::int64_t> contentLength() const;
};

// Requests to one upstream registry's API (Poco sessions, HTTPS with the
// host name verified against the system's CAs or `caFile`), authenticated
// the way the upstream asks: on a 401 with a Bearer challenge, a token for
// the request's scope from the challenge's realm (with the credentials as
// Basic auth when there are some, anonymously otherwise), remembered per
// scope until it expires; on a Basic challenge, the credentials. Redirects
// of GET and HEAD (blob storage elsewhere, as Docker Hub's) are followed
// without the credentials. Thread-safe: one session per request.
class UpstreamClient {
public:
  struct Options {
    std::string url; // scheme://host[:port], no trailing '/'
    std::string username, password;
    std::string caFile;
  };
  explicit UpstreamClient(Options options); // throws ConfigError when the CAs do not load

  const std::string& url() const { return options_.url; }

  // method on apiPath ("/v2/..."); scope is what a token must grant
  // ("repository:library/alpine:pull"). Throws UpstreamUnavailable when the
  // upstream or its token service cannot be reached or refuse the credentials.
  UpstreamResponse send(const Context& context, const std::string& method, const std::string& apiPath,
                        const std::string& scope,
                        const std::vector<std::pair<std::string, std::string>>& headers = {});

private:
  UpstreamResponse exchange(const Poco::URI& uri, const std::string& method,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            const std::string& authorization) const;
  // The Authorization header for the next request, from what the upstream asked before.
  std::string authorizationFor(const Context& context, const std::string& scope);
  // Learns a 401's challenge; false when trying again cannot help.
  bool learnChallenge(const std::string& wwwAuthenticate, const std::string& scope);
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  Token fetchToken(const Context& context, const std::string& realm, const std::string& service,
                   const std::string& scope) const;
  std::string basicCredentials() const;

  Options options_;
  Poco::Net::Context::Ptr tls_;

  enum class Scheme { none, basic, bearer };
  std::mutex mutex_;
  Scheme scheme_ = Scheme::none;
  std::string realm_, service_;
  std::map<std::string, Token> tokens_; // by scope
};

// The parameters of a `Bearer k="v", k2=v2` or `Basic k="v"` challenge, with
// the scheme lowercased under "" (empty when the header is neither).
std::map<std::string, std::string> parseChallenge(const std::string& wwwAuthenticate);

} // namespace pier
