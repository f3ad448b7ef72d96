#include "HtpasswdFile.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pier::htpasswd {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n\v\f";

std::string_view trimmed(std::string_view text) {
  std::size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  std::size_t last = text.find_last_not_of(kWhitespace);
  return text.substr(first, last - first + 1);
}

bool isBcryptBase64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

// What an unaccepted hash looks like, for the error (never the hash itself).
std::string describeHash(std::string_view hash) {
  if (hash.empty()) return "no password hash";
  if (hash.starts_with("$apr1$")) return "an MD5 hash ($apr1$, as htpasswd -m writes)";
  if (hash.starts_with("{SHA}")) return "a SHA-1 hash ({SHA}, as htpasswd -s writes)";
  if (hash.starts_with("$1$")) return "an MD5-crypt hash ($1$)";
  if (hash.starts_with("$5$")) return "a SHA-256-crypt hash ($5$)";
  if (hash.starts_with("$6$")) return "a SHA-512-crypt hash ($6$)";
  if (hash.starts_with("$2x$")) return "a $2x$ bcrypt hash (made by a known-buggy implementation)";
  if (hash.starts_with("$2")) return "a malformed bcrypt hash";
  if (hash.starts_with("$")) return "an unknown hash type";
  return "no hash Pier knows (plain text or DES crypt, as htpasswd -p or -d write)";
}

std::string lineOf(const std::string& fileName, std::size_t number) {
  return fileName + " line " + std::to_string(number);
}

std::int64_t nanoseconds(const timespec& time) {
  return static_cast<std::int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

FileSignature signatureFrom(const struct stat& info) {
  return {info.st_dev, info.st_ino, info.st_size, nanoseconds(info.st_mtim), nanoseconds(info.st_ctim)};
}

HtpasswdError systemError(const std::string& what, const std::string& path) {
  return HtpasswdError(what + " " + path + ": " + std::strerror(errno));
}

// Closes the descriptor on every way out of loadHtpasswdFile.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

} // namespace

bool isBcryptHash(std::string_view hash) {
  if (hash.size() != 60) return false;
  if (!(hash.starts_with("$2y$") || hash.starts_with("$2a$") || hash.starts_with("$2b$"))) return false;
  char tens = hash[4], units = hash[5];
  if (tens < '0' || tens > '3' || units < '0' || units > '9' || hash[6] != '$') return false;
  int cost = (tens - '0') * 10 + (units - '0');
  if (cost < 4 || cost > 31) return false;
  for (char c : hash.substr(7))
    if (!isBcryptBase64(c)) return false;
  return true;
}

Users parseHtpasswd(std::string_view text, const std::string& fileName) {
  Users users;
  std::map<std::string, std::size_t, std::less<>> lineOfUser;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    std::size_t end = text.find('\n');
    std::string_view line = trimmed(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;

    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      throw HtpasswdError(lineOf(fileName, number) + ": no colon between user and password hash");
    std::string_view user = line.substr(0, colon);
    std::string_view hash = line.substr(colon + 1);
    if (user.empty()) throw HtpasswdError(lineOf(fileName, number) + ": the user name is empty");
    if (!isBcryptHash(hash))
      throw HtpasswdError(lineOf(fileName, number) + ": user \"" + std::string(user) + "\" has " +
                          describeHash(hash) +
                          "; Pier accepts only bcrypt ($2y$, $2a$, $2b$), as htpasswd -B writes");
    if (auto earlier = lineOfUser.find(user); earlier != lineOfUser.end())
      throw HtpasswdError(lineOf(fileName, number) + ": user \"" + std::string(user) +
                          "\" is already on line " + std::to_string(earlier->second));
    lineOfUser.emplace(user, number);
    users.emplace(user, hash);
  }
  return users;
}

FileSignature signatureOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw systemError("cannot stat", path);
  return signatureFrom(info);
}

LoadedFile loadHtpasswdFile(const std::string& path) {
  FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw systemError("cannot open", path);
  struct stat before {};
  if (::fstat(file.fd, &before) != 0) throw systemError("cannot stat", path);
  if (!S_ISREG(before.st_mode)) throw HtpasswdError(path + " is not a regular file");

  std::string text;
  char buffer[16384];
  for (;;) {
    ssize_t got = ::read(file.fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw systemError("cannot read", path);
    if (got == 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  struct stat after {};
  if (::fstat(file.fd, &after) != 0) throw systemError("cannot stat", path);
  if (!(signatureFrom(after) == signatureFrom(before)))
    throw HtpasswdError(path + " changed while it was read");
  return {parseHtpasswd(text, path), signatureFrom(before)};
}

} // namespace pier::htpasswd
