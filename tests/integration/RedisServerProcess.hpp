#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

namespace pier::test {

// A reply of the small RESP client below.
struct RedisReply {
  enum class Type { status, error, integer, bulk, nil, array };
  Type type = Type::nil;
  std::string text; // status, error and bulk
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool isNil() const { return type == Type::nil; }
};

// A real redis-server for tests: started on a free 127.0.0.1 port with a
// temporary directory and no persistence, stopped by its PID. It can be
// stopped and started again on the same port, and paused (SIGSTOP) to play a
// Redis that does not answer. Every wait is bounded.
class RedisServerProcess {
public:
  // /usr/bin/redis-server, or $PIER_REDIS_SERVER when set.
  static std::filesystem::path executable();
  static bool available();

  // Starts the server; extraArguments are passed on (e.g. {"--requirepass", "s"}).
  // Throws std::runtime_error with the server's log when it does not come up.
  explicit RedisServerProcess(std::vector<std::string> extraArguments = {}, std::string password = {});
  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;
  ~RedisServerProcess();

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  void stop();   // SIGTERM, then SIGKILL if it has not exited within 5s
  void start();  // again, on the same port
  void pause();  // SIGSTOP: connections are accepted, nothing is answered
  void resume(); // SIGCONT

  // Sends one command on the fixture's own connection (opened on demand) and
  // returns the reply. Throws std::runtime_error when Redis cannot be reached.
  RedisReply command(const std::vector<std::string>& arguments);
  // A numeric field of INFO, e.g. infoNumber("total_connections_received").
  long long infoNumber(const std::string& field);

private:
  bool launch(); // false when the port was taken meanwhile
  void waitUntilReady();
  std::string logTail() const;
  void disconnect();

  std::vector<std::string> extraArguments_;
  std::string password_;
  std::filesystem::path directory_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  int socket_ = -1;
  std::string buffered_;
};

} // namespace pier::test
