#pragma once

// A real S3 server for tests: a single-node Ceph cluster (one ceph-mon, one
// ceph-osd on memstore, one radosgw on a free 127.0.0.1 port) in a temporary
// directory, with an S3 user and a bucket. It runs `scripts/rgw run DIR` (the
// one place the cluster's configuration lives) as a child process that owns
// the daemons and takes commands on its stdin, a socket; when this object or
// the test process goes away, the socket closes and the script stops every
// daemon by its PID. Only the
// gateway can be stopped and started again (same port, data kept): the mon
// and the OSD keep running. Every wait is bounded.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <sys/types.h>

namespace pier::test {

// What a request signed with the fixture's keys answered.
struct S3Response {
  int status = 0; // 0 when no answer came (curl's exit code in curlExitCode)
  int curlExitCode = 0;
  std::string body;
};

class RgwProcess {
public:
  static std::filesystem::path script(); // <source>/scripts/rgw
  // The Ceph binaries, curl and python3 are installed (`scripts/rgw check`).
  static bool available();

  // Starts a fresh cluster and creates `bucket`; throws std::runtime_error
  // with the tail of the logs when it is not S3-ready within a minute.
  explicit RgwProcess(std::string bucket = "pier");
  RgwProcess(const RgwProcess&) = delete;
  RgwProcess& operator=(const RgwProcess&) = delete;
  ~RgwProcess();

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  const std::string& accessKey() const { return accessKey_; }
  const std::string& secretKey() const { return secretKey_; }
  const std::string& bucket() const { return bucket_; }
  // The SigV4 region to sign with; RGW accepts any name.
  const std::string& region() const { return region_; }
  const std::filesystem::path& directory() const { return directory_; }
  bool running() const { return gatewayRunning_; }

  void stop();  // the gateway only: its port refuses connections afterwards
  void start(); // the gateway again, on the same port, with the data kept

  // One S3 request signed with SigV4 by curl (--aws-sigv4), e.g.
  // request("PUT", "/bucket/key", body) or request("GET", "/bucket?list-type=2").
  // curl signs the query as written: write it as SigV4 canonicalises it,
  // values URI-encoded (`prefix=a%2F`) and `?uploads=` for a bare `?uploads`.
  S3Response request(const std::string& method, const std::string& target, const std::string& body = {},
                     std::chrono::seconds limit = std::chrono::seconds(30)) const;

  std::string logTail() const; // the script's log, which ends with the daemons' logs on failure

private:
  // Sends a command line to the script and waits for its one-line answer.
  void command(const std::string& line, const std::string& expected, std::chrono::seconds limit);
  // The script's next line; none when it exited or at the deadline.
  std::optional<std::string> readLine(std::chrono::steady_clock::time_point deadline);
  void shutdown();

  std::string bucket_;
  std::string accessKey_;
  std::string secretKey_;
  std::string region_;
  std::filesystem::path directory_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;   // the script
  int control_ = -1; // our end of the socket pair that is the script's stdin and stdout
  std::string buffered_;
  bool gatewayRunning_ = false;
};

} // namespace pier::test
