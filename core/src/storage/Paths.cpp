#include "storage/Paths.hpp"

#include "storage/Digester.hpp"

namespace pier::paths {

std::string repositoriesRoot() {
  return kRoot + "/repositories";
}
std::string repository(const std::string& name) {
  return repositoriesRoot() + "/" + name;
}
std::string blobsRoot() {
  return kRoot + "/blobs";
}

std::string blobDirectory(const std::string& algorithm, const std::string& hex) {
  return blobsRoot() + "/" + algorithm + "/" + hex.substr(0, 2) + "/" + hex;
}
std::string blobDirectory(const Digest& digest) {
  return blobDirectory(digest.algorithm(), digest.hex());
}
std::string blobData(const Digest& digest) {
  return blobDirectory(digest) + "/data";
}

std::string layersRoot(const std::string& name) {
  return repository(name) + "/_layers";
}
std::string layerLink(const std::string& name, const Digest& digest) {
  return layersRoot(name) + "/" + digest.algorithm() + "/" + digest.hex() + "/link";
}

std::string manifestRevisionsRoot(const std::string& name) {
  return repository(name) + "/_manifests/revisions";
}
std::string manifestRevision(const std::string& name, const Digest& digest) {
  return manifestRevisionsRoot(name) + "/" + digest.algorithm() + "/" + digest.hex();
}
std::string manifestRevisionLink(const std::string& name, const Digest& digest) {
  return manifestRevision(name, digest) + "/link";
}

std::string tagsRoot(const std::string& name) {
  return repository(name) + "/_manifests/tags";
}
std::string tag(const std::string& name, const std::string& tagName) {
  return tagsRoot(name) + "/" + tagName;
}
std::string tagCurrentLink(const std::string& name, const std::string& tagName) {
  return tag(name, tagName) + "/current/link";
}
std::string tagIndexEntryLink(const std::string& name, const std::string& tagName, const Digest& digest) {
  return tag(name, tagName) + "/index/" + digest.algorithm() + "/" + digest.hex() + "/link";
}

std::string uploadsRoot(const std::string& name) {
  return repository(name) + "/_uploads";
}
std::string upload(const std::string& name, const std::string& id) {
  return uploadsRoot(name) + "/" + id;
}
std::string uploadData(const std::string& name, const std::string& id) {
  return upload(name, id) + "/data";
}
std::string uploadStartedAt(const std::string& name, const std::string& id) {
  return upload(name, id) + "/startedat";
}
std::string uploadHashStates(const std::string& name, const std::string& id, const std::string& algorithm) {
  return upload(name, id) + "/hashstates/" + algorithm;
}
std::string uploadHashState(const std::string& name, const std::string& id, const std::string& algorithm,
                            std::int64_t offset) {
  return uploadHashStates(name, id, algorithm) + "/" + std::to_string(offset);
}

std::string collectionState() {
  return kRoot + "/pier/gc/state";
}
std::string collectionRun(const std::string& run) {
  return kRoot + "/pier/gc/runs/" + run;
}
std::string condemned(const std::string& run, const std::string& digest) {
  std::size_t colon = digest.find(':');
  return collectionRun(run) + "/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1);
}
std::string catalogSnapshot() {
  return "/pier-catalog/index";
}
std::string catalogJournal() {
  return "/pier-catalog/journal";
}
// Hashed: a name has '/' and may be 255 characters, too long for one file name.
std::string catalogJournalEntry(const std::string& name) {
  return catalogJournal() + "/" + sha256Of(name).hex();
}

} // namespace pier::paths
