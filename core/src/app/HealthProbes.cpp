// The file, http and tcp health checks of Distribution's health section.
#include <filesystem>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include "app/HealthCheck.hpp"

namespace pier {

namespace {

Poco::Timespan timespanOf(std::chrono::milliseconds duration) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(duration.count()) * 1000);
}

} // namespace

HealthProbe fileProbe(std::string path, std::chrono::milliseconds interval, int threshold) {
  std::string name = path;
  return {std::move(name),
          [path = std::move(path)](const Context&) -> std::optional<std::string> {
            std::error_code error;
            if (std::filesystem::exists(path, error)) return "file exists: " + path;
            return std::nullopt;
          },
          interval, threshold};
}

HealthProbe httpProbe(std::string uri, std::vector<std::pair<std::string, std::string>> headers, int status,
                      std::chrono::milliseconds timeout, std::chrono::milliseconds interval, int threshold) {
  std::string name = uri;
  Poco::Net::Context::Ptr tls;
  if (Poco::URI(uri).getScheme() == "https") {
    static const bool initialized = [] {
      Poco::Net::initializeSSL();
      return true;
    }();
    (void)initialized;
    Poco::Net::Context::Params params;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT; // the host name is checked too
    params.loadDefaultCAs = true;
    tls = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
  }
  return {std::move(name),
          [uri = std::move(uri), headers = std::move(headers), status, timeout,
           tls](const Context&) -> std::optional<std::string> {
            try {
              Poco::URI parsed(uri);
              std::unique_ptr<Poco::Net::HTTPClientSession> session;
              if (tls)
                session =
                    std::make_unique<Poco::Net::HTTPSClientSession>(parsed.getHost(), parsed.getPort(), tls);
              else
                session = std::make_unique<Poco::Net::HTTPClientSession>(parsed.getHost(), parsed.getPort());
              session->setTimeout(timespanOf(timeout));
              Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_HEAD, parsed.getPathEtc(),
                                             Poco::Net::HTTPMessage::HTTP_1_1);
              for (const auto& [header, value] : headers) request.add(header, value);
              session->sendRequest(request);
              Poco::Net::HTTPResponse response;
              session->receiveResponse(response);
              const int answered = static_cast<int>(response.getStatus());
              if (answered != status)
                return uri + " answered " + std::to_string(answered) + ", not " + std::to_string(status);
              return std::nullopt;
            } catch (const Poco::Exception& e) {
              return uri + ": " + e.displayText();
            }
          },
          interval, threshold};
}

HealthProbe tcpProbe(std::string address, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds interval, int threshold) {
  std::string name = address;
  return {std::move(name),
          [address = std::move(address), timeout](const Context&) -> std::optional<std::string> {
            try {
              Poco::Net::StreamSocket socket;
              socket.connect(Poco::Net::SocketAddress(address), timespanOf(timeout));
              return std::nullopt;
            } catch (const Poco::Exception& e) {
              return "connection to " + address + " failed: " + e.displayText();
            }
          },
          interval, threshold};
}

} // namespace pier
