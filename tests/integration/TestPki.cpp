#include "TestPki.hpp"

#include <random>
#include <stdexcept>

#include "PierProcess.hpp"

namespace pier::test {

namespace {

const std::string kOpenssl = "/usr/bin/openssl";

void openssl(const std::vector<std::string>& arguments) {
  CommandResult result = runCommand(kOpenssl, arguments);
  if (result.exitCode != 0) {
    std::string command = "openssl";
    for (const auto& argument : arguments) command += " " + argument;
    throw std::runtime_error(command + " failed: " + result.output);
  }
}

std::vector<std::string> keyOptions(KeyType type) {
  switch (type) {
  case KeyType::rsa2048:
    return {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"};
  case KeyType::ecP256:
    return {
        "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve"};
  case KeyType::ecP384:
    return {
        "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-pkeyopt", "ec_param_enc:named_curve"};
  case KeyType::ed25519:
    return {"-algorithm", "ED25519"};
  }
  throw std::invalid_argument("unknown key type");
}

// An openssl config with the subject and the v3 extensions of the certificate, section "ext".
std::filesystem::path writeRequestConfig(const std::filesystem::path& dir, const std::string& name,
                                         const std::vector<std::string>& extensions) {
  std::string text = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = " + name + "\n[ext]\n";
  for (const auto& extension : extensions) text += extension + "\n";
  std::filesystem::path file = dir / (name + ".cnf");
  writeFile(file, text);
  return file;
}

std::string randomSerial() {
  std::random_device random;
  std::uniform_int_distribution<unsigned long long> digits;
  char text[40];
  // The first hex digit below 8 keeps the serial positive, as RFC 5280 wants.
  std::snprintf(text, sizeof text, "0x%llx%016llx", digits(random) & 0x7fffffffffffffffULL, digits(random));
  return text;
}

} // namespace

std::filesystem::path makePrivateKey(const std::filesystem::path& dir, const std::string& name,
                                     KeyType type) {
  std::filesystem::create_directories(dir);
  std::filesystem::path key = dir / (name + ".key");
  std::vector<std::string> arguments{"genpkey"};
  for (const auto& option : keyOptions(type)) arguments.push_back(option);
  arguments.insert(arguments.end(), {"-out", key.string()});
  openssl(arguments);
  return key;
}

Credential makeCertificateAuthority(const std::filesystem::path& dir, const std::string& name, KeyType type) {
  Credential ca{makePrivateKey(dir, name, type), dir / (name + ".crt")};
  std::filesystem::path config = writeRequestConfig(
      dir, name,
      {"basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,cRLSign,digitalSignature",
       "subjectKeyIdentifier = hash"});
  openssl({"req", "-x509", "-new", "-key", ca.key.string(), "-config", config.string(), "-extensions", "ext",
           "-set_serial", randomSerial(), "-days", "3650", "-out", ca.certificate.string()});
  return ca;
}

Credential issueCertificate(const std::filesystem::path& dir, const std::string& name,
                            const Credential& issuer, const CertificateOptions& options) {
  if (options.days < 1) throw std::invalid_argument("a certificate is valid for at least a day");
  Credential issued{makePrivateKey(dir, name, options.type), dir / (name + ".crt")};
  std::vector<std::string> extensions{"subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid,issuer"};
  if (options.ca) {
    extensions.push_back("basicConstraints = critical,CA:TRUE");
    extensions.push_back("keyUsage = critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    extensions.push_back("basicConstraints = critical,CA:FALSE");
    // RSA key exchange (TLS 1.2) encrypts with the key; EC and Ed25519 keys only sign.
    extensions.push_back(options.type == KeyType::rsa2048
                             ? "keyUsage = critical,digitalSignature,keyEncipherment"
                             : "keyUsage = critical,digitalSignature");
    extensions.push_back("extendedKeyUsage = serverAuth,clientAuth");
  }
  std::vector<std::string> alternativeNames;
  for (const auto& ip : options.ipAddresses) alternativeNames.push_back("IP:" + ip);
  for (const auto& dns : options.dnsNames) alternativeNames.push_back("DNS:" + dns);
  std::string names;
  for (const auto& alternativeName : alternativeNames) {
    if (!names.empty()) names += ',';
    names += alternativeName;
  }
  if (!names.empty()) extensions.push_back("subjectAltName = " + names);
  std::filesystem::path config = writeRequestConfig(dir, name, extensions);
  std::filesystem::path request = dir / (name + ".csr");
  openssl({"req", "-new", "-key", issued.key.string(), "-config", config.string(), "-out", request.string()});
  openssl({"x509", "-req", "-in", request.string(), "-CA", issuer.certificate.string(), "-CAkey",
           issuer.key.string(), "-set_serial", randomSerial(), "-days", std::to_string(options.days),
           "-extfile", config.string(), "-extensions", "ext", "-out", issued.certificate.string()});
  return issued;
}

} // namespace pier::test
