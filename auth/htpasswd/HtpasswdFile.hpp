#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace pier::htpasswd {

// A line of the file that is not an entry Pier accepts, or a file that cannot
// be read. The message names the file and, for a bad line, its number.
class HtpasswdError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// User name -> bcrypt hash.
using Users = std::map<std::string, std::string, std::less<>>;

// Parses htpasswd text: one "user:hash" per line, blank lines and lines
// starting with '#' ignored, whitespace around a line ignored (so CRLF files
// work). Every hash must be bcrypt ($2y$, $2a$, $2b$), the only kind
// `htpasswd -B` writes and the only kind worth trusting; any other line
// throws HtpasswdError naming `fileName` and the line. A user listed twice
// is an error too: which of two passwords counts should not be a guess.
Users parseHtpasswd(std::string_view text, const std::string& fileName);

// Whether hash is "$2y$" / "$2a$" / "$2b$", a two-digit cost 04-31, '$' and
// 53 characters of bcrypt's base64: what crypt accepts without an error.
bool isBcryptHash(std::string_view hash);

// What identifies one version of a file, to notice that it changed.
struct FileSignature {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t modifiedNs = 0;
  std::int64_t changedNs = 0;
  bool operator==(const FileSignature&) const = default;
};

// The signature of path now; throws HtpasswdError when it cannot be stat'ed.
FileSignature signatureOf(const std::string& path);

struct LoadedFile {
  Users users;
  FileSignature signature;
};

// Reads and parses the file; the signature is the one before the read. A
// file whose signature changed during the read was being written: that is an
// HtpasswdError, so the next check reads it again.
LoadedFile loadHtpasswdFile(const std::string& path);

} // namespace pier::htpasswd
