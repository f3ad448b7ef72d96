#pragma once

// Runs skopeo (Debian package) for tests in a sealed environment: HOME, the
// XDG directories, TMPDIR, the trust policy and registries.conf all live in
// a temporary directory, so nothing reads or touches the user's configuration.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "PierProcess.hpp"

namespace pier::test {

inline constexpr const char* kSkopeoBinary = "/usr/bin/skopeo";

class Skopeo {
public:
  Skopeo();
  static bool available();

  // skopeo [--policy …] arguments…, bounded by limit (also passed as --command-timeout).
  CommandResult run(const std::vector<std::string>& arguments,
                    std::chrono::seconds limit = std::chrono::seconds(120)) const;
  // copy with TLS off on both sides (plain HTTP to 127.0.0.1), plus extra options.
  CommandResult copy(const std::string& source, const std::string& destination,
                     const std::vector<std::string>& options = {}) const;

  const std::filesystem::path& home() const { return home_.path(); }

private:
  TempDir home_;
};

// docker://127.0.0.1:<port>/<name>[:tag|@digest]
std::string dockerReference(std::uint16_t port, const std::string& nameAndReference);

} // namespace pier::test
