#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pier/context.hpp"

namespace pier {

struct FileInfo {
  std::string path;
  std::int64_t size = 0; // 0 for directories
  std::chrono::system_clock::time_point modTime;
  bool isDirectory = false;
};

// Reads a file from the offset it was opened at.
class PIER_SDK_API FileReader {
public:
  virtual ~FileReader() = default;
  // Reads up to `size` bytes into `buffer`; returns 0 only at the end of the file.
  virtual std::size_t read(char* buffer, std::size_t size) = 0;
  // A descriptor of the open file positioned at the reader's offset, so the
  // server can sendfile(2) it without copying; -1 when the driver has none.
  virtual int fileDescriptor() const { return -1; }
};

// Writes a file that becomes visible at its path only on commit(). Until then
// the content may be resumed by opening a writer with append = true. Every
// call takes the request's Context: a driver that sends data on (e.g. an S3
// part upload) stops when the client is gone or the deadline passed. After
// close, cancel or commit, further calls throw StorageError; a writer
// destroyed without any of them behaves as if closed, and its destructor
// never throws.
class PIER_SDK_API FileWriter {
public:
  virtual ~FileWriter() = default;
  virtual void write(const Context& context, const char* data, std::size_t size) = 0;
  // Bytes written so far, including those of earlier writers this one appends to.
  virtual std::int64_t size() const = 0;
  // Releases the writer; written content stays for a later append. When it
  // returns, that content survives a crash if the driver is durable (see
  // DriverCapabilities).
  virtual void close(const Context& context) = 0;
  // Discards everything written, including earlier appended-to content.
  virtual void cancel(const Context& context) = 0;
  // Makes the content visible at the path, atomically: readers see the old
  // content or the whole new content, never a part.
  virtual void commit(const Context& context) = 0;
};

// What a driver supports beyond the required calls; the server asks once,
// after the factory made the driver, and plans around the answers.
struct DriverCapabilities {
  // redirectURL can answer with a URL clients fetch content from directly.
  bool redirects = false;
  // Content is on stable storage when putContent, move, remove, commit or a
  // writer's close returns: a crash or power loss right after keeps it.
  bool durable = false;
  // A writer opened with append = true resumes content a writer of another
  // process (or of this one before a restart) left, not only of this process.
  bool resumableWriters = false;
  // listPage reads one page from the backend instead of listing everything.
  bool pagedList = false;
};

// How long a redirect URL works unless configured (storage.redirect.expiry):
// 20 minutes, as Distribution's s3 driver.
inline constexpr std::chrono::seconds kDefaultRedirectExpiry{20 * 60};

// What the server asks a redirect for: the client's method and headers
// (e.g. for a CDN's signed URL or a Range the URL must allow) and how long the
// URL may work.
struct RedirectRequest {
  std::string method; // "GET" or "HEAD"
  std::string path;
  std::chrono::seconds expiry = kDefaultRedirectExpiry;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One page of a directory's children (StorageDriver::listPage).
struct ListPage {
  std::vector<std::string> paths; // full paths, in lexical order
  bool truncated = false;         // more children follow the last path
};

enum class WalkControl { proceed, skipDirectory, stop };
using WalkFunction = std::function<WalkControl(const FileInfo&)>;

// A storage driver knows only paths and bytes (Distribution's storagedriver).
// Paths are absolute, '/'-separated, of segments [A-Za-z0-9._-]+ that are not
// "." or ".."; every other path is refused with InvalidPathError (see
// checkPath). Missing paths raise PathNotFoundError.
class PIER_SDK_API StorageDriver {
public:
  virtual ~StorageDriver() = default;

  virtual std::string name() const = 0;

  virtual std::string getContent(const Context& context, const std::string& path) = 0;
  // Stores content at path, replacing what was there, atomically.
  virtual void putContent(const Context& context, const std::string& path, std::string_view content) = 0;

  virtual std::unique_ptr<FileReader> reader(const Context& context, const std::string& path,
                                             std::int64_t offset) = 0;
  // append = false starts new content; append = true resumes uncommitted content
  // written earlier at this path or, when there is none, continues the
  // committed content (which stays readable unchanged until commit).
  virtual std::unique_ptr<FileWriter> writer(const Context& context, const std::string& path,
                                             bool append) = 0;

  virtual FileInfo stat(const Context& context, const std::string& path) = 0;
  // Full paths of the direct children of a directory, in lexical order.
  virtual std::vector<std::string> list(const Context& context, const std::string& path) = 0;
  // Moves a file, replacing the destination if it exists.
  virtual void move(const Context& context, const std::string& source, const std::string& destination) = 0;
  // Deletes a file or a directory with everything below it.
  virtual void remove(const Context& context, const std::string& path) = 0;

  // What this driver supports beyond the required calls.
  virtual DriverCapabilities capabilities() const { return {}; }

  // A URL the client may fetch the content from directly, or nothing (then
  // the server sends the content itself).
  virtual std::optional<std::string> redirectURL(const Context& /*context*/,
                                                 const RedirectRequest& /*request*/) {
    return std::nullopt;
  }

  // At most `limit` (> 0) direct children of a directory whose full paths
  // sort after `startAfter` ("" for the first page), in lexical order; a
  // missing directory raises PathNotFoundError as list() does. This default
  // lists everything and cuts; drivers that can page natively override it.
  virtual ListPage listPage(const Context& context, const std::string& path, const std::string& startAfter,
                            std::size_t limit) {
    ListPage page;
    for (auto& child : list(context, path)) {
      if (child <= startAfter) continue;
      if (page.paths.size() == limit) {
        page.truncated = true;
        break;
      }
      page.paths.push_back(std::move(child));
    }
    return page;
  }

  // Removes the driver's own leftovers of calls a crash cut off (e.g. temporary
  // files) last changed before `before`; returns how many. The upload purger
  // calls it with its age.
  virtual std::size_t purgeLeftovers(const Context& /*context*/,
                                     std::chrono::system_clock::time_point /*before*/) {
    return 0;
  }

  // Visits everything below path depth first, in lexical order.
  virtual void walk(const Context& context, const std::string& path, const WalkFunction& visit) {
    walkChildren(context, path, visit);
  }

protected:
  // Generic walk on list() and stat(); returns false when the visit asked to stop.
  bool walkChildren(const Context& context, const std::string& path, const WalkFunction& visit) {
    for (const auto& child : list(context, path)) {
      context.throwIfDone();
      FileInfo info = stat(context, child);
      WalkControl control = visit(info);
      if (control == WalkControl::stop) return false;
      if (info.isDirectory && control != WalkControl::skipDirectory && !walkChildren(context, child, visit))
        return false;
    }
    return true;
  }
};

// True for "/" and for paths of valid segments. Drivers call checkPath on every
// path they are given, before it touches storage.
inline bool isValidPath(std::string_view path) {
  if (path == "/") return true;
  if (path.empty() || path.front() != '/' || path.back() == '/') return false;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (char c : segment) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

inline void checkPath(std::string_view path) {
  if (!isValidPath(path)) throw InvalidPathError(std::string(path));
}

} // namespace pier
