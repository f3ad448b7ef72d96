#include "TokenService.hpp"

#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include "TestTokens.hpp"

namespace pier::test {

class TokenService::Handler : public Poco::Net::HTTPRequestHandler {
public:
  explicit Handler(TokenService& owner) : owner_(owner) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    Request record{Poco::URI(request.getURI()).getRawQuery(), request.get("Authorization", ""), 200};
    std::vector<std::string> scopes;
    for (const auto& [name, value] : Poco::URI(request.getURI()).getQueryParameters())
      if (name == "scope") scopes.push_back(value);
    std::string user, password;
    if (!record.authorization.empty()) {
      try {
        Poco::Net::HTTPBasicCredentials credentials(request);
        user = credentials.getUsername();
        password = credentials.getPassword();
      } catch (const Poco::Exception&) {
      }
    }
    bool allowed = owner_.user_.empty() || (user == owner_.user_ && password == owner_.password_);
    std::string body;
    if (!allowed) {
      record.answered = 401;
      body = "{\"details\":\"incorrect username or password\"}";
    } else {
      TokenClaims claims(scopes);
      claims.subject = user.empty() ? "anonymous" : user;
      body = "{\"token\":\"" +
             signJwt(kidHeader(owner_.alg_, owner_.kid_), claims.json(), owner_.key_, owner_.alg_) +
             "\",\"expires_in\":300}";
    }
    {
      std::lock_guard lock(owner_.mutex_);
      owner_.requests_.push_back(record);
    }
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(record.answered));
    response.setContentType("application/json");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
  }

private:
  TokenService& owner_;
};

class TokenService::HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
  explicit HandlerFactory(TokenService& owner) : owner_(owner) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(owner_);
  }

private:
  TokenService& owner_;
};

TokenService::TokenService(std::filesystem::path signingKey, std::string alg, std::string kid,
                           std::string user, std::string password)
    : key_(std::move(signingKey)), alg_(std::move(alg)), kid_(std::move(kid)), user_(std::move(user)),
      password_(std::move(password)) {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  port_ = socket.address().port();
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setTimeout(Poco::Timespan(5, 0));
  threads_ = std::make_unique<Poco::ThreadPool>(2, 8);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(*this), *threads_, socket, params);
  server_->start();
}

TokenService::~TokenService() {
  server_->stopAll(true);
}

std::string TokenService::realm() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/token";
}

std::vector<TokenService::Request> TokenService::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

} // namespace pier::test
