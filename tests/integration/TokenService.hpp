#pragma once

// A real token service on 127.0.0.1 for tests of clients of the Bearer
// flow (the pull-through cache): GET /token?service=&scope= answers
// {"token", "expires_in"} with a JWT signed by TestTokens' signJwt that grants
// exactly the requested scopes to the Basic user, who must be the one given
// (or anyone, anonymously, when none is). Records every request.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
} // namespace Net
} // namespace Poco

namespace pier::test {

class TokenService {
public:
  struct Request {
    std::string query;         // as sent
    std::string authorization; // the header, "" when absent
    int answered = 0;
  };

  // signingKey signs with alg under the JWS header kid; user:password "" for anonymous tokens.
  TokenService(std::filesystem::path signingKey, std::string alg, std::string kid, std::string user,
               std::string password);
  ~TokenService();
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  std::string realm() const; // http://127.0.0.1:<port>/token
  std::vector<Request> requests() const;

private:
  class Handler;
  class HandlerFactory;

  std::filesystem::path key_;
  std::string alg_, kid_, user_, password_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

} // namespace pier::test
