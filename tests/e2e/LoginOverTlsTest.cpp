// Real clients log in to Pier as to a production registry: over TLS (a
// certificate from a CA made here, trusted through --cert-dir) with htpasswd
// credentials made by `htpasswd -B`. podman builds an image and pushes it,
// buildah builds and pushes another and pulls podman's, skopeo copies one
// repository to another and inspects it; each is refused with a wrong
// password and without logging in; containerd's ctr pulls and pushes with
// the credentials (containerd started by the test, its root, state and
// socket in a temporary directory). podman and buildah run as root with the
// vfs storage driver under a temporary directory, in a private mount
// namespace with a tmpfs over /var/lib/containers (they write a cache there
// even with --root).
#include <csignal>
#include <thread>

#include <gtest/gtest.h>

#include "PierProcess.hpp"
#include "SkopeoRunner.hpp"
#include "TestPki.hpp"

namespace pier::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kUser = "alice";
constexpr const char* kPassword = "s3cret-Pass";

bool installed(const char* program) {
  return fs::exists(program);
}

// Pier on TLS with htpasswd access control, and the directory clients take the CA from.
class SecureRegistry {
public:
  SecureRegistry()
      : ca_(makeCertificateAuthority(pki_.path(), "ca")),
        certificate_(issueCertificate(pki_.path(), "server", ca_)) {
    fs::create_directories(certDir());
    fs::copy_file(ca_.certificate, certDir() / "ca.crt");
    CommandResult made =
        runCommand("/usr/bin/htpasswd", {"-B", "-b", "-c", (pki_ / "htpasswd").string(), kUser, kPassword});
    if (made.exitCode != 0) throw std::runtime_error("htpasswd failed: " + made.output);
    server_ = std::make_unique<PierServer>(filesystemConfig(
        root_.path(),
        "  tls:\n    certificate: " + certificate_.certificate.string() +
            "\n    key: " + certificate_.key.string() +
            "\nauth:\n  htpasswd:\n    realm: pier-e2e\n    path: " + (pki_ / "htpasswd").string() + "\n"));
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  const Credential& ca() const { return ca_; }
  fs::path certDir() const { return pki_ / "certs"; }
  std::string log() const { return server_->log(); }

private:
  TempDir pki_, root_;
  Credential ca_, certificate_;
  std::unique_ptr<PierServer> server_;
};

// podman or buildah as root in a sealed home, storage under it, in a private mount namespace.
class ContainerTool {
public:
  explicit ContainerTool(std::string program) : program_(std::move(program)) {
    fs::create_directories(home_ / "run");
    // An empty credentials file: without it a push fails in the client before it asks the registry.
    writeFile(authFile(), "{}\n");
  }
  CommandResult run(std::vector<std::string> arguments, std::chrono::seconds limit = 180s) const {
    std::vector<std::string> command{
        "-m",
        "/bin/sh",
        "-c",
        "mkdir -p /var/lib/containers && mount -t tmpfs tmpfs /var/lib/containers "
        "&& exec \"$@\"",
        "sh",
        program_,
        "--root",
        (home_ / "storage").string(),
        "--runroot",
        (home_ / "runroot").string(),
        "--storage-driver",
        "vfs"};
    if (program_.ends_with("podman"))
      command.insert(command.end(), {"--cgroup-manager", "cgroupfs", "--events-backend", "file"});
    command.insert(command.end(), arguments.begin(), arguments.end());
    return runCommand("/usr/bin/unshare", command,
                      {{"HOME", home_.path().string()},
                       {"XDG_RUNTIME_DIR", (home_ / "run").string()},
                       {"XDG_CONFIG_HOME", (home_ / "config").string()}},
                      home_.path(), limit);
  }
  std::string authFile() const { return (home_ / "auth.json").string(); }
  const TempDir& home() const { return home_; }

private:
  std::string program_;
  TempDir home_;
};

// A containerd daemon of the test's own (CRI off, the native snapshotter), and ctr talking to it.
class Containerd {
public:
  Containerd() {
    writeFile(dir_ / "config.toml",
              "version = 2\nroot = \"" + (dir_ / "root").string() + "\"\nstate = \"" +
                  (dir_ / "state").string() +
                  "\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"" +
                  socket() + "\"\n");
    pid_ = spawnProcess("/usr/bin/containerd", {"--config", (dir_ / "config.toml").string()}, {}, dir_.path(),
                        dir_ / "containerd.log");
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (fs::exists(socket()) && ctr({"version"}).exitCode == 0) return;
      std::this_thread::sleep_for(100ms);
    }
    throw std::runtime_error("containerd did not start: " + readFile(dir_ / "containerd.log"));
  }
  ~Containerd() {
    ::kill(pid_, SIGTERM);
    waitForExit(pid_, 10s);
  }
  CommandResult ctr(std::vector<std::string> arguments) const {
    arguments.insert(arguments.begin(), {"-a", socket()});
    return runCommand("/usr/bin/ctr", arguments, {}, dir_.path(), 120s);
  }
  // A hosts directory that sends the registry's host to HTTPS with its CA (ctr 1.6 takes plain HTTP
  // otherwise).
  std::string hostsDir(const SecureRegistry& registry) const {
    fs::path dir = dir_ / "hosts" / registry.host();
    fs::create_directories(dir);
    writeFile(dir / "hosts.toml", "server = \"https://" + registry.host() + "\"\n[host.\"https://" +
                                      registry.host() + "\"]\n  ca = \"" +
                                      registry.ca().certificate.string() +
                                      "\"\n  capabilities = [\"pull\", \"resolve\", \"push\"]\n");
    return (dir_ / "hosts").string();
  }

private:
  std::string socket() const { return (dir_ / "containerd.sock").string(); }
  TempDir dir_;
  pid_t pid_ = -1;
};

std::vector<std::string> loginArguments(const SecureRegistry& registry, const ContainerTool& tool,
                                        const std::string& password) {
  return {
      "login",  "--cert-dir",   registry.certDir().string(), "--authfile", tool.authFile(), "-u", kUser, "-p",
      password, registry.host()};
}

// A build context whose image holds one file.
fs::path buildContext(const TempDir& dir, const std::string& content) {
  fs::create_directories(dir / "context");
  writeFile(dir / "context" / "hello.txt", content);
  writeFile(dir / "context" / "Containerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n");
  return dir / "context";
}

TEST(LoginOverTls, PodmanLogsInPushesAndPullsAndIsRefusedWithAWrongPassword) {
  if (!installed("/usr/bin/podman")) GTEST_SKIP() << "podman is not installed (scripts/deps installs it)";
  SecureRegistry registry;
  ContainerTool podman("/usr/bin/podman");
  std::string image = registry.host() + "/e2e/podman:1";
  CommandResult built =
      podman.run({"build", "-t", image, buildContext(podman.home(), "from podman\n").string()});
  ASSERT_EQ(built.exitCode, 0) << built.output;

  CommandResult anonymous =
      podman.run({"push", "--cert-dir", registry.certDir().string(), "--authfile", podman.authFile(), image});
  EXPECT_NE(anonymous.exitCode, 0) << anonymous.output;
  EXPECT_NE(anonymous.output.find("authentication required"), std::string::npos) << anonymous.output;
  CommandResult wrong = podman.run(loginArguments(registry, podman, "wrong"));
  EXPECT_NE(wrong.exitCode, 0) << wrong.output;

  CommandResult login = podman.run(loginArguments(registry, podman, kPassword));
  ASSERT_EQ(login.exitCode, 0) << login.output;
  CommandResult pushed =
      podman.run({"push", "--cert-dir", registry.certDir().string(), "--authfile", podman.authFile(), image});
  ASSERT_EQ(pushed.exitCode, 0) << pushed.output;
  ASSERT_EQ(podman.run({"rmi", image}).exitCode, 0);
  CommandResult pulled =
      podman.run({"pull", "--cert-dir", registry.certDir().string(), "--authfile", podman.authFile(), image});
  ASSERT_EQ(pulled.exitCode, 0) << pulled.output;
  EXPECT_EQ(podman.run({"image", "exists", image}).exitCode, 0);
  EXPECT_NE(registry.log().find("user=alice"), std::string::npos);
}

TEST(LoginOverTls, BuildahLogsInPushesAndPulls) {
  if (!installed("/usr/bin/buildah")) GTEST_SKIP() << "buildah is not installed (scripts/deps installs it)";
  SecureRegistry registry;
  ContainerTool buildah("/usr/bin/buildah");
  writeFile(buildah.home() / "hello.txt", "from buildah\n");
  CommandResult container = buildah.run({"from", "scratch"});
  ASSERT_EQ(container.exitCode, 0) << container.output;
  std::string name = container.output.substr(0, container.output.find_last_not_of("\r\n") + 1);
  name = name.substr(name.find_last_of('\n') + 1);
  ASSERT_EQ(buildah.run({"copy", name, (buildah.home() / "hello.txt").string(), "/hello.txt"}).exitCode, 0);
  ASSERT_EQ(buildah.run({"commit", name, "e2e-buildah"}).exitCode, 0);

  std::string image = registry.host() + "/e2e/buildah:1";
  std::vector<std::string> push{
      "push",        "--cert-dir",       registry.certDir().string(), "--authfile", buildah.authFile(),
      "e2e-buildah", "docker://" + image};
  CommandResult anonymous = buildah.run(push);
  EXPECT_NE(anonymous.exitCode, 0) << anonymous.output;
  EXPECT_NE(anonymous.output.find("authentication required"), std::string::npos) << anonymous.output;
  EXPECT_NE(buildah.run(loginArguments(registry, buildah, "wrong")).exitCode, 0);
  CommandResult login = buildah.run(loginArguments(registry, buildah, kPassword));
  ASSERT_EQ(login.exitCode, 0) << login.output;
  CommandResult pushed = buildah.run(push);
  ASSERT_EQ(pushed.exitCode, 0) << pushed.output;

  ContainerTool fresh("/usr/bin/buildah");
  ASSERT_EQ(fresh.run(loginArguments(registry, fresh, kPassword)).exitCode, 0);
  CommandResult pulled =
      fresh.run({"pull", "--cert-dir", registry.certDir().string(), "--authfile", fresh.authFile(), image});
  ASSERT_EQ(pulled.exitCode, 0) << pulled.output;
  CommandResult images = fresh.run({"images", "--format", "{{.Name}}:{{.Tag}}"});
  EXPECT_NE(images.output.find("e2e/buildah:1"), std::string::npos) << images.output;
}

TEST(LoginOverTls, SkopeoLogsInCopiesAndInspects) {
  if (!Skopeo::available()) GTEST_SKIP() << "skopeo is not installed";
  if (!installed("/usr/bin/podman")) GTEST_SKIP() << "podman is not installed (scripts/deps installs it)";
  SecureRegistry registry;
  // An image to copy, pushed by podman.
  ContainerTool podman("/usr/bin/podman");
  std::string source = registry.host() + "/e2e/source:1";
  ASSERT_EQ(
      podman.run({"build", "-t", source, buildContext(podman.home(), "for skopeo\n").string()}).exitCode, 0);
  ASSERT_EQ(podman.run(loginArguments(registry, podman, kPassword)).exitCode, 0);
  ASSERT_EQ(
      podman.run({"push", "--cert-dir", registry.certDir().string(), "--authfile", podman.authFile(), source})
          .exitCode,
      0);

  Skopeo skopeo;
  std::string authFile = (skopeo.home() / "auth.json").string();
  std::string certDir = registry.certDir().string();
  std::vector<std::string> inspect{"inspect",    "--cert-dir", certDir,
                                   "--authfile", authFile,     "docker://" + registry.host() + "/e2e/copy:1"};
  EXPECT_NE(skopeo
                .run({"login", "--cert-dir", certDir, "--authfile", authFile, "-u", kUser, "-p", "wrong",
                      registry.host()})
                .exitCode,
            0);
  ASSERT_EQ(skopeo
                .run({"login", "--cert-dir", certDir, "--authfile", authFile, "-u", kUser, "-p", kPassword,
                      registry.host()})
                .exitCode,
            0);
  CommandResult copied =
      skopeo.run({"copy", "--src-cert-dir", certDir, "--dest-cert-dir", certDir, "--authfile", authFile,
                  "docker://" + source, "docker://" + registry.host() + "/e2e/copy:1"});
  ASSERT_EQ(copied.exitCode, 0) << copied.output;
  CommandResult inspected = skopeo.run(inspect);
  ASSERT_EQ(inspected.exitCode, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("e2e/copy"), std::string::npos) << inspected.output;

  ASSERT_EQ(skopeo.run({"logout", "--authfile", authFile, registry.host()}).exitCode, 0);
  CommandResult refused = skopeo.run(inspect);
  EXPECT_NE(refused.exitCode, 0);
  EXPECT_NE(refused.output.find("authentication required"), std::string::npos) << refused.output;
}

TEST(LoginOverTls, CtrPullsAndPushesWithCredentials) {
  if (!installed("/usr/bin/containerd") || !installed("/usr/bin/ctr") || !installed("/usr/bin/podman"))
    GTEST_SKIP() << "containerd, ctr or podman is not installed (scripts/deps installs them)";
  SecureRegistry registry;
  ContainerTool podman("/usr/bin/podman");
  std::string source = registry.host() + "/e2e/for-ctr:1";
  ASSERT_EQ(podman.run({"build", "-t", source, buildContext(podman.home(), "for ctr\n").string()}).exitCode,
            0);
  ASSERT_EQ(podman.run(loginArguments(registry, podman, kPassword)).exitCode, 0);
  ASSERT_EQ(
      podman.run({"push", "--cert-dir", registry.certDir().string(), "--authfile", podman.authFile(), source})
          .exitCode,
      0);

  Containerd containerd;
  std::string hosts = containerd.hostsDir(registry);
  std::string user = std::string(kUser) + ":" + kPassword;
  auto pullAs = [&](const std::string& credentials, const std::string& image) {
    return containerd.ctr(
        {"images", "pull", "--hosts-dir", hosts, "--snapshotter", "native", "--user", credentials, image});
  };
  CommandResult refused = pullAs(std::string(kUser) + ":wrong", source);
  EXPECT_NE(refused.exitCode, 0) << refused.output;
  CommandResult pulled = pullAs(user, source);
  ASSERT_EQ(pulled.exitCode, 0) << pulled.output;

  std::string copy = registry.host() + "/e2e/ctr:1";
  ASSERT_EQ(containerd.ctr({"images", "tag", source, copy}).exitCode, 0);
  CommandResult pushed = containerd.ctr({"images", "push", "--hosts-dir", hosts, "--user", user, copy});
  ASSERT_EQ(pushed.exitCode, 0) << pushed.output;
  ASSERT_EQ(containerd.ctr({"images", "rm", copy}).exitCode, 0);
  CommandResult again = pullAs(user, copy);
  EXPECT_EQ(again.exitCode, 0) << again.output;
}

} // namespace
} // namespace pier::test
