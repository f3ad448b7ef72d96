#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include <Poco/JSON/Object.h>

#include <pier/access_controller.hpp>

#include "HtpasswdFile.hpp"
#include "RecentlyVerified.hpp"

namespace pier::htpasswd {

struct HtpasswdOptions {
  std::string realm;
  std::string path;
  // How often the request path looks at the file's signature (a stat).
  std::chrono::milliseconds recheckInterval{1000};
  // How long, and how many, verified credentials are remembered.
  std::chrono::milliseconds rememberFor{60000};
  std::size_t rememberedCapacity = 10000;

  // The `auth.htpasswd` section: realm and path, as in Distribution. Throws
  // ConfigError naming the key.
  static HtpasswdOptions fromConfig(const Poco::JSON::Object& parameters);
};

// Distribution's auth.htpasswd: Basic credentials checked against a file of
// bcrypt entries; an authenticated user may do everything. Unlike
// Distribution, the file is read again when it changes: at most every
// recheckInterval a request stats it, and a new signature loads it. A file
// that no longer loads (missing, unreadable, a bad line) keeps the users of
// the last good one, with a warning logged once per failure.
class HtpasswdAccessController final : public AccessController {
public:
  // Loads the file: any error in it is a ConfigError naming auth.htpasswd.path.
  explicit HtpasswdAccessController(HtpasswdOptions options);

  AuthResult authorize(const Context& context, const AuthRequest& request,
                       const std::vector<Access>& wanted) override;

private:
  using Clock = std::chrono::steady_clock;

  // One version of the file, with what was verified against it: replacing
  // it forgets those, even for a verification still running on the old one.
  struct Snapshot {
    Snapshot(Users users, const HtpasswdOptions& options);
    const Users users;
    auth::RecentlyVerified verified;
  };

  std::shared_ptr<Snapshot> current() const;
  void reloadIfChanged(const Context& context);
  void reload(const Context& context, const FileSignature& seen);
  void install(LoadedFile file);
  void reportFailure(const Context& context, const std::string& what);
  bool verify(const Context& context, Snapshot& snapshot, const std::string& user,
              const std::string& password);
  AuthResult challenge() const;

  const HtpasswdOptions options_;
  const std::string challengeHeader_;

  mutable std::mutex snapshotMutex_;
  std::shared_ptr<Snapshot> snapshot_;

  std::atomic<Clock::rep> nextCheck_{0};
  // The rest belongs to whoever holds reloadMutex_.
  std::mutex reloadMutex_;
  FileSignature currentSignature_; // of the file the current users came from
  // Written within a second of its load: a second write in the same clock
  // tick would keep size and times, so it is read again until it is older.
  bool currentMayBeRacy_ = false;
  FileSignature failedSignature_{};
  std::string lastFailure_;
};

} // namespace pier::htpasswd
