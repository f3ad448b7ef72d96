// The "filesystem" storage driver: files live at <rootdirectory><path>, as in
// Distribution's registry/storage/driver/filesystem, so an existing registry's
// data directory can be served unchanged.
//
// Crash safety: content only ever appears at its final path through rename(2).
// putContent writes ".pier-tmp.<name>.<random>" next to the final path, fsyncs
// it, renames it into place and fsyncs the directory. A writer writes
// ".pier-partial.<name>" next to the final path; the name is deterministic so
// that writer(path, append = true) resumes it, also in a later process, and
// commit() fsyncs and renames it into place. Names starting with ".pier-" are
// the driver's own: they are hidden from list, walk and stat, and paths that
// use them are refused.
//
// Durability (`sync`, default true): before a call returns, the file's data,
// the rename into its directory and every directory makeParents created (its
// entry in its parent) are fsynced; a move syncs both directories. With
// sync: false nothing is fsynced (tmpfs, throwaway caches): a crash of the
// machine may lose what was acknowledged, a crash of the process does not.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/JSON/Object.h>

#include <pier/config.hpp>
#include <pier/errors.hpp>
#include <pier/plugin.hpp>
#include <pier/storage_driver.hpp>

#include "FilesystemFiles.hpp"

namespace pier {
namespace {

using namespace filesystem; // the driver's files: FilesystemFiles.hpp

constexpr std::string_view kConfigPrefix = "storage.filesystem";
constexpr std::string_view kDefaultRootDirectory = "/var/lib/registry";
constexpr std::int64_t kDefaultMaxThreads = 100;
constexpr std::int64_t kMinMaxThreads = 25;

constexpr std::string_view kReservedPrefix = ".pier-";
constexpr std::string_view kPartialPrefix = ".pier-partial.";
constexpr std::string_view kTemporaryPrefix = ".pier-tmp.";

std::string_view baseName(std::string_view path) {
  return path.substr(path.rfind('/') + 1);
}

std::string childPath(const std::string& parent, std::string_view name) {
  return (parent == "/" ? parent : parent + "/") + std::string(name);
}

std::string randomSuffix() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(generator()));
  return buffer;
}

// Names list and walk show: valid path segments that are not the driver's own.
bool isVisibleName(std::string_view name) {
  if (name.starts_with(kReservedPrefix)) return false;
  return isValidPath('/' + std::string(name)); // a char: GCC 12 -Wrestrict misfires on "/" + a temporary
}

// checkPath, and refuses the driver's reserved names.
void checkDriverPath(const std::string& path) {
  checkPath(path);
  for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    if (std::string_view(path).substr(slash + 1).starts_with(kReservedPrefix)) throw InvalidPathError(path);
  }
}

// A path that names a file: not the root.
void checkFilePath(const std::string& path) {
  checkDriverPath(path);
  if (path == "/") throw InvalidPathError(path);
}

// The visible names in a directory, sorted. Returns the errno of opening it, or 0.
int readNames(const std::string& directory, std::vector<std::string>& names) {
  names.clear();
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) return errno;
  std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, ::closedir);
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) fail("cannot read directory", directory, errno);
      break;
    }
    std::string_view name(entry->d_name);
    if (name == "." || name == ".." || !isVisibleName(name)) continue;
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return 0;
}

FileInfo toFileInfo(const std::string& path, const struct stat& st) {
  FileInfo info;
  info.path = path;
  info.isDirectory = S_ISDIR(st.st_mode);
  info.size = info.isDirectory ? 0 : static_cast<std::int64_t>(st.st_size);
  auto sinceEpoch = std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  info.modTime = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(sinceEpoch));
  return info;
}

class FilesystemDriver final : public StorageDriver {
public:
  FilesystemDriver(std::string rootDirectory, std::int64_t maxThreads, bool sync)
      : root_(std::move(rootDirectory)), maxThreads_(maxThreads), sync_(sync) {}

  std::string name() const override { return "filesystem"; }

  // Durable only with sync (fsync before returning); uncommitted files stay
  // under the root, so writers resume across restarts.
  DriverCapabilities capabilities() const override {
    return {.redirects = false, .durable = sync_, .resumableWriters = true, .pagedList = false};
  }

  std::string getContent(const Context& /*context*/, const std::string& path) override {
    checkDriverPath(path);
    auto [fd, st] = openForReading(path);
    std::string content(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t filled = 0;
    while (filled < content.size()) {
      ssize_t count =
          ::pread(fd.get(), content.data() + filled, content.size() - filled, static_cast<off_t>(filled));
      if (count < 0) {
        if (errno == EINTR) continue;
        fail("cannot read", path, errno);
      }
      if (count == 0) break;
      filled += static_cast<std::size_t>(count);
    }
    content.resize(filled);
    return content;
  }

  void putContent(const Context& /*context*/, const std::string& path, std::string_view content) override {
    checkFilePath(path);
    std::string finalPath = fullPath(path);
    std::string directory = makeParents(path, finalPath);
    replaceAtomically(path, directory, finalPath,
                      [&](int fd) { writeAll(fd, content.data(), content.size(), path); });
    syncDirectory(sync_, directory);
  }

  std::unique_ptr<FileReader> reader(const Context& /*context*/, const std::string& path,
                                     std::int64_t offset) override {
    checkDriverPath(path);
    auto [fd, st] = openForReading(path);
    if (offset < 0 || offset > static_cast<std::int64_t>(st.st_size)) throw InvalidOffsetError(path, offset);
    if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) fail("cannot seek in", path, errno);
    return std::make_unique<FilesystemReader>(std::move(fd), path);
  }

  std::unique_ptr<FileWriter> writer(const Context& /*context*/, const std::string& path,
                                     bool append) override {
    checkFilePath(path);
    std::string finalPath = fullPath(path);
    std::string directory = makeParents(path, finalPath);
    std::string partial = childPath(directory, std::string(kPartialPrefix) + std::string(baseName(path)));
    // A new file rather than truncating: a superseded writer keeps its own
    // (now unlinked) file and cannot commit over the new content.
    if (!append && ::unlink(partial.c_str()) != 0 && errno != ENOENT)
      fail("cannot discard uncommitted content of", path, errno);
    if (append) continueCommitted(path, finalPath, directory, partial);
    OwnedFd fd(openFile(partial, O_WRONLY | O_CREAT, 0666));
    if (!fd) fail("cannot open writer for", path, errno);
    off_t size = ::lseek(fd.get(), 0, SEEK_END);
    if (size < 0) fail("cannot seek in", path, errno);
    return std::make_unique<FilesystemWriter>(std::move(fd), path, std::move(partial), std::move(finalPath),
                                              static_cast<std::int64_t>(size), sync_);
  }

  // An append with no uncommitted content continues the committed file (as
  // an upload that another registry started): its bytes become the partial
  // content, copied under a temporary name first so a crash never leaves a
  // half copy; the committed file stays in place until commit.
  void continueCommitted(const std::string& path, const std::string& finalPath, const std::string& directory,
                         const std::string& partial) {
    struct stat st {};
    if (::stat(partial.c_str(), &st) == 0 || ::stat(finalPath.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return;
    OwnedFd source(openFile(finalPath, O_RDONLY));
    if (!source) fail("cannot open", path, errno);
    replaceAtomically(path, directory, partial, [&](int target) {
      off_t left = st.st_size;
      while (left > 0) {
        ssize_t copied =
            ::copy_file_range(source.get(), nullptr, target, nullptr, static_cast<std::size_t>(left), 0);
        if (copied < 0 && errno == EINTR) continue;
        if (copied <= 0) fail("cannot copy", path, copied < 0 ? errno : EIO);
        left -= copied;
      }
    });
  }

  // Fills a new file next to target under a temporary name, fsyncs it and
  // renames it onto target: readers see the old file or the whole new one,
  // and a failure leaves no temporary behind.
  template <typename Fill>
  void replaceAtomically(const std::string& path, const std::string& directory, const std::string& target,
                         Fill fill) {
    std::string temporary = childPath(directory, std::string(kTemporaryPrefix) + std::string(baseName(path)) +
                                                     "." + randomSuffix());
    OwnedFd fd(openFile(temporary, O_WRONLY | O_CREAT | O_EXCL, 0666));
    if (!fd) fail("cannot create", temporary, errno);
    try {
      fill(fd.get());
      syncFile(sync_, fd.get(), path);
      fd.reset();
      if (::rename(temporary.c_str(), target.c_str()) != 0) fail("cannot write", path, errno);
    } catch (...) {
      ::unlink(temporary.c_str());
      throw;
    }
  }

  FileInfo stat(const Context& /*context*/, const std::string& path) override {
    checkDriverPath(path);
    struct stat st {};
    if (::stat(fullPath(path).c_str(), &st) != 0) failOrNotFound("cannot stat", path, errno);
    return toFileInfo(path, st);
  }

  std::vector<std::string> list(const Context& /*context*/, const std::string& path) override {
    checkDriverPath(path);
    std::vector<std::string> names;
    if (int error = readNames(fullPath(path), names)) {
      if (error == ENOENT && path == "/") return {}; // nothing was stored yet
      failOrNotFound("cannot list", path, error);
    }
    for (auto& name : names) name = childPath(path, name);
    return names;
  }

  void move(const Context& /*context*/, const std::string& source, const std::string& destination) override {
    checkFilePath(source);
    checkFilePath(destination);
    std::string sourcePath = fullPath(source);
    std::string destinationPath = fullPath(destination);
    struct stat st {};
    if (::stat(sourcePath.c_str(), &st) != 0) failOrNotFound("cannot move", source, errno);
    if (source == destination) return;
    std::string destinationDirectory = makeParents(destination, destinationPath);
    if (::rename(sourcePath.c_str(), destinationPath.c_str()) != 0) {
      if (errno == ENOENT) throw PathNotFoundError(source);
      fail("cannot move " + source + " to", destination, errno);
    }
    syncDirectory(sync_, destinationDirectory);
    std::string sourceDirectory = parentOf(sourcePath);
    if (sourceDirectory != destinationDirectory) syncDirectory(sync_, sourceDirectory);
  }

  void remove(const Context& /*context*/, const std::string& path) override {
    checkDriverPath(path);
    std::string target = fullPath(path);
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0) failOrNotFound("cannot delete", path, errno);
    std::error_code error;
    if (path == "/") {
      // Empties the root but keeps it: it may be a mount point.
      for (const auto& entry : std::filesystem::directory_iterator(target, error)) {
        std::filesystem::remove_all(entry.path(), error);
        if (error) break;
      }
    } else {
      // Renamed away first: a crash in the middle of the delete leaves a
      // temporary for the purger, never half of what was there.
      std::string directory = parentOf(target);
      std::string doomed = childPath(directory, std::string(kTemporaryPrefix) + std::string(baseName(path)) +
                                                    "." + randomSuffix());
      if (::rename(target.c_str(), doomed.c_str()) != 0) failOrNotFound("cannot delete", path, errno);
      syncDirectory(sync_, directory);
      std::filesystem::remove_all(doomed, error);
    }
    if (error) throw StorageError("cannot delete " + path + ": " + error.message());
  }

  void walk(const Context& context, const std::string& path, const WalkFunction& visit) override {
    checkDriverPath(path);
    std::vector<std::string> names;
    if (int error = readNames(fullPath(path), names)) {
      if (error == ENOENT && path == "/") return;
      failOrNotFound("cannot walk", path, error);
    }
    walkNames(context, path, names, visit);
  }

  // Temporaries (files being written, directories being deleted) are only
  // alive within one call: an old one was cut off by a crash. Partial files
  // belong to uploads, which the purger removes.
  std::size_t purgeLeftovers(const Context& context, std::chrono::system_clock::time_point before) override {
    std::size_t removed = 0;
    std::error_code error;
    std::filesystem::recursive_directory_iterator it(fullPath("/"), error), end;
    for (; !error && it != end; it.increment(error)) {
      context.throwIfDone();
      if (!it->path().filename().string().starts_with(kTemporaryPrefix)) continue;
      it.disable_recursion_pending();
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) != 0) continue;
      st.st_mtim = st.st_ctim; // the rename that made it a temporary changed ctime
      if (toFileInfo("/", st).modTime >= before) continue;
      std::error_code removeError;
      if (std::filesystem::remove_all(it->path(), removeError) > 0) ++removed;
    }
    if (error && error != std::errc::no_such_file_or_directory)
      throw StorageError("cannot look for leftover files: " + error.message());
    return removed;
  }

private:
  // Visits the entries of a directory and what is below them; false when asked to stop.
  bool walkNames(const Context& context, const std::string& path, const std::vector<std::string>& names,
                 const WalkFunction& visit) {
    std::vector<std::string> childNames;
    for (const auto& name : names) {
      context.throwIfDone();
      std::string child = childPath(path, name);
      struct stat st {};
      if (::stat(fullPath(child).c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) continue; // removed while walking
        fail("cannot stat", child, errno);
      }
      FileInfo info = toFileInfo(child, st);
      WalkControl control = visit(info);
      if (control == WalkControl::stop) return false;
      if (!info.isDirectory || control == WalkControl::skipDirectory) continue;
      if (int error = readNames(fullPath(child), childNames)) {
        if (error == ENOENT || error == ENOTDIR) continue;
        fail("cannot walk", child, error);
      }
      if (!walkNames(context, child, childNames, visit)) return false;
    }
    return true;
  }

  std::string fullPath(const std::string& path) const {
    if (path == "/") return root_.empty() ? std::string("/") : root_;
    return root_ + path;
  }

  // Creates the directories above a file's full path, each one's entry synced
  // in its parent (a file in a new directory is lost with the directory);
  // returns the file's directory.
  std::string makeParents(const std::string& path, const std::string& filePath) const {
    std::string directory = parentOf(filePath);
    std::vector<std::string> missing; // deepest first
    struct stat st {};
    for (std::string at = directory; at.size() >= root_.size() && ::stat(at.c_str(), &st) != 0;
         at = parentOf(at)) {
      if (errno != ENOENT) fail("cannot create the directory of", path, errno);
      missing.push_back(at);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      int made = ::mkdir(it->c_str(), 0777);
      if (made != 0 && errno == ENOENT && it == missing.rbegin()) { // above the root is missing too
        std::error_code error;
        std::filesystem::create_directories(parentOf(*it), error);
        if (error) throw StorageError("cannot create the directory of " + path + ": " + error.message());
        made = ::mkdir(it->c_str(), 0777);
      }
      // EEXIST: a concurrent call created it; its entry is synced here too, before this call returns.
      if (made != 0 && errno != EEXIST) fail("cannot create the directory of", path, errno);
      syncDirectory(sync_, parentOf(*it));
    }
    return directory;
  }

  struct OpenFile {
    OwnedFd fd;
    struct stat st;
  };

  // Opens a file for reading; a directory is not found.
  OpenFile openForReading(const std::string& path) const {
    OpenFile file{OwnedFd(openFile(fullPath(path), O_RDONLY)), {}};
    if (!file.fd) failOrNotFound("cannot open", path, errno);
    if (::fstat(file.fd.get(), &file.st) != 0) fail("cannot stat", path, errno);
    if (S_ISDIR(file.st.st_mode)) throw PathNotFoundError(path);
    return file;
  }

  std::string root_; // absolute, without a trailing slash; empty for "/"
  // Accepted as Distribution accepts it; the server's thread pool bounds how
  // many calls block at once.
  std::int64_t maxThreads_;
  bool sync_; // fsync before returning; false for storage whose loss does not matter
};

std::int64_t maxThreadsParameter(const Poco::JSON::Object& parameters) {
  const std::string key = config::keyPath(std::string(kConfigPrefix), "maxthreads");
  if (!parameters.has("maxthreads") || parameters.isNull("maxthreads")) return kDefaultMaxThreads;
  Poco::Dynamic::Var value = parameters.get("maxthreads");
  std::int64_t maxThreads = 0;
  if (value.isInteger()) {
    maxThreads = value.convert<std::int64_t>();
  } else if (value.isString()) { // e.g. from a REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS override
    std::string text = value.extract<std::string>();
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
      throw ConfigError(key + ": must be an integer, not \"" + text + "\"");
    maxThreads = std::stoll(text);
  } else {
    throw ConfigError(key + ": must be an integer");
  }
  if (maxThreads < kMinMaxThreads)
    throw ConfigError(key + ": must be at least " + std::to_string(kMinMaxThreads) + ", not " +
                      std::to_string(maxThreads));
  return maxThreads;
}

std::shared_ptr<StorageDriver> createFilesystemDriver(const Poco::JSON::Object& parameters) {
  const std::string prefix(kConfigPrefix);
  std::vector<std::string> names;
  parameters.getNames(names);
  for (const auto& key : names) {
    if (key != "rootdirectory" && key != "maxthreads" && key != "sync")
      throw ConfigError(config::keyPath(prefix, key) + ": unknown parameter");
  }
  std::string root =
      config::getString(parameters, "rootdirectory", prefix, std::string(kDefaultRootDirectory));
  if (root.empty()) throw ConfigError(config::keyPath(prefix, "rootdirectory") + ": must not be empty");
  std::int64_t maxThreads = maxThreadsParameter(parameters);
  bool sync = config::getFlag(parameters, "sync", prefix, true);

  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(root, error);
  if (error)
    throw ConfigError(config::keyPath(prefix, "rootdirectory") + ": \"" + root + "\": " + error.message());
  std::string normalized = absolute.lexically_normal().string();
  while (!normalized.empty() && normalized.back() == '/') normalized.pop_back();
  return std::make_shared<FilesystemDriver>(std::move(normalized), maxThreads, sync);
}

void registerFilesystemDriver(PluginRegistry& registry) {
  registry.storageDriver("filesystem", createFilesystemDriver);
}

} // namespace
} // namespace pier

PIER_PLUGIN(pier::registerFilesystemDriver, "filesystem", PIER_PLUGIN_VERSION,
            "Storage in a local directory, in Distribution's layout")
