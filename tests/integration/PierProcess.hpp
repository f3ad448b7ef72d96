#pragma once

// Runs processes for integration and e2e tests, pier among them: any program
// as a one-shot command with a time limit, and the real `pier` executable as a
// command or as a server on an ephemeral 127.0.0.1 port with a temporary root,
// stopped by its PID when the test ends. Also HTTP requests and JSON parsing
// for what those servers answer.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <sys/types.h>

#include <Poco/JSON/Object.h>

#include <pier/testing/support.hpp>

namespace pier::test {

// A fresh temporary directory, removed with everything in it on destruction (the SDK suites' own).
using TempDir = pier::testing::ScratchDirectory;

void writeFile(const std::filesystem::path& file, const std::string& content);
std::string readFile(const std::filesystem::path& file);

struct CommandResult {
  int exitCode = -1;  // -1 when it had to be killed
  std::string output; // stdout and stderr together
};

// Starts program (an absolute path) with arguments, the current environment
// minus REGISTRY_* plus env, stdin from /dev/null and stdout+stderr into
// outputFile, in workingDirectory (the current one when empty).
pid_t spawnProcess(const std::string& program, const std::vector<std::string>& arguments,
                   const std::map<std::string, std::string>& env,
                   const std::filesystem::path& workingDirectory, const std::filesystem::path& outputFile);

// Waits for the process until limit, kills it (SIGKILL) after; its exit code, or -1.
int waitForExit(pid_t pid, std::chrono::milliseconds limit);

// Waits (at most 20 s) until the process's log file holds a match of
// `listening` whose first group is the port it listens on; kills the process
// and throws, naming it `name`, when it exits first or does not get there.
std::uint16_t waitForListeningPort(pid_t pid, const std::filesystem::path& logFile,
                                   const std::regex& listening, const std::string& name);

// Polls condition every 50 ms until it holds (true) or limit passes (false).
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(10));

// Runs a command to its end or at most limit, in workingDirectory (a scratch
// directory when empty); the output holds stdout and stderr.
CommandResult runCommand(const std::string& program, const std::vector<std::string>& arguments,
                         const std::map<std::string, std::string>& env = {},
                         const std::filesystem::path& workingDirectory = {},
                         std::chrono::seconds limit = std::chrono::seconds(60));

// Runs pier with arguments and extra environment in workingDirectory (the
// current one when empty), waiting at most `limit`.
CommandResult runPier(const std::vector<std::string>& arguments,
                      const std::map<std::string, std::string>& env = {},
                      const std::filesystem::path& workingDirectory = {},
                      std::chrono::seconds limit = std::chrono::seconds(30));

// A config for a server on 127.0.0.1:0 with filesystem storage under root;
// `extra` is appended (YAML at the top level).
std::string filesystemConfig(const std::filesystem::path& root, const std::string& extra = {});

// Whether this build runs under sanitizers (PIER_SANITIZE): their shadow
// memory and quarantine add tens of MiB, so memory bounds are checked only
// in the plain builds.
#ifdef PIER_SANITIZED
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Fails the current test when a pier process's output holds a sanitizer's
// report; what names the process in the failure.
void expectNoSanitizerReport(const std::string& output, const std::string& what);

class PierServer {
public:
  // Starts `pier serve <dir>/config.yml` (or the embedded default when
  // configYaml is empty) and waits until it logs the address it listens on.
  explicit PierServer(const std::string& configYaml, const std::map<std::string, std::string>& env = {});
  ~PierServer();
  PierServer(const PierServer&) = delete;
  PierServer& operator=(const PierServer&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const TempDir& dir() const { return dir_; }
  std::string log() const; // what the server printed so far

  // Sends a signal and waits (bounded) for the exit; returns the exit code, -1 if it had to be killed.
  int stop(int signal);

private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int exitCode_ = -1;
};

// The port of the server's debug listener (http.debug.addr), from its log; throws when it has none.
std::uint16_t debugPort(const PierServer& server);

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;
  std::string header(const std::string& name) const;
};

// One HTTP/1.1 request to 127.0.0.1:port.
HttpResponse httpRequest(std::uint16_t port, const std::string& method, const std::string& target,
                         const std::string& body = {},
                         const std::map<std::string, std::string>& headers = {});

// "Basic <base64 of credentials>", credentials being "user:password" (or, to
// test refusals, anything else).
std::string basicAuthorization(const std::string& credentials);

// A JSON object from text (throws unless the text is one).
Poco::JSON::Object::Ptr parseJson(const std::string& text);
// The strings of an array member; empty when the member is absent.
std::vector<std::string> stringArray(const Poco::JSON::Object::Ptr& object, const std::string& key);

} // namespace pier::test
