#include "HtpasswdAccessController.hpp"

#include <optional>

#include <pier/config.hpp>

#include "BasicCredentials.hpp"
#include "Bcrypt.hpp"

namespace pier::htpasswd {
namespace {

constexpr const char* kPrefix = "auth.htpasswd";

// realm as an HTTP quoted-string.
std::string challengeFor(const std::string& realm) {
  std::string header = "Basic realm=\"";
  for (char c : realm) {
    if (c == '"' || c == '\\') header.push_back('\\');
    header.push_back(c);
  }
  return header + "\"";
}

// Modified within two seconds of now (or in the future): see currentMayBeRacy_.
bool recentlyModified(const FileSignature& signature) {
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return now - signature.modifiedNs < 2'000'000'000;
}

} // namespace

HtpasswdOptions HtpasswdOptions::fromConfig(const Poco::JSON::Object& parameters) {
  for (const std::string& key : parameters.getNames())
    if (key != "realm" && key != "path")
      throw ConfigError(config::keyPath(kPrefix, key) +
                        ": unknown parameter of the htpasswd access controller");
  HtpasswdOptions options;
  options.realm = config::requireString(parameters, "realm", kPrefix);
  options.path = config::requireString(parameters, "path", kPrefix);
  for (unsigned char c : options.realm)
    if (c < 0x20 || c == 0x7f)
      throw ConfigError(config::keyPath(kPrefix, "realm") + ": must not hold control characters");
  return options;
}

HtpasswdAccessController::Snapshot::Snapshot(Users users, const HtpasswdOptions& options)
    : users(std::move(users)), verified(options.rememberedCapacity, options.rememberFor) {}

HtpasswdAccessController::HtpasswdAccessController(HtpasswdOptions options)
    : options_(std::move(options)), challengeHeader_(challengeFor(options_.realm)) {
  try {
    install(loadHtpasswdFile(options_.path));
  } catch (const HtpasswdError& e) {
    throw ConfigError(config::keyPath(kPrefix, "path") + ": " + e.what());
  }
  nextCheck_ = (Clock::now() + options_.recheckInterval).time_since_epoch().count();
}

AuthResult HtpasswdAccessController::authorize(const Context& context, const AuthRequest& request,
                                               const std::vector<Access>&) {
  reloadIfChanged(context);
  std::optional<BasicCredentials> credentials = parseBasicAuthorization(request.header("Authorization"));
  if (!credentials) return challenge();
  std::shared_ptr<Snapshot> snapshot = current();
  if (!verify(context, *snapshot, credentials->user, credentials->password)) return challenge();
  // As Distribution's htpasswd: who authenticates may do everything.
  AuthResult granted;
  granted.granted = true;
  granted.user = credentials->user;
  return granted;
}

bool HtpasswdAccessController::verify(const Context& context, Snapshot& snapshot, const std::string& user,
                                      const std::string& password) {
  // No NUL in user: Basic credentials holding one are refused before this.
  std::string key = snapshot.verified.keyFor(user, password);
  if (snapshot.verified.contains(key, Clock::now())) return true;
  auto entry = snapshot.users.find(user);
  if (entry == snapshot.users.end()) {
    // Spend what a verification costs, so that the time of the answer does not tell who exists.
    if (!snapshot.users.empty()) bcryptMatches(password, snapshot.users.begin()->second);
    context.log(LogLevel::info, "auth.htpasswd: no user \"" + user + "\" in " + options_.path);
    return false;
  }
  if (!bcryptMatches(password, entry->second)) {
    context.log(LogLevel::info, "auth.htpasswd: wrong password for user \"" + user + "\"");
    return false;
  }
  snapshot.verified.remember(key, Clock::now());
  return true;
}

AuthResult HtpasswdAccessController::challenge() const {
  AuthResult result;
  result.errorCode = "UNAUTHORIZED";
  result.message = "authentication required";
  result.headers.emplace_back("WWW-Authenticate", challengeHeader_);
  return result;
}

std::shared_ptr<HtpasswdAccessController::Snapshot> HtpasswdAccessController::current() const {
  std::lock_guard lock(snapshotMutex_);
  return snapshot_;
}

void HtpasswdAccessController::reloadIfChanged(const Context& context) {
  Clock::rep now = Clock::now().time_since_epoch().count();
  Clock::rep due = nextCheck_.load(std::memory_order_relaxed);
  if (now < due) return;
  // One request looks; the others go on with the users there are.
  Clock::rep next = now + std::chrono::duration_cast<Clock::duration>(options_.recheckInterval).count();
  if (!nextCheck_.compare_exchange_strong(due, next)) return;

  std::lock_guard lock(reloadMutex_);
  FileSignature seen;
  try {
    seen = signatureOf(options_.path);
  } catch (const HtpasswdError& e) {
    reportFailure(context, e.what());
    return;
  }
  if (seen == currentSignature_ && !currentMayBeRacy_) {
    lastFailure_.clear();
    return;
  }
  if (seen == failedSignature_) return; // that version was reported already
  reload(context, seen);
}

void HtpasswdAccessController::reload(const Context& context, const FileSignature& seen) {
  LoadedFile file;
  try {
    file = loadHtpasswdFile(options_.path);
  } catch (const HtpasswdError& e) {
    failedSignature_ = seen;
    reportFailure(context, e.what());
    return;
  }
  failedSignature_ = {};
  lastFailure_.clear();
  // A touch or a racy file read again: the same users keep what was verified.
  if (file.users == current()->users) {
    currentSignature_ = file.signature;
    currentMayBeRacy_ = recentlyModified(file.signature);
    return;
  }
  std::size_t count = file.users.size();
  install(std::move(file));
  context.log(LogLevel::info,
              "auth.htpasswd: read " + options_.path + " again: " + std::to_string(count) + " users");
}

void HtpasswdAccessController::install(LoadedFile file) {
  auto snapshot = std::make_shared<Snapshot>(std::move(file.users), options_);
  currentSignature_ = file.signature;
  currentMayBeRacy_ = recentlyModified(file.signature);
  std::lock_guard lock(snapshotMutex_);
  snapshot_ = std::move(snapshot);
}

void HtpasswdAccessController::reportFailure(const Context& context, const std::string& what) {
  if (what == lastFailure_) return; // once per failure, not once a second
  lastFailure_ = what;
  context.log(LogLevel::warn, "auth.htpasswd: " + what + "; keeping the " +
                                  std::to_string(current()->users.size()) + " users read before");
}

} // namespace pier::htpasswd
