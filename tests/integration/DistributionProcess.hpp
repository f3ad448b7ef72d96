#pragma once

// Runs the CNCF Distribution registry (Debian package docker-registry) for
// integration tests as a server on an ephemeral 127.0.0.1 port over a given
// filesystem root, stopped by its PID.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include <sys/types.h>

#include "PierProcess.hpp"

namespace pier::test {

inline constexpr const char* kDistributionBinary = "/usr/bin/docker-registry";

// `docker-registry serve` over a filesystem root, deletes enabled, no upload
// purging; extraConfig is appended (YAML at the top level, e.g. an auth section).
class DistributionServer {
public:
  explicit DistributionServer(const std::filesystem::path& root, const std::string& extraConfig = {});
  ~DistributionServer();
  DistributionServer(const DistributionServer&) = delete;
  DistributionServer& operator=(const DistributionServer&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  // SIGTERM, bounded wait; the exit code, -1 if it had to be killed.
  int stop();

  static bool available();

private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int exitCode_ = -1;
};

} // namespace pier::test
