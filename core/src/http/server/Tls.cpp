#include "http/server/Tls.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <pier/errors.hpp>

namespace pier::http {

namespace {

// OpenSSL's queued errors as one line, and the queue emptied (it is per thread).
std::string takeErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown error" : text;
}

int protocolVersion(const std::string& name) {
  if (name == "tls1.0") return TLS1_VERSION;
  if (name == "tls1.1") return TLS1_1_VERSION;
  if (name == "tls1.3") return TLS1_3_VERSION;
  return TLS1_2_VERSION; // the default, as Distribution's
}

// http.tls.ciphersuites in the IANA names Distribution's config uses:
// TLS 1.3 suites go to SSL_CTX_set_ciphersuites, the others are mapped to
// OpenSSL's names for the TLS 1.2 cipher list.
void setCipherSuites(SSL_CTX* context, const std::vector<std::string>& names) {
  if (names.empty()) return;
  std::string tls12, tls13;
  for (const std::string& name : names) {
    bool isTls13 = name.starts_with("TLS_AES_") || name.starts_with("TLS_CHACHA20_");
    std::string& list = isTls13 ? tls13 : tls12;
    const char* openssl = isTls13 ? name.c_str() : OPENSSL_cipher_name(name.c_str());
    if (std::string(openssl) == "(NONE)")
      throw ConfigError("http.tls.ciphersuites: unknown cipher suite \"" + name + "\"");
    if (!list.empty()) list += ':';
    list += openssl;
  }
  // An empty TLS 1.2 list would refuse every TLS 1.2 client; keep OpenSSL's then.
  if (!tls12.empty() && SSL_CTX_set_cipher_list(context, tls12.c_str()) != 1)
    throw ConfigError("http.tls.ciphersuites: " + takeErrors());
  if (!tls13.empty() && SSL_CTX_set_ciphersuites(context, tls13.c_str()) != 1)
    throw ConfigError("http.tls.ciphersuites: " + takeErrors());
}

int acceptAnyCertificate(int, X509_STORE_CTX*) {
  return 1;
}

// http.tls.clientauth as Distribution names Go's modes; with clientcas and no mode: require and verify.
void setClientAuthentication(SSL_CTX* context, const Config::Http::Tls& settings) {
  std::string mode = settings.clientAuth;
  if (mode.empty()) mode = settings.clientCAs.empty() ? "" : "require-and-verify-client-cert";
  if (mode.empty()) return;
  bool verifies = mode == "verify-client-cert-if-given" || mode == "require-and-verify-client-cert";
  if (verifies && settings.clientCAs.empty())
    throw ConfigError("http.tls.clientauth: " + mode + " needs http.tls.clientcas");
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  for (const std::string& file : settings.clientCAs) {
    if (SSL_CTX_load_verify_locations(context, file.c_str(), nullptr) != 1 ||
        SSL_add_file_cert_subjects_to_stack(names, file.c_str()) != 1) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      throw ConfigError("http.tls.clientcas: cannot load " + file + ": " + takeErrors());
    }
  }
  SSL_CTX_set_client_CA_list(context, names);
  bool required = mode == "require-any-client-cert" || mode == "require-and-verify-client-cert";
  int flags = SSL_VERIFY_PEER | (required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
  SSL_CTX_set_verify(context, flags, verifies ? nullptr : acceptAnyCertificate);
  static const unsigned char kSessionContext[] = "pier";
  SSL_CTX_set_session_id_context(context, kSessionContext, sizeof kSessionContext - 1);
}

// The registry speaks HTTP/1.1: a client offering h2 too is told so.
int selectHttp11(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* offered,
                 unsigned int offeredLength, void*) {
  static const unsigned char kHttp11[] = "\x08http/1.1";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outLength, kHttp11, sizeof kHttp11 - 1, offered, offeredLength) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

SSL_CTX* buildContext(const Config::Http::Tls& settings) {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (!context) throw ConfigError("http.tls: " + takeErrors());
  try {
    int minimum = protocolVersion(settings.minimumTls);
    SSL_CTX_set_min_proto_version(context, minimum);
    // OpenSSL 3 allows TLS 1.0 and 1.1 only at security level 0: asking for them explicitly means that.
    if (minimum < TLS1_2_VERSION) SSL_CTX_set_security_level(context, 0);
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_ENABLE_KTLS);
    // Thousands of idle keep-alive connections should not hold 2 x 16 KiB of buffers each.
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(context, settings.certificate.c_str()) != 1)
      throw ConfigError("http.tls.certificate: cannot load " + settings.certificate + ": " + takeErrors());
    if (SSL_CTX_use_PrivateKey_file(context, settings.key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw ConfigError("http.tls.key: cannot load " + settings.key + ": " + takeErrors());
    if (SSL_CTX_check_private_key(context) != 1)
      throw ConfigError("http.tls.key: " + settings.key + " is not the key of " + settings.certificate);
    setCipherSuites(context, settings.cipherSuites);
    setClientAuthentication(context, settings);
    SSL_CTX_set_alpn_select_cb(context, selectHttp11, nullptr);
  } catch (...) {
    SSL_CTX_free(context);
    throw;
  }
  return context;
}

} // namespace

TlsContext::TlsContext(const Config::Http::Tls& settings) : settings_(settings) {
  if (settings.certificate.empty()) throw ConfigError("http.tls.certificate: missing (http.tls.key is set)");
  if (settings.key.empty()) throw ConfigError("http.tls.key: missing (http.tls.certificate is set)");
  reload(true);
}

TlsContext::~TlsContext() {
  SSL_CTX_free(context_);
}

std::vector<TlsContext::FileStamp> TlsContext::stampFiles() const {
  std::vector<FileStamp> stamps;
  std::vector<std::string> files{settings_.certificate, settings_.key};
  files.insert(files.end(), settings_.clientCAs.begin(), settings_.clientCAs.end());
  for (const std::string& file : files) {
    struct stat info {};
    FileStamp stamp{file};
    if (::stat(file.c_str(), &info) == 0) {
      stamp.modified = info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec;
      stamp.size = static_cast<std::uintmax_t>(info.st_size);
    }
    stamps.push_back(stamp);
  }
  return stamps;
}

bool TlsContext::reload(bool force) {
  std::vector<FileStamp> stamps = stampFiles();
  {
    std::lock_guard lock(mutex_);
    if (!force && stamps == loaded_) return false;
    // A failed load is not retried until the files change again.
    loaded_ = stamps;
  }
  ERR_clear_error();
  SSL_CTX* fresh = buildContext(settings_);
  std::lock_guard lock(mutex_);
  SSL_CTX* old = context_;
  context_ = fresh;
  SSL_CTX_free(old); // sessions made on it hold their own reference
  return true;
}

SSL* TlsContext::newSession(int fd) {
  std::lock_guard lock(mutex_);
  SSL* ssl = SSL_new(context_);
  if (!ssl) return nullptr;
  SSL_set_fd(ssl, fd);
  SSL_set_accept_state(ssl);
  return ssl;
}

TlsSession::~TlsSession() {
  // close_notify when the socket takes it; a peer that is gone is not waited for.
  if (established_) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  SSL_free(ssl_);
}

TlsSession::Handshake TlsSession::handshake(std::string& error) {
  ERR_clear_error();
  int returned = SSL_do_handshake(ssl_);
  if (returned == 1) {
    established_ = true;
    return Handshake::done;
  }
  switch (SSL_get_error(ssl_, returned)) {
  case SSL_ERROR_WANT_READ:
    wantWrite_ = false;
    return Handshake::wantRead;
  case SSL_ERROR_WANT_WRITE:
    wantWrite_ = true;
    return Handshake::wantWrite;
  case SSL_ERROR_SYSCALL:
    error = errno ? std::string(std::strerror(errno)) : "the client closed the connection";
    ERR_clear_error();
    return Handshake::failed;
  default:
    error = takeErrors();
    return Handshake::failed;
  }
}

ssize_t TlsSession::result(int returned) {
  if (returned > 0) {
    wantWrite_ = false;
    return returned;
  }
  int saved = errno;
  switch (SSL_get_error(ssl_, returned)) {
  case SSL_ERROR_WANT_READ:
    wantWrite_ = false;
    errno = EAGAIN;
    return -1;
  case SSL_ERROR_WANT_WRITE:
    wantWrite_ = true;
    errno = EAGAIN;
    return -1;
  case SSL_ERROR_ZERO_RETURN:
    return 0;
  case SSL_ERROR_SYSCALL:
    ERR_clear_error();
    if (saved == 0) return 0; // closed without close_notify
    errno = saved;
    return -1;
  default:
    ERR_clear_error();
    errno = ECONNRESET; // a protocol error ends the connection like a reset
    return -1;
  }
}

ssize_t TlsSession::read(char* out, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  return result(SSL_read(ssl_, out, static_cast<int>(std::min<std::size_t>(size, INT_MAX))));
}

ssize_t TlsSession::write(const char* data, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  return result(SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX))));
}

bool TlsSession::hasBuffered() const {
  return SSL_has_pending(ssl_) == 1;
}

bool TlsSession::kernelSend() const {
  return BIO_get_ktls_send(SSL_get_wbio(ssl_)) == 1;
}

ssize_t TlsSession::sendFile(int fileFd, off_t offset, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  ossl_ssize_t sent = SSL_sendfile(ssl_, fileFd, offset, size, 0);
  if (sent > 0) {
    wantWrite_ = false;
    return sent;
  }
  return result(static_cast<int>(sent));
}

std::string TlsSession::protocol() const {
  return SSL_get_version(ssl_);
}

} // namespace pier::http
