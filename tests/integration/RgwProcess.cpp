#include "RgwProcess.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "PierProcess.hpp"

namespace pier::test {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The script gives itself 60 s to start the cluster; a little more here so
// that its own message, with the logs, is what a failure shows.
constexpr auto kRgwStartTimeout = 75s;
constexpr auto kStopGatewayTimeout = 20s;
// The script stops three daemons, each within 5 s of SIGTERM, or kills it.
constexpr auto kShutdownTimeout = 40s;
constexpr auto kKillTimeout = 5s;

bool waitForChild(pid_t pid, std::chrono::steady_clock::duration limit) {
  for (auto deadline = Clock::now() + limit; Clock::now() < deadline;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

} // namespace

std::filesystem::path RgwProcess::script() {
  return std::filesystem::path(PIER_SOURCE_DIR) / "scripts" / "rgw";
}

bool RgwProcess::available() {
  return runCommand(script().string(), {"check"}, {}, {}, std::chrono::seconds(10)).exitCode == 0;
}

RgwProcess::RgwProcess(std::string bucket) : bucket_(std::move(bucket)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "pier-rgw-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  directory_ = pattern;

  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    throw std::runtime_error("socketpair: " + std::string(std::strerror(errno)));
  std::vector<std::string> arguments = {script().string(), "run", directory_.string(), "--bucket", bucket_};
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  int log = ::open((directory_ / "rgw-script.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    ::close(ends[0]);
    ::close(ends[1]);
    if (log >= 0) ::close(log);
    throw std::runtime_error("fork: " + std::string(std::strerror(error)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec. No parent-death signal: it
    // comes when the forking thread ends, not the test. Should the test die,
    // its end of the socket closes, and the script stops the daemons.
    ::dup2(ends[1], 0);
    ::dup2(ends[1], 1);
    if (log >= 0) ::dup2(log, 2);
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(ends[1]);
  if (log >= 0) ::close(log);
  pid_ = pid;
  control_ = ends[0];

  // `export KEY=VALUE` lines, then READY.
  std::map<std::string, std::string> values;
  const auto deadline = Clock::now() + kRgwStartTimeout;
  for (;;) {
    std::optional<std::string> line = readLine(deadline);
    if (!line) {
      std::string tail = logTail();
      shutdown();
      std::error_code ignored;
      std::filesystem::remove_all(directory_, ignored);
      throw std::runtime_error("scripts/rgw did not get the cluster ready:\n" + tail);
    }
    if (*line == "READY") break;
    if (line->rfind("export ", 0) == 0) {
      std::size_t equals = line->find('=');
      if (equals != std::string::npos) values[line->substr(7, equals - 7)] = line->substr(equals + 1);
    }
  }
  port_ = static_cast<std::uint16_t>(std::stoi(values["RGW_PORT"]));
  accessKey_ = values["RGW_ACCESS_KEY"];
  secretKey_ = values["RGW_SECRET_KEY"];
  region_ = values["RGW_REGION"];
  gatewayRunning_ = true;
}

RgwProcess::~RgwProcess() {
  shutdown();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void RgwProcess::shutdown() {
  if (pid_ > 0) {
    // The end of its input: the script stops the daemons by PID and exits.
    ::shutdown(control_, SHUT_WR);
    if (!waitForChild(pid_, kShutdownTimeout)) {
      ::kill(pid_, SIGTERM);
      if (!waitForChild(pid_, kKillTimeout)) {
        ::kill(pid_, SIGKILL); // the daemons die with it (their parent-death signal)
        ::waitpid(pid_, nullptr, 0);
      }
    }
    pid_ = -1;
  }
  if (control_ >= 0) ::close(control_);
  control_ = -1;
  gatewayRunning_ = false;
}

std::optional<std::string> RgwProcess::readLine(Clock::time_point deadline) {
  for (;;) {
    std::size_t end = buffered_.find('\n');
    if (end != std::string::npos) {
      std::string line = buffered_.substr(0, end);
      buffered_.erase(0, end + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd readable{control_, POLLIN, 0};
    int ready = ::poll(&readable, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char chunk[4096];
    ssize_t n = ::recv(control_, chunk, sizeof(chunk), 0);
    if (n <= 0) return std::nullopt; // the script exited
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
}

void RgwProcess::command(const std::string& line, const std::string& expected, std::chrono::seconds limit) {
  if (pid_ <= 0) throw std::runtime_error("the RGW cluster is not running");
  std::string text = line + "\n";
  if (::send(control_, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("scripts/rgw is gone:\n" + logTail());
  std::optional<std::string> answer = readLine(Clock::now() + limit);
  if (answer != expected)
    throw std::runtime_error("scripts/rgw answered '" + answer.value_or("nothing") + "' to " + line + ":\n" +
                             logTail());
}

void RgwProcess::stop() {
  if (!gatewayRunning_) return;
  command("stop-gateway", "STOPPED", kStopGatewayTimeout);
  gatewayRunning_ = false;
}

void RgwProcess::start() {
  if (gatewayRunning_) return;
  command("start-gateway", "STARTED", std::chrono::duration_cast<std::chrono::seconds>(kRgwStartTimeout));
  gatewayRunning_ = true;
}

S3Response RgwProcess::request(const std::string& method, const std::string& target, const std::string& body,
                               std::chrono::seconds limit) const {
  static std::atomic<int> counter{0};
  std::string name = "request-" + std::to_string(counter++);
  std::filesystem::path bodyFile = directory_ / (name + ".body");
  std::filesystem::path answerFile = directory_ / (name + ".answer");
  // RGW refuses a SigV4 request without x-amz-content-sha256.
  std::vector<std::string> arguments = {"-sS",
                                        "--max-time",
                                        std::to_string(limit.count()),
                                        "--aws-sigv4",
                                        "aws:amz:" + region_ + ":s3",
                                        "--user",
                                        accessKey_ + ":" + secretKey_,
                                        "-H",
                                        "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                                        "-o",
                                        answerFile.string(),
                                        "-w",
                                        "\nhttp-status=%{http_code}\n"};
  if (method == "HEAD") {
    arguments.push_back("-I");
  } else {
    arguments.insert(arguments.end(), {"-X", method});
  }
  // PUT and POST always carry a body, if empty, so that they have a Content-Length.
  if (!body.empty() || method == "PUT" || method == "POST") {
    writeFile(bodyFile, body);
    arguments.insert(arguments.end(), {"-T", bodyFile.string()});
  }
  arguments.push_back(endpoint() + target);
  CommandResult result = runCommand("/usr/bin/curl", arguments, {}, {}, limit + std::chrono::seconds(5));

  S3Response response;
  response.curlExitCode = result.exitCode;
  std::size_t at = result.output.rfind("http-status=");
  if (at != std::string::npos) response.status = std::atoi(result.output.c_str() + at + 12);
  response.body = readFile(answerFile);
  std::error_code ignored;
  std::filesystem::remove(bodyFile, ignored);
  std::filesystem::remove(answerFile, ignored);
  return response;
}

std::string RgwProcess::logTail() const {
  std::string text = readFile(directory_ / "rgw-script.log");
  return text.size() > 6000 ? text.substr(text.size() - 6000) : text;
}

} // namespace pier::test
