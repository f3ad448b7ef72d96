#pragma once

// A stand-in for S3 in trouble, for the tests of what the s3 driver and the
// server do when S3 fails: no real S3 server can be told to throttle or fail.

#include <atomic>
#include <memory>
#include <string>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

namespace pier::test {

// A stand-in for S3 in trouble: answers the first `failures` requests with
// `status` and an S3 error document, the others with 200 and no body.
class TroubledS3 {
public:
  TroubledS3(int status, int failures) : status_(status), failures_(failures) {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    port_ = socket.address().port();
    auto* parameters = new Poco::Net::HTTPServerParams;
    parameters->setMaxThreads(4);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, parameters);
    server_->start();
  }
  ~TroubledS3() { server_->stopAll(true); }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }
  bool sawUnsignedRequest() const { return unsigned_; }

private:
  void answer(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    std::string ignored;
    Poco::StreamCopier::copyToString(request.stream(), ignored);
    if (request.get("x-amz-content-sha256", "").empty()) unsigned_ = true;
    if (++requests_ > failures_) {
      response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
      response.setContentLength(0);
      response.send();
      return;
    }
    // As AWS and RGW: 503 asks to slow down, 500 is the server's own trouble.
    std::string body = status_ == 503 ? "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Reduce "
                                        "your request rate.</Message></Error>"
                                      : "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>We "
                                        "encountered an internal error.</Message></Error>";
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status_));
    response.setContentType("application/xml");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
  }

  struct Handler final : Poco::Net::HTTPRequestHandler {
    explicit Handler(TroubledS3& owner) : owner(owner) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      owner.answer(request, response);
    }
    TroubledS3& owner;
  };
  struct Factory final : Poco::Net::HTTPRequestHandlerFactory {
    explicit Factory(TroubledS3& owner) : owner(owner) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(owner);
    }
    TroubledS3& owner;
  };

  int status_;
  int failures_;
  std::atomic<int> requests_{0};
  std::atomic<bool> unsigned_{false};
  unsigned short port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

} // namespace pier::test
