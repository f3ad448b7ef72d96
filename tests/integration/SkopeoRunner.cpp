#include "SkopeoRunner.hpp"

#include <unistd.h>

namespace pier::test {

bool Skopeo::available() {
  return access(kSkopeoBinary, X_OK) == 0;
}

Skopeo::Skopeo() {
  writeFile(home_ / "policy.json", R"({"default":[{"type":"insecureAcceptAnything"}]})");
  // No search registries, no mirrors; 127.0.0.1 is plain HTTP.
  writeFile(home_ / "registries.conf", "unqualified-search-registries = []\n"
                                       "short-name-mode = \"disabled\"\n"
                                       "[[registry]]\nlocation = \"127.0.0.1\"\ninsecure = true\n");
  for (const char* dir : {"config", "data", "cache", "run", "tmp", "registries.d"})
    std::filesystem::create_directories(home_ / dir);
  std::filesystem::permissions(home_ / "run", std::filesystem::perms::owner_all);
}

CommandResult Skopeo::run(const std::vector<std::string>& arguments, std::chrono::seconds limit) const {
  std::vector<std::string> args{
      "--policy", (home_ / "policy.json").string(), "--registries.d",    (home_ / "registries.d").string(),
      "--tmpdir", (home_ / "tmp").string(),         "--command-timeout", std::to_string(limit.count()) + "s"};
  args.insert(args.end(), arguments.begin(), arguments.end());
  std::map<std::string, std::string> env{
      {"HOME", home_.path().string()},
      {"XDG_CONFIG_HOME", (home_ / "config").string()},
      {"XDG_DATA_HOME", (home_ / "data").string()},
      {"XDG_CACHE_HOME", (home_ / "cache").string()},
      {"XDG_RUNTIME_DIR", (home_ / "run").string()},
      {"TMPDIR", (home_ / "tmp").string()},
      {"CONTAINERS_REGISTRIES_CONF", (home_ / "registries.conf").string()},
      {"REGISTRY_AUTH_FILE", (home_ / "auth.json").string()},
      {"CONTAINERS_CONF", (home_ / "containers.conf").string()},
      {"CONTAINERS_STORAGE_CONF", (home_ / "storage.conf").string()},
      {"DOCKER_CONFIG", (home_ / "docker").string()},
      {"http_proxy", ""},
      {"https_proxy", ""},
      {"HTTP_PROXY", ""},
      {"HTTPS_PROXY", ""},
      {"no_proxy", "*"},
      {"NO_PROXY", "*"},
  };
  // The process limit is a little above skopeo's own, so skopeo can report its timeout.
  return runCommand(kSkopeoBinary, args, env, {}, limit + std::chrono::seconds(10));
}

CommandResult Skopeo::copy(const std::string& source, const std::string& destination,
                           const std::vector<std::string>& options) const {
  std::vector<std::string> args{"copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--retry-times",
                                "0"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(source);
  args.push_back(destination);
  return run(args);
}

std::string dockerReference(std::uint16_t port, const std::string& nameAndReference) {
  return "docker://127.0.0.1:" + std::to_string(port) + "/" + nameAndReference;
}

} // namespace pier::test
