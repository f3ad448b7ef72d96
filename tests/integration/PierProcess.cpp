#include "PierProcess.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <gtest/gtest.h>

extern char** environ;

namespace pier::test {

void writeFile(const std::filesystem::path& file, const std::string& content) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::string readFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

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
    // Pier and Distribution read REGISTRY_*: only what the test sets.
    if (entry.rfind("REGISTRY_", 0) == 0) continue;
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
  // posix_spawn_file_actions_addchdir_np is a GNU extension in glibc 2.29+.
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

std::uint16_t waitForListeningPort(pid_t pid, const std::filesystem::path& logFile,
                                   const std::regex& listening, const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch match;
    std::string text = readFile(logFile);
    if (std::regex_search(text, match, listening)) return static_cast<std::uint16_t>(std::stoi(match[1]));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      throw std::runtime_error(name + " exited before listening:\n" + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitForExit(pid, std::chrono::seconds(10));
  throw std::runtime_error(name + " did not start listening within 20 s:\n" + readFile(logFile));
}

CommandResult runCommand(const std::string& program, const std::vector<std::string>& arguments,
                         const std::map<std::string, std::string>& env,
                         const std::filesystem::path& workingDirectory, std::chrono::seconds limit) {
  TempDir scratch;
  auto output = scratch / "output.log";
  pid_t pid = spawnProcess(program, arguments, env,
                           workingDirectory.empty() ? scratch.path() : workingDirectory, output);
  CommandResult result;
  result.exitCode = waitForExit(pid, limit);
  result.output = readFile(output);
  if (result.exitCode == -1)
    result.output += "\n[killed or crashed: no exit within " + std::to_string(limit.count()) + " s]";
  return result;
}

CommandResult runPier(const std::vector<std::string>& arguments,
                      const std::map<std::string, std::string>& env,
                      const std::filesystem::path& workingDirectory, std::chrono::seconds limit) {
  CommandResult result =
      runCommand(PIER_TEST_BINARY, arguments, env,
                 workingDirectory.empty() ? std::filesystem::current_path() : workingDirectory, limit);
  expectNoSanitizerReport(result.output, "pier " + (arguments.empty() ? "" : arguments.front()));
  return result;
}

void expectNoSanitizerReport(const std::string& output, const std::string& what) {
  // What ASan, LSan, UBSan and TSan print first (PIER_SANITIZE builds).
  static const std::regex report(
      R"((ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error: ))");
  std::smatch found;
  if (std::regex_search(output, found, report))
    ADD_FAILURE() << what << " reported a sanitizer error:\n"
                  << output.substr(static_cast<std::size_t>(found.position(0)), 20000);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

std::string filesystemConfig(const std::filesystem::path& root, const std::string& extra) {
  return "version: 0.1\n"
         "log:\n  level: info\n"
         "storage:\n  filesystem:\n    rootdirectory: " +
         root.string() +
         "\n  cache:\n    blobdescriptor: inmemory\n  delete:\n    enabled: true\n"
         "http:\n  addr: 127.0.0.1:0\n" +
         extra;
}

std::uint16_t debugPort(const PierServer& server) {
  std::smatch match;
  std::string log = server.log();
  if (!std::regex_search(log, match, std::regex(R"(msg="debug listening" addr=[^ \n]*:(\d+))")))
    throw std::runtime_error("no debug listener in the log:\n" + log);
  return static_cast<std::uint16_t>(std::stoi(match[1]));
}

PierServer::PierServer(const std::string& configYaml, const std::map<std::string, std::string>& env) {
  std::vector<std::string> arguments{"serve"};
  if (!configYaml.empty()) {
    writeFile(dir_ / "config.yml", configYaml);
    arguments.push_back((dir_ / "config.yml").string());
  }
  pid_ = spawnProcess(PIER_TEST_BINARY, arguments, env, dir_.path(), dir_ / "server.log");
  // The text line, or the json and logstash ones (log.formatter).
  static const std::regex listening(
      R"re((?:msg=listening addr=[^ ]*|"(?:msg|message)":"listening","addr":"[^"]*):(\d+))re");
  port_ = waitForListeningPort(pid_, dir_ / "server.log", listening, "pier");
}

PierServer::~PierServer() {
  if (pid_ > 0) stop(SIGTERM);
}

std::string PierServer::log() const {
  return readFile(dir_ / "server.log");
}

int PierServer::stop(int signal) {
  if (pid_ <= 0) return exitCode_;
  kill(pid_, signal);
  exitCode_ = waitForExit(pid_, std::chrono::seconds(10));
  pid_ = -1;
  expectNoSanitizerReport(log(), "pier serve");
  return exitCode_;
}

std::string HttpResponse::header(const std::string& name) const {
  std::string key = name;
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto found = headers.find(key);
  return found == headers.end() ? std::string() : found->second;
}

HttpResponse httpRequest(std::uint16_t port, const std::string& method, const std::string& target,
                         const std::string& body, const std::map<std::string, std::string>& headers) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || method == "PUT" || method == "POST" || method == "PATCH")
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpResponse result;
  result.status = static_cast<int>(response.getStatus());
  for (const auto& [name, value] : response) {
    std::string key = name;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[key] = value;
  }
  if (method != "HEAD") Poco::StreamCopier::copyToString(in, result.body);
  return result;
}

std::string basicAuthorization(const std::string& credentials) {
  std::ostringstream encoded;
  Poco::Base64Encoder encoder(encoded);
  encoder.rdbuf()->setLineLength(0);
  encoder << credentials;
  encoder.close();
  return "Basic " + encoded.str();
}

Poco::JSON::Object::Ptr parseJson(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::vector<std::string> stringArray(const Poco::JSON::Object::Ptr& object, const std::string& key) {
  std::vector<std::string> values;
  auto array = object->getArray(key);
  if (!array) return values;
  for (std::size_t i = 0; i < array->size(); ++i) values.push_back(array->getElement<std::string>(i));
  return values;
}

} // namespace pier::test
