#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <sys/types.h>

#include "config/Config.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace pier::http {

// The server's TLS settings (http.tls) as an OpenSSL context. The context is
// replaced, not changed, when the certificate or key files change or on
// SIGHUP: connections keep the context they started with, new ones get the
// new one. Raw OpenSSL rather than Poco::Net's SecureSocket: Poco's TLS
// sockets own their descriptor and block, the event loop needs an SSL object
// on its own non-blocking descriptor.
class TlsContext {
public:
  // Loads certificate, key and client CAs; throws ConfigError naming the http.tls key at fault.
  explicit TlsContext(const Config::Http::Tls& settings);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A new session for an accepted socket, on the current context.
  SSL* newSession(int fd);

  // Reloads when a file changed since the last load (or always, when forced).
  // True when it reloaded; throws ConfigError (the old context stays) when the new files are bad.
  bool reload(bool force);

private:
  struct FileStamp {
    std::filesystem::path path;
    std::int64_t modified = 0;
    std::uintmax_t size = 0;
    bool operator==(const FileStamp&) const = default;
  };
  std::vector<FileStamp> stampFiles() const;

  Config::Http::Tls settings_;
  std::mutex mutex_;
  SSL_CTX* context_ = nullptr;
  std::vector<FileStamp> loaded_;
};

// One connection's TLS state. Reads and writes follow recv/send: bytes, 0 at
// the peer's close, or -1 with errno (EAGAIN when it would block: then wait
// for the socket events waitEvents() names, which may be the other direction).
class TlsSession {
public:
  explicit TlsSession(SSL* ssl) : ssl_(ssl) {}
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  enum class Handshake { done, wantRead, wantWrite, failed };
  Handshake handshake(std::string& error);
  bool established() const { return established_; }

  ssize_t read(char* out, std::size_t size);
  ssize_t write(const char* data, std::size_t size);
  // Decrypted bytes OpenSSL holds that epoll cannot see.
  bool hasBuffered() const;
  // After EAGAIN: EPOLLIN/POLLIN or EPOLLOUT/POLLOUT (the values agree).
  std::uint32_t waitEvents() const { return wantWrite_ ? 0x004u : 0x001u; }

  // Kernel TLS for sending: a file goes out by SSL_sendfile, as plain sendfile.
  bool kernelSend() const;
  ssize_t sendFile(int fileFd, off_t offset, std::size_t size);

  std::string protocol() const; // "TLSv1.3"

private:
  ssize_t result(int returned);
  SSL* ssl_;
  bool established_ = false;
  bool wantWrite_ = false;
};

} // namespace pier::http
