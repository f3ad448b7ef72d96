#include "RedisServerProcess.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pier::test {

namespace {

using namespace std::chrono_literals;

constexpr auto kRedisStartTimeout = 10s;
constexpr auto kStopTimeout = 5s;
constexpr int kReplyTimeoutSeconds = 5;

std::uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port: " + std::string(std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

int connectTo(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{kReplyTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

std::string encode(const std::vector<std::string>& arguments) {
  // '*' and '$', not "*" and "$": GCC 12 -Wrestrict misfires at -O3 on "literal" + a temporary string.
  std::string out = '*' + std::to_string(arguments.size()) + "\r\n";
  for (const auto& argument : arguments)
    out += '$' + std::to_string(argument.size()) + "\r\n" + argument + "\r\n";
  return out;
}

} // namespace

std::filesystem::path RedisServerProcess::executable() {
  if (const char* path = std::getenv("PIER_REDIS_SERVER"); path && *path) return path;
  return "/usr/bin/redis-server";
}

bool RedisServerProcess::available() {
  return ::access(executable().c_str(), X_OK) == 0;
}

RedisServerProcess::RedisServerProcess(std::vector<std::string> extraArguments, std::string password)
    : extraArguments_(std::move(extraArguments)), password_(std::move(password)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "pier-redis-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  directory_ = pattern;
  try {
    // Another process may take the free port before redis-server binds it: try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = freePort();
      if (launch()) return;
    }
    throw std::runtime_error("redis-server did not start:\n" + logTail());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
    throw;
  }
}

RedisServerProcess::~RedisServerProcess() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

bool RedisServerProcess::launch() {
  std::vector<std::string> arguments = {executable().string(),
                                        "--port",
                                        std::to_string(port_),
                                        "--bind",
                                        "127.0.0.1",
                                        "--save",
                                        "",
                                        "--appendonly",
                                        "no",
                                        "--dir",
                                        directory_.string(),
                                        "--daemonize",
                                        "no",
                                        "--logfile",
                                        (directory_ / "redis.log").string()};
  arguments.insert(arguments.end(), extraArguments_.begin(), extraArguments_.end());
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  int output = ::open((directory_ / "stdout.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    if (output >= 0) ::close(output);
    throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec. The server dies with the test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (output >= 0) {
      ::dup2(output, 1);
      ::dup2(output, 2);
    }
    ::syscall(SYS_close_range, 3u, ~0u, 0u); // no test socket leaks into the server
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (output >= 0) ::close(output);
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + kRedisStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false; // it exited: most likely the port was taken
    }
    try {
      // Ours, and not another test's server that took the port meanwhile.
      if (command({"PING"}).text == "PONG" && infoNumber("process_id") == pid_) return true;
      disconnect();
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(20ms);
  }
  stop();
  throw std::runtime_error("redis-server did not answer PING within 10s:\n" + logTail());
}

void RedisServerProcess::stop() {
  disconnect();
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT); // a paused server cannot handle SIGTERM
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServerProcess::start() {
  if (pid_ > 0) return;
  // The same port: retry briefly should it still be held.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (launch()) return;
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error("redis-server did not start again on port " + std::to_string(port_) + ":\n" +
                           logTail());
}

void RedisServerProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServerProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string RedisServerProcess::logTail() const {
  std::string text;
  for (const char* name : {"stdout.log", "redis.log"}) {
    std::ifstream file(directory_ / name);
    std::stringstream content;
    content << file.rdbuf();
    text += content.str();
  }
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

void RedisServerProcess::disconnect() {
  if (socket_ >= 0) ::close(socket_);
  socket_ = -1;
  buffered_.clear();
}

RedisReply RedisServerProcess::command(const std::vector<std::string>& arguments) {
  auto fail = [this](const std::string& what) -> RedisReply {
    disconnect();
    throw std::runtime_error("redis fixture: " + what);
  };
  if (socket_ < 0) {
    socket_ = connectTo(port_);
    if (socket_ < 0) return fail("cannot connect to port " + std::to_string(port_));
    if (!password_.empty()) {
      RedisReply auth = command({"AUTH", password_});
      if (auth.type == RedisReply::Type::error) return fail("AUTH: " + auth.text);
    }
  }
  std::string request = encode(arguments);
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(socket_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return fail("send failed");
    sent += static_cast<std::size_t>(n);
  }

  // Reads until the buffer holds `count` bytes; every recv is bounded by SO_RCVTIMEO.
  auto fill = [&](std::size_t count) {
    char chunk[4096];
    while (buffered_.size() < count) {
      ssize_t n = ::recv(socket_, chunk, sizeof(chunk), 0);
      if (n <= 0) fail("connection closed or no reply within 5s");
      buffered_.append(chunk, static_cast<std::size_t>(n));
    }
  };
  auto line = [&]() {
    std::size_t end;
    for (int guard = 0; (end = buffered_.find("\r\n")) == std::string::npos; ++guard) {
      if (guard > 10000) fail("reply line too long");
      fill(buffered_.size() + 1);
    }
    std::string text = buffered_.substr(0, end);
    buffered_.erase(0, end + 2);
    return text;
  };
  std::function<RedisReply(int)> read = [&](int depth) -> RedisReply {
    if (depth > 8) fail("reply nested too deep");
    std::string header = line();
    if (header.empty()) fail("empty reply line");
    RedisReply reply;
    std::string rest = header.substr(1);
    switch (header[0]) {
    case '+':
      reply.type = RedisReply::Type::status;
      reply.text = rest;
      break;
    case '-':
      reply.type = RedisReply::Type::error;
      reply.text = rest;
      break;
    case ':':
      reply.type = RedisReply::Type::integer;
      reply.integer = std::stoll(rest);
      break;
    case '$': {
      long long length = std::stoll(rest);
      if (length < 0) break; // nil
      fill(static_cast<std::size_t>(length) + 2);
      reply.type = RedisReply::Type::bulk;
      reply.text = buffered_.substr(0, static_cast<std::size_t>(length));
      buffered_.erase(0, static_cast<std::size_t>(length) + 2);
      break;
    }
    case '*': {
      long long count = std::stoll(rest);
      if (count < 0) break; // nil
      reply.type = RedisReply::Type::array;
      for (long long i = 0; i < count; ++i) reply.elements.push_back(read(depth + 1));
      break;
    }
    default:
      fail("unexpected reply " + header);
    }
    return reply;
  };
  return read(0);
}

long long RedisServerProcess::infoNumber(const std::string& field) {
  std::string info = command({"INFO"}).text;
  std::size_t at = info.find("\r\n" + field + ":");
  if (at == std::string::npos) throw std::runtime_error("INFO has no field " + field);
  return std::stoll(info.substr(at + field.size() + 3));
}

} // namespace pier::test
