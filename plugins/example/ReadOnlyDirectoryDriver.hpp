#pragma once

// The readonlydir storage driver of the example plugins: serves a directory
// tree that something else wrote (e.g. a copy of a registry's storage) and
// refuses every write with UnsupportedError. Run the server with
// storage.maintenance.readonly.enabled so that clients get 405 instead.
// Configured as
//
//   storage:
//     readonlydir:
//       rootdirectory: /srv/registry-copy
//
// In a header so that the plugin (ReadOnlyDirectoryDriver.cpp) and its tests
// build the same code.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>

#include <pier/config.hpp>
#include <pier/storage_driver.hpp>

namespace pier_example {

inline const std::string kReadOnlyPrefix = "storage.readonlydir";

inline std::chrono::system_clock::time_point modTimeOf(const struct stat& st) {
  auto since = std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since));
}

// Owns a descriptor; the server may sendfile(2) from it at its position.
class FdReader final : public pier::FileReader {
public:
  explicit FdReader(int fd) : fd_(fd) {}
  ~FdReader() override { ::close(fd_); }
  FdReader(const FdReader&) = delete;
  FdReader& operator=(const FdReader&) = delete;

  std::size_t read(char* buffer, std::size_t size) override {
    for (;;) {
      ssize_t got = ::read(fd_, buffer, size);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) throw pier::StorageError(std::string("readonlydir: read: ") + std::strerror(errno));
    }
  }
  int fileDescriptor() const override { return fd_; }

private:
  int fd_;
};

class ReadOnlyDirectoryDriver final : public pier::StorageDriver {
public:
  explicit ReadOnlyDirectoryDriver(std::string root) : root_(std::move(root)) {}

  std::string name() const override { return "readonlydir"; }

  std::string getContent(const pier::Context& context, const std::string& path) override {
    auto file = reader(context, path, 0);
    std::string content;
    char buffer[64 * 1024];
    while (std::size_t got = file->read(buffer, sizeof buffer)) {
      content.append(buffer, got);
      context.throwIfDone();
    }
    return content;
  }

  std::unique_ptr<pier::FileReader> reader(const pier::Context&, const std::string& path,
                                           std::int64_t offset) override {
    pier::checkPath(path);
    int fd = ::open(local(path).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) failed(path, "open");
    auto file = std::make_unique<FdReader>(fd); // closes fd on every throw below
    struct stat st {};
    if (::fstat(fd, &st) != 0) failed(path, "fstat");
    if (S_ISDIR(st.st_mode)) throw pier::PathNotFoundError(path);
    if (offset < 0 || offset > st.st_size) throw pier::InvalidOffsetError(path, offset);
    if (::lseek(fd, offset, SEEK_SET) < 0) failed(path, "lseek");
    return file;
  }

  pier::FileInfo stat(const pier::Context&, const std::string& path) override {
    pier::checkPath(path);
    struct stat st {};
    if (::stat(local(path).c_str(), &st) != 0) failed(path, "stat");
    pier::FileInfo info;
    info.path = path;
    info.isDirectory = S_ISDIR(st.st_mode);
    info.size = info.isDirectory ? 0 : static_cast<std::int64_t>(st.st_size);
    info.modTime = modTimeOf(st);
    return info;
  }

  std::vector<std::string> list(const pier::Context&, const std::string& path) override {
    pier::checkPath(path);
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(local(path).c_str()), ::closedir);
    if (!dir) failed(path, "opendir"); // ENOENT and ENOTDIR: PathNotFoundError
    const std::string prefix = path == "/" ? "/" : path + "/";
    std::set<std::string> children; // lexical order
    errno = 0;
    while (dirent* entry = ::readdir(dir.get())) {
      std::string child = prefix + entry->d_name;
      // Skips "." and "..", and names no path can spell.
      if (pier::isValidPath(child)) children.insert(std::move(child));
    }
    if (errno != 0) failed(path, "readdir");
    return {children.begin(), children.end()};
  }

  void putContent(const pier::Context&, const std::string& path, std::string_view) override {
    refuse("putContent", path);
  }
  std::unique_ptr<pier::FileWriter> writer(const pier::Context&, const std::string& path, bool) override {
    refuse("writer", path);
  }
  void move(const pier::Context&, const std::string& source, const std::string&) override {
    refuse("move", source);
  }
  void remove(const pier::Context&, const std::string& path) override { refuse("remove", path); }

  // It acknowledges no write, so none can be lost; it pages and redirects nothing.
  pier::DriverCapabilities capabilities() const override { return {.durable = true}; }

private:
  std::string local(const std::string& path) const { return root_ + path; } // path starts with '/'

  [[noreturn]] static void failed(const std::string& path, const char* call) {
    int error = errno;
    if (error == ENOENT || error == ENOTDIR) throw pier::PathNotFoundError(path);
    throw pier::StorageError(std::string("readonlydir: ") + call + " " + path + ": " + std::strerror(error));
  }
  [[noreturn]] static void refuse(const char* call, const std::string& path) {
    throw pier::UnsupportedError(std::string("readonlydir: ") + call + " " + path +
                                 ": this driver is read-only (set storage.maintenance.readonly)");
  }

  std::string root_; // without a trailing '/': "" for the file system's root
};

// The factory: storage.readonlydir's section, or ConfigError naming the key.
inline std::shared_ptr<pier::StorageDriver>
makeReadOnlyDirectoryDriver(const Poco::JSON::Object& parameters) {
  for (const auto& [key, value] : parameters)
    if (key != "rootdirectory")
      throw pier::ConfigError(pier::config::keyPath(kReadOnlyPrefix, key) + ": unknown parameter");
  std::string root = pier::config::requireString(parameters, "rootdirectory", kReadOnlyPrefix);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  struct stat st {};
  if (root.empty() || root.front() != '/' || ::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw pier::ConfigError(kReadOnlyPrefix + ".rootdirectory: \"" + root +
                            "\" is not an absolute path of a directory");
  return std::make_shared<ReadOnlyDirectoryDriver>(root == "/" ? "" : root);
}

} // namespace pier_example
