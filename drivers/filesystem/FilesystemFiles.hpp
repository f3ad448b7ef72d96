#pragma once

// The filesystem driver's files: descriptors, fsync of files and
// directories, and its reader and writer (the crash safety and durability
// rules are in FilesystemDriver.cpp's opening comment).
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pier/errors.hpp>
#include <pier/storage_driver.hpp>

namespace pier::filesystem {

[[noreturn]] inline void fail(std::string_view what, const std::string& path, int error) {
  throw StorageError(std::string(what) + " " + path + ": " + std::generic_category().message(error));
}

// ENOENT and ENOTDIR (a parent is a file) mean the path does not exist.
[[noreturn]] inline void failOrNotFound(std::string_view what, const std::string& path, int error) {
  if (error == ENOENT || error == ENOTDIR) throw PathNotFoundError(path);
  fail(what, path, error);
}

// An open descriptor, closed with its owner.
class OwnedFd {
public:
  explicit OwnedFd(int fd = -1) noexcept : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~OwnedFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_;
};

inline int openFile(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

inline void writeAll(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path, errno);
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

inline void syncFile(bool sync, int fd, const std::string& path) {
  if (sync && ::fsync(fd) != 0) fail("cannot sync", path, errno);
}

// Makes a rename or a new entry in the directory durable.
inline void syncDirectory(bool sync, const std::string& directory) {
  if (!sync) return;
  OwnedFd fd(openFile(directory, O_RDONLY | O_DIRECTORY));
  if (!fd) fail("cannot open directory", directory, errno);
  // Some filesystems cannot sync a directory; their renames are as durable as they get.
  if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != ENOTSUP)
    fail("cannot sync directory", directory, errno);
}

inline std::string parentOf(const std::string& fullPath) {
  std::size_t slash = fullPath.rfind('/');
  return slash == 0 ? std::string("/") : fullPath.substr(0, slash);
}

class FilesystemReader final : public FileReader {
public:
  FilesystemReader(OwnedFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  std::size_t read(char* buffer, std::size_t size) override {
    for (;;) {
      ssize_t count = ::read(fd_.get(), buffer, size);
      if (count >= 0) return static_cast<std::size_t>(count);
      if (errno != EINTR) fail("cannot read", path_, errno);
    }
  }

  int fileDescriptor() const override { return fd_.get(); }

private:
  OwnedFd fd_;
  std::string path_;
};

class FilesystemWriter final : public FileWriter {
public:
  FilesystemWriter(OwnedFd fd, std::string path, std::string partialPath, std::string finalPath,
                   std::int64_t size, bool sync)
      : fd_(std::move(fd)), path_(std::move(path)), partialPath_(std::move(partialPath)),
        finalPath_(std::move(finalPath)), size_(size), sync_(sync) {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) fail("cannot stat", path_, errno);
    device_ = st.st_dev;
    inode_ = st.st_ino;
  }

  ~FilesystemWriter() override { fd_.reset(); }

  void write(const Context& /*context*/, const char* data, std::size_t size) override {
    ensureOpen();
    writeAll(fd_.get(), data, size, path_);
    size_ += static_cast<std::int64_t>(size);
    unsynced_ = true;
  }

  std::int64_t size() const override { return size_; }

  // Synced: an upload saves its hash state at this size next, which must not
  // survive a power loss that the bytes before it do not.
  void close(const Context& /*context*/) override {
    if (fd_ && unsynced_) syncFile(sync_, fd_.get(), path_);
    fd_.reset();
  }

  void cancel(const Context& /*context*/) override {
    if (!fd_) return;
    if (isStillOurs() && ::unlink(partialPath_.c_str()) != 0 && errno != ENOENT)
      fail("cannot delete uncommitted content of", path_, errno);
    fd_.reset();
  }

  void commit(const Context& /*context*/) override {
    ensureOpen();
    syncFile(sync_, fd_.get(), path_);
    if (!isStillOurs())
      throw StorageError("cannot commit " + path_ +
                         ": its uncommitted content was replaced by another writer");
    if (::rename(partialPath_.c_str(), finalPath_.c_str()) != 0) fail("cannot commit", path_, errno);
    fd_.reset();
    syncDirectory(sync_, parentOf(finalPath_));
  }

private:
  void ensureOpen() const {
    if (!fd_) throw StorageError("writer for " + path_ + " is already closed");
  }

  // False when writer(path, append = false) or cancel() elsewhere replaced or
  // removed the file this writer has open.
  bool isStillOurs() const {
    struct stat st {};
    return ::stat(partialPath_.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_;
  }

  OwnedFd fd_;
  std::string path_;
  std::string partialPath_;
  std::string finalPath_;
  std::int64_t size_;
  bool sync_;
  bool unsynced_ = false; // written since opened
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

} // namespace pier::filesystem
