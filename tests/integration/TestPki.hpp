#pragma once

// Keys and certificates for tests (TLS, token authentication), made with the
// real `openssl` command: a self-signed CA, and certificates it issues
// (intermediate CAs or leaves with IP and DNS names), as PEM files.
#include <filesystem>
#include <string>
#include <vector>

namespace pier::test {

enum class KeyType { rsa2048, ecP256, ecP384, ed25519 };

struct Credential {
  std::filesystem::path key, certificate; // PEM files
};

// A new private key (PKCS#8 PEM) at dir/<name>.key.
std::filesystem::path makePrivateKey(const std::filesystem::path& dir, const std::string& name, KeyType type);

// A self-signed CA certificate (basicConstraints CA:TRUE) and its key, in dir
// as <name>.key and <name>.crt; the name is its common name.
Credential makeCertificateAuthority(const std::filesystem::path& dir, const std::string& name,
                                    KeyType type = KeyType::ecP256);

struct CertificateOptions {
  KeyType type = KeyType::ecP256;
  bool ca = false; // an intermediate CA instead of a leaf
  std::vector<std::string> ipAddresses{"127.0.0.1"};
  std::vector<std::string> dnsNames{"localhost"};
  int days = 30; // valid from now for this many days (at least 1)
};

// A certificate for name signed by issuer (an intermediate when options.ca),
// with a new key, in dir as <name>.key and <name>.crt. A leaf may serve TLS
// (serverAuth, clientAuth) and sign (digitalSignature).
Credential issueCertificate(const std::filesystem::path& dir, const std::string& name,
                            const Credential& issuer, const CertificateOptions& options = {});

} // namespace pier::test
