#pragma once

// Runs other programs for integration tests: any command with a time limit
// (skopeo), and the CNCF Distribution registry (Debian package docker-registry)
// as a server on an ephemeral 127.0.0.1 port over a given filesystem root,
// stopped by its PID.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

#include "PierProcess.hpp"

namespace pier::test {

inline constexpr const char* kDistributionBinary = "/usr/bin/docker-registry";

// Starts program (an absolute path) with arguments, the current environment
// minus REGISTRY_* plus env, stdin from /dev/null and stdout+stderr into outputFile.
pid_t spawnProcess(const std::string& program, const std::vector<std::string>& arguments,
                   const std::map<std::string, std::string>& env,
                   const std::filesystem::path& workingDirectory, const std::filesystem::path& outputFile);

// Waits for the process until limit, kills it (SIGKILL) after; its exit code, or -1.
int waitForExit(pid_t pid, std::chrono::milliseconds limit);

// Runs a command to its end or at most limit; the output holds stdout and stderr.
CommandResult runCommand(const std::string& program, const std::vector<std::string>& arguments,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::seconds limit = std::chrono::seconds(60));

// `docker-registry serve` over a filesystem root, deletes enabled, no upload purging.
class DistributionServer {
public:
  explicit DistributionServer(const std::filesystem::path& root);
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
