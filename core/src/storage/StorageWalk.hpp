#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pier/storage_driver.hpp>

// Walks of Distribution's layout that the garbage collector, the manifest
// service and the verifier share: the blob store's directories and the link
// directories of a repository, with the lookups they need.
namespace pier {

std::string baseName(const std::string& path); // after the last '/'
// The children of a directory; none when it does not exist.
std::vector<std::string> listOrEmpty(const Context& context, StorageDriver& driver, const std::string& path);
std::optional<FileInfo> statOrNone(const Context& context, StorageDriver& driver, const std::string& path);

// Of a digest as found in storage ("<alg>:<hex>", sha384 too).
std::string blobDirectoryOf(const std::string& digest);
std::string blobDataOf(const std::string& digest);

// A blob directory, blobs/<alg>/<hex[0:2]>/<hex>, and its data file if it has one.
struct StoredBlob {
  std::string digest; // "<alg>:<hex>" from the path
  std::string directory;
  std::optional<FileInfo> data;
};

// Visits every blob directory in storage order. What is no blob directory
// (another name, hex under the wrong prefix) is not entered: it goes to stray.
void walkBlobs(const Context& context, StorageDriver& driver,
               const std::function<void(const StoredBlob&)>& visit,
               const std::function<void(const std::string& path)>& stray);

// A directory <root>/<alg>/<hex> of a link space (_layers, _manifests/revisions, a tag's index).
struct LinkEntry {
  std::string digest; // "<alg>:<hex>" from the path: check it with isValidDigest
  std::string directory;
  std::string link() const { return directory + "/link"; }
};
std::vector<LinkEntry> linkEntries(const Context& context, StorageDriver& driver, const std::string& root);

} // namespace pier
