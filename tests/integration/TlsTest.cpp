// TLS on the registry's port (http.tls) with real clients: curl for the API
// over HTTPS and mutual TLS, `openssl s_client` for protocol versions, a
// plain socket for HTTP sent to the TLS port. Certificates come from a CA
// made in the test (TestPki).
#include <csignal>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "SlowClient.hpp"
#include "TestPki.hpp"

namespace pier::test {
namespace {

using namespace std::chrono_literals;

struct Pki {
  TempDir dir;
  Credential ca = makeCertificateAuthority(dir.path(), "ca");
  Credential server = issueCertificate(dir.path(), "server", ca);
  Credential otherCa = makeCertificateAuthority(dir.path(), "other-ca");
};

std::string tlsConfig(const TempDir& root, const Credential& server, const std::string& extra = {}) {
  return filesystemConfig(root.path(), "  tls:\n    certificate: " + server.certificate.string() +
                                           "\n    key: " + server.key.string() + "\n" + extra);
}

struct CurlResult {
  int exitCode = -1;
  int status = 0;
  std::string output;
};

// curl to https://127.0.0.1:port<path>, trusting ca; the status is curl's %{http_code}.
CurlResult curl(std::uint16_t port, const std::string& path, const Credential& ca,
                std::vector<std::string> extra = {}) {
  std::vector<std::string> arguments{"-sS", "--max-time", "10", "--cacert",    ca.certificate.string(),
                                     "-o",  "/dev/null",  "-w", "%{http_code}"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  arguments.push_back("https://127.0.0.1:" + std::to_string(port) + path);
  CommandResult run = runCommand("/usr/bin/curl", arguments, {}, {}, 30s);
  CurlResult result{run.exitCode, 0, run.output};
  std::size_t digits = run.output.find_last_not_of("0123456789");
  std::string code = digits == std::string::npos ? run.output : run.output.substr(digits + 1);
  if (!code.empty() && code.size() <= 3) result.status = std::stoi(code);
  return result;
}

// Whether `openssl s_client` completes a handshake with the given protocol flag (-tls1_1, ...).
bool handshakes(std::uint16_t port, const std::string& protocol) {
  // The client is willing to speak old protocols; whether they are spoken is the server's choice.
  CommandResult run = runCommand("/usr/bin/openssl",
                                 {"s_client", "-connect", "127.0.0.1:" + std::to_string(port), protocol,
                                  "-cipher", "DEFAULT@SECLEVEL=0", "-brief"},
                                 {}, {}, 20s);
  return run.exitCode == 0 && run.output.find("Protocol version") != std::string::npos;
}

// A TLS client on one connection (OpenSSL), for what curl cannot do: several requests in one write.
class TlsConnection {
public:
  TlsConnection(std::uint16_t port, const Credential& ca) {
    context_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(context_, ca.certificate.c_str(), nullptr);
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("connect failed");
    ssl_ = SSL_new(context_);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake failed");
  }
  ~TlsConnection() {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
    ::close(fd_);
  }
  void write(const std::string& data) {
    ASSERT_EQ(SSL_write(ssl_, data.data(), static_cast<int>(data.size())), static_cast<int>(data.size()));
  }
  // What arrives until the text ends with `end` (or 10 s pass without a byte, or the server closes).
  std::string readUntil(const std::string& end) {
    std::string text;
    char buffer[16384];
    while (!text.ends_with(end)) {
      int got = SSL_read(ssl_, buffer, sizeof buffer);
      if (got <= 0) break;
      text.append(buffer, static_cast<std::size_t>(got));
    }
    return text;
  }

private:
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
};

int countOf(const std::string& text, const std::string& what) {
  int count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST(Tls, ServesTheApiOverHttps) {
  Pki pki;
  TempDir root;
  PierServer server(tlsConfig(root, pki.server));
  CurlResult base = curl(server.port(), "/v2/", pki.ca);
  EXPECT_EQ(base.status, 200) << base.output;

  // A blob larger than one TLS piece goes up and comes back intact.
  TempDir work;
  std::string blob(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 7919) >> 5);
  writeFile(work / "blob", blob);
  std::string digest = api::sha256Of(blob);
  CurlResult pushed = curl(server.port(), "/v2/tls/app/blobs/uploads/?digest=" + digest, pki.ca,
                           {"-X", "POST", "--data-binary", "@" + (work / "blob").string(), "-H",
                            "Content-Type: application/octet-stream"});
  EXPECT_EQ(pushed.status, 201) << pushed.output;
  CommandResult pulled = runCommand(
      "/usr/bin/curl",
      {"-sS", "--max-time", "20", "--cacert", pki.ca.certificate.string(), "-o", (work / "pulled").string(),
       "https://127.0.0.1:" + std::to_string(server.port()) + "/v2/tls/app/blobs/" + digest});
  EXPECT_EQ(pulled.exitCode, 0) << pulled.output;
  EXPECT_EQ(api::sha256Of(readFile(work / "pulled")), digest);
}

TEST(Tls, ARequestPipelinedAfterABodyIsAnsweredAtOnce) {
  // The body spans several TLS records and the next request shares the last
  // one: it waits decrypted in OpenSSL's buffer, where epoll cannot see it.
  Pki pki;
  TempDir root;
  PierServer server(tlsConfig(root, pki.server));
  TlsConnection connection(server.port(), pki.ca);
  connection.write("POST /v2/tls/pipe/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  std::string started = connection.readUntil("\r\n\r\n");
  std::size_t at = started.find("Location: ");
  ASSERT_NE(at, std::string::npos) << started;
  std::string location = started.substr(at + 10, started.find("\r\n", at) - at - 10);
  std::string body(200 * 1024 + 3, 'b');
  connection.write("PATCH " + location +
                   " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                   "Content-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body + "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
  auto sent = std::chrono::steady_clock::now();
  std::string answers = connection.readUntil("{}");
  EXPECT_NE(answers.find("HTTP/1.1 202"), std::string::npos) << answers;
  EXPECT_NE(answers.find("Range: 0-" + std::to_string(body.size() - 1)), std::string::npos) << answers;
  EXPECT_TRUE(answers.ends_with("\r\n\r\n{}")) << answers;
  // Not left for the idle timeout (60 s) or the client's 10 s.
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 5s);
}

TEST(Tls, PlainHttpToTheTlsPortIsRefusedClearly) {
  Pki pki;
  TempDir root;
  PierServer server(tlsConfig(root, pki.server));
  HttpResponse plain = httpRequest(server.port(), "GET", "/v2/");
  EXPECT_EQ(plain.status, 400);
  EXPECT_NE(plain.body.find("REQUEST_INVALID"), std::string::npos) << plain.body;
  EXPECT_NE(plain.body.find("HTTPS"), std::string::npos) << plain.body;
  EXPECT_EQ(curl(server.port(), "/v2/", pki.ca).status, 200);
}

TEST(Tls, OldProtocolsAreRefusedUnlessAskedFor) {
  Pki pki;
  TempDir root;
  {
    PierServer server(tlsConfig(root, pki.server));
    EXPECT_FALSE(handshakes(server.port(), "-tls1_1"));
    EXPECT_TRUE(handshakes(server.port(), "-tls1_2"));
    EXPECT_EQ(curl(server.port(), "/v2/", pki.ca).status, 200);
  }
  {
    // The same client is let in when the config asks for TLS 1.1: the refusal above was the server's.
    PierServer server(tlsConfig(root, pki.server, "    minimumtls: tls1.1\n"));
    EXPECT_TRUE(handshakes(server.port(), "-tls1_1"));
  }
  {
    PierServer server(tlsConfig(root, pki.server, "    minimumtls: tls1.3\n"));
    EXPECT_FALSE(handshakes(server.port(), "-tls1_2"));
    EXPECT_TRUE(handshakes(server.port(), "-tls1_3"));
  }
}

TEST(Tls, MutualTlsRefusesClientsWithoutACertificateOfTheClientCas) {
  Pki pki;
  TempDir root;
  Credential client = issueCertificate(pki.dir.path(), "client", pki.ca);
  Credential stranger = issueCertificate(pki.dir.path(), "stranger", pki.otherCa);
  PierServer server(
      tlsConfig(root, pki.server, "    clientcas:\n      - " + pki.ca.certificate.string() + "\n"));
  EXPECT_EQ(curl(server.port(), "/v2/", pki.ca).status, 0);
  EXPECT_EQ(curl(server.port(), "/v2/", pki.ca,
                 {"--cert", stranger.certificate.string(), "--key", stranger.key.string()})
                .status,
            0);
  CurlResult admitted = curl(server.port(), "/v2/", pki.ca,
                             {"--cert", client.certificate.string(), "--key", client.key.string()});
  EXPECT_EQ(admitted.status, 200) << admitted.output;
}

TEST(Tls, ARenewedCertificateIsServedWithoutARestart) {
  Pki pki;
  TempDir root, live;
  Credential current{live / "server.key", live / "server.crt"};
  std::filesystem::copy_file(pki.server.key, current.key);
  std::filesystem::copy_file(pki.server.certificate, current.certificate);
  PierServer server(tlsConfig(root, current));
  ASSERT_EQ(curl(server.port(), "/v2/", pki.ca).status, 200);

  // Renewed from another CA: clients that trust only the new CA get in once it is picked up.
  Credential renewed = issueCertificate(pki.dir.path(), "renewed", pki.otherCa);
  writeFile(current.key, readFile(renewed.key));
  writeFile(current.certificate, readFile(renewed.certificate));
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    std::this_thread::sleep_for(100ms);
    status = curl(server.port(), "/v2/", pki.otherCa).status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(curl(server.port(), "/v2/", pki.ca).status, 0);

  // A broken file keeps the certificate in use; SIGHUP tries again at once.
  writeFile(current.certificate, "not a certificate\n");
  for (int attempt = 0; attempt < 50 && countOf(server.log(), "tls certificate not reloaded") == 0; ++attempt)
    std::this_thread::sleep_for(100ms);
  ASSERT_EQ(countOf(server.log(), "tls certificate not reloaded"), 1) << server.log();
  EXPECT_EQ(curl(server.port(), "/v2/", pki.otherCa).status, 200);
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  for (int attempt = 0; attempt < 50 && countOf(server.log(), "tls certificate not reloaded") < 2; ++attempt)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(countOf(server.log(), "tls certificate not reloaded"), 2) << server.log();
  EXPECT_EQ(curl(server.port(), "/v2/", pki.otherCa).status, 200);
}

TEST(Tls, SilentConnectionsDoNotHoldOthersAndAreClosedAtTheHeadDeadline) {
  Pki pki;
  TempDir root;
  PierServer server(tlsConfig(root, pki.server) + "  headtimeout: 1s\n  threads: 4\n");
  std::vector<std::unique_ptr<SlowRequest>> silent;
  for (int i = 0; i < 50; ++i) silent.push_back(std::make_unique<SlowRequest>(server.port(), "", "", 0ms));
  EXPECT_EQ(curl(server.port(), "/v2/", pki.ca).status, 200);
  for (auto& connection : silent) EXPECT_TRUE(connection->closedByServer(5s));
}

TEST(Tls, BadSettingsAreConfigErrorsNamingTheKey) {
  Pki pki;
  TempDir root;
  struct Case {
    std::string extra, key;
  } cases[] = {
      {"  tls:\n    certificate: " + pki.server.certificate.string() + "\n", "http.tls.key"},
      {"  tls:\n    certificate: " + pki.server.certificate.string() + "\n    key: " + pki.ca.key.string() +
           "\n",
       "http.tls.key"},
      {"  tls:\n    certificate: /nonexistent.crt\n    key: " + pki.server.key.string() + "\n",
       "http.tls.certificate"},
      {"  tls:\n    certificate: " + pki.server.certificate.string() +
           "\n    key: " + pki.server.key.string() + "\n    ciphersuites: [TLS_NO_SUCH_SUITE]\n",
       "http.tls.ciphersuites"},
      {"  tls:\n    certificate: " + pki.server.certificate.string() +
           "\n    key: " + pki.server.key.string() + "\n    letsencrypt:\n      cachefile: /tmp/x\n",
       "http.tls.letsencrypt"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    writeFile(dir / "config.yml", filesystemConfig(root.path(), c.extra));
    CommandResult run = runPier({"serve", (dir / "config.yml").string()});
    EXPECT_NE(run.exitCode, 0) << c.key;
    EXPECT_NE(run.output.find(c.key), std::string::npos) << c.key << ": " << run.output;
  }
}

} // namespace
} // namespace pier::test
