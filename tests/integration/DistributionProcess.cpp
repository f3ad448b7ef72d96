#include "DistributionProcess.hpp"

#include <csignal>
#include <regex>

#include <unistd.h>

namespace pier::test {

bool DistributionServer::available() {
  return access(kDistributionBinary, X_OK) == 0;
}

DistributionServer::DistributionServer(const std::filesystem::path& root, const std::string& extraConfig) {
  // No upload purging, so nothing changes in the root but what the test does;
  // a drain timeout, so SIGTERM shuts it down cleanly (exit code 0).
  writeFile(dir_ / "config.yml",
            "version: 0.1\n"
            "log:\n  level: info\n"
            "storage:\n"
            "  filesystem:\n    rootdirectory: " +
                root.string() +
                "\n"
                "  delete:\n    enabled: true\n"
                "  maintenance:\n    uploadpurging:\n      enabled: false\n"
                "http:\n  addr: 127.0.0.1:0\n  secret: pier-interop-test\n  draintimeout: 5s\n" +
                extraConfig);
  pid_ = spawnProcess(kDistributionBinary, {"serve", (dir_ / "config.yml").string()}, {}, dir_.path(),
                      dir_ / "server.log");
  // Distribution logs: level=info msg="listening on 127.0.0.1:43801" ...
  static const std::regex listening(R"(listening on [^ "]*:(\d+))");
  port_ = waitForListeningPort(pid_, dir_ / "server.log", listening, "docker-registry");
}

DistributionServer::~DistributionServer() {
  stop();
}

std::string DistributionServer::log() const {
  return readFile(dir_ / "server.log");
}

int DistributionServer::stop() {
  if (pid_ <= 0) return exitCode_;
  kill(pid_, SIGTERM);
  exitCode_ = waitForExit(pid_, std::chrono::seconds(10));
  pid_ = -1;
  return exitCode_;
}

} // namespace pier::test
