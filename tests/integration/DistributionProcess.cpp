#include "DistributionProcess.hpp"

#include <csignal>
#include <cstring>
#include <regex>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace pier::test {

pid_t spawnProcess(const std::string& program, const std::vector<std::string>& arguments,
                   const std::map<std::string, std::string>& env,
                   const std::filesystem::path& workingDirectory, const std::filesystem::path& outputFile) {
  std::vector<std::string> args{program};
  args.insert(args.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::vector<std::string> environment;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (entry.rfind("REGISTRY_", 0) == 0) continue; // Distribution reads them too
    std::string key = entry.substr(0, entry.find('='));
    if (env.count(key)) continue;
    environment.push_back(entry);
  }
  for (const auto& [key, value] : env) environment.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, outputFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::string cwd =
      workingDirectory.empty() ? std::filesystem::current_path().string() : workingDirectory.string();
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
  return pid;
}

int waitForExit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (done < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

CommandResult runCommand(const std::string& program, const std::vector<std::string>& arguments,
                         const std::map<std::string, std::string>& env, std::chrono::seconds limit) {
  TempDir scratch;
  auto output = scratch / "output.log";
  pid_t pid = spawnProcess(program, arguments, env, scratch.path(), output);
  CommandResult result;
  result.exitCode = waitForExit(pid, limit);
  result.output = readFile(output);
  if (result.exitCode == -1)
    result.output += "\n[killed or crashed: no exit within " + std::to_string(limit.count()) + " s]";
  return result;
}

bool DistributionServer::available() {
  return access(kDistributionBinary, X_OK) == 0;
}

DistributionServer::DistributionServer(const std::filesystem::path& root) {
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
                "http:\n  addr: 127.0.0.1:0\n  secret: pier-interop-test\n  draintimeout: 5s\n");
  pid_ = spawnProcess(kDistributionBinary, {"serve", (dir_ / "config.yml").string()}, {}, dir_.path(),
                      dir_ / "server.log");
  // Distribution logs: level=info msg="listening on 127.0.0.1:43801" ...
  static const std::regex listening(R"(listening on [^ "]*:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch match;
    std::string text = log();
    if (std::regex_search(text, match, listening)) {
      port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("docker-registry exited before listening:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitForExit(pid_, std::chrono::seconds(5));
  pid_ = -1;
  throw std::runtime_error("docker-registry did not start listening within 20 s:\n" + log());
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
