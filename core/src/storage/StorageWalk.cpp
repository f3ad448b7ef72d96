#include "storage/StorageWalk.hpp"

#include "storage/Paths.hpp"

#include <pier/blob_descriptor_cache.hpp>

namespace pier {

std::string baseName(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

std::vector<std::string> listOrEmpty(const Context& context, StorageDriver& driver, const std::string& path) {
  try {
    return driver.list(context, path);
  } catch (const PathNotFoundError&) {
    return {};
  }
}

std::optional<FileInfo> statOrNone(const Context& context, StorageDriver& driver, const std::string& path) {
  try {
    return driver.stat(context, path);
  } catch (const PathNotFoundError&) {
    return std::nullopt;
  }
}

std::string blobDirectoryOf(const std::string& digest) {
  std::size_t colon = digest.find(':');
  return paths::blobDirectory(digest.substr(0, colon), digest.substr(colon + 1));
}

std::string blobDataOf(const std::string& digest) {
  return blobDirectoryOf(digest) + "/data";
}

void walkBlobs(const Context& context, StorageDriver& driver,
               const std::function<void(const StoredBlob&)>& visit,
               const std::function<void(const std::string& path)>& stray) {
  const std::string root = paths::blobsRoot();
  // The walk is depth first: a blob directory's data comes right after it.
  std::optional<StoredBlob> pending;
  auto flush = [&] {
    if (pending) visit(*pending);
    pending.reset();
  };
  try {
    driver.walk(context, root, [&](const FileInfo& info) {
      if (pending && !info.path.starts_with(pending->directory + "/")) flush();
      std::string relative = info.path.substr(root.size() + 1);
      std::vector<std::string> parts;
      for (std::size_t start = 0;;) {
        std::size_t slash = relative.find('/', start);
        parts.push_back(
            relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
      if (parts.size() < 3) return WalkControl::proceed;
      if (parts.size() == 3) {
        if (!info.isDirectory) return WalkControl::proceed;
        std::string digest = parts[0] + ":" + parts[2];
        if (!isValidDigest(digest) || parts[2].substr(0, 2) != parts[1]) {
          stray(info.path);
          return WalkControl::skipDirectory;
        }
        pending = StoredBlob{digest, info.path, std::nullopt};
        return WalkControl::proceed;
      }
      if (pending && parts.size() == 4 && parts[3] == "data" && !info.isDirectory) pending->data = info;
      return info.isDirectory ? WalkControl::skipDirectory : WalkControl::proceed;
    });
  } catch (const PathNotFoundError&) {
  }
  flush();
}

std::vector<LinkEntry> linkEntries(const Context& context, StorageDriver& driver, const std::string& root) {
  std::vector<LinkEntry> entries;
  for (const auto& algorithmPath : listOrEmpty(context, driver, root)) {
    const std::string algorithm = baseName(algorithmPath);
    for (const auto& directory : listOrEmpty(context, driver, algorithmPath)) {
      context.throwIfDone();
      entries.push_back(LinkEntry{algorithm + ":" + baseName(directory), directory});
    }
  }
  return entries;
}

} // namespace pier
