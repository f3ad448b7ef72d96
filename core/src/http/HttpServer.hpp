#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/Config.hpp"

namespace pier {

class App;
class Dispatcher;

namespace http {
struct Connection;
struct RequestHead;
class TlsContext;
} // namespace http

// The registry's HTTP/1.1 server. Every connection sits in one epoll set
// while it is idle, its request head is arriving or its response waits for
// the socket; a fixed pool of workers takes turns waiting on that set (one
// in epoll_wait, the next on a lock: leader and followers). The worker that
// takes a connection's event (EPOLLONESHOT: one at a time) reads, parses the
// head, and when a head is complete runs the request on the spot (no handoff
// between threads), then queues the response: what the socket takes at once
// is written, the rest (large blobs by sendfile) goes back to epoll. A timer
// thread closes connections past their head, idle or send deadline.
class HttpServer {
public:
  explicit HttpServer(App& app); // binds http.addr; throws ConfigError
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  // Stops accepting, lets requests in flight finish for up to http.draintimeout, then closes every
  // connection.
  void stop();

  // Reads the TLS certificate, key and client CAs again (SIGHUP); a bad new file keeps the old ones.
  void reloadTls();

  std::string address() const; // the bound host:port, with the real port when 0 was asked for
  std::uint16_t port() const { return port_; }

  // The limits in force, after the defaults were resolved (for the startup log).
  const Config::Http::Limits& limits() const { return limits_; }
  int threads() const { return threadCount_; }

private:
  void workerLoop();
  void timerLoop();
  void acceptConnections();
  void refuse(int fd, const char* why);
  void onHandshake(http::Connection* connection);
  // Plain HTTP sent to the TLS port is answered in plain HTTP; true when it was.
  bool answeredPlainHttp(http::Connection* connection);
  void onReadable(http::Connection* connection);
  // Reads what has arrived into the connection's input; false when the client closed with nothing to answer.
  bool readAvailable(http::Connection* connection);
  void onWritable(http::Connection* connection);
  // Parses and serves the complete heads in the connection's input; false when the connection is gone.
  void serveInput(http::Connection* connection);
  void serveRequest(http::Connection* connection, const http::RequestHead& head);
  void answerMalformed(http::Connection* connection, int status, const std::string& message);
  // Sends what the socket takes; true when everything queued is sent.
  bool flush(http::Connection* connection);
  enum class Sent { all, blocked, clientGone };
  Sent sendOutput(http::Connection* connection);
  void loadTls(bool force); // logs the outcome
  void afterResponse(http::Connection* connection);
  void waitForInput(http::Connection* connection);
  void arm(http::Connection* connection, std::uint32_t events, std::int64_t deadline);
  // Arms for room to write, with the send deadline.
  void waitToWrite(http::Connection* connection);
  void close(http::Connection* connection);
  // Closes a connection whose answer is sent; with lingerOnClose, as nginx's lingering close.
  void closeAfterAnswer(http::Connection* connection);
  void onLingering(http::Connection* connection);

  App& app_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<http::TlsContext> tls_; // null: plain HTTP
  Config::Http::Limits limits_;
  int threadCount_ = 0;
  std::string host_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  int epoll_ = -1;
  int wake_ = -1;    // eventfd: tells every worker to stop
  int reserve_ = -1; // a spare descriptor, given up to refuse a connection when descriptors run out

  std::mutex pollMutex_; // held by the one worker waiting in epoll_wait
  std::vector<std::thread> workers_;
  std::thread timer_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> accepting_{true};
  std::atomic<int> inFlight_{0};

  std::mutex connectionsMutex_;
  std::unordered_set<http::Connection*> connections_;
  std::unordered_map<std::string, long long> perClient_;
};

} // namespace pier
