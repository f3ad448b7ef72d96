#pragma once

#include <cstdint>
#include <string>

#include "storage/Reference.hpp"

// The storage layout of the Distribution registry, so that its data is served
// unchanged. Names, tags, digests and upload ids must be validated before they
// reach these functions.
namespace pier::paths {

inline const std::string kRoot = "/docker/registry/v2";

std::string repositoriesRoot();                  // <root>/repositories
std::string repository(const std::string& name); // <root>/repositories/<name>
std::string blobsRoot();                         // <root>/blobs
std::string blobData(const Digest& digest);      // <root>/blobs/<alg>/<hex[0:2]>/<hex>/data
std::string blobDirectory(const Digest& digest); // <root>/blobs/<alg>/<hex[0:2]>/<hex>
// The same for a digest's parts as found in storage, of any algorithm there (sha384 too).
std::string blobDirectory(const std::string& algorithm, const std::string& hex);
std::string layerLink(const std::string& name, const Digest& digest);        // .../_layers/<alg>/<hex>/link
std::string layersRoot(const std::string& name);                             // .../_layers
std::string manifestRevisionsRoot(const std::string& name);                  // .../_manifests/revisions
std::string manifestRevision(const std::string& name, const Digest& digest); // .../revisions/<alg>/<hex>
std::string manifestRevisionLink(const std::string& name,
                                 const Digest& digest);                      // .../revisions/<alg>/<hex>/link
std::string tagsRoot(const std::string& name);                               // .../_manifests/tags
std::string tag(const std::string& name, const std::string& tag);            // .../tags/<tag>
std::string tagCurrentLink(const std::string& name, const std::string& tag); // .../tags/<tag>/current/link
std::string tagIndexEntryLink(const std::string& name, const std::string& tag, const Digest& digest);
std::string uploadsRoot(const std::string& name);                            // .../_uploads
std::string upload(const std::string& name, const std::string& id);          // .../_uploads/<id>
std::string uploadData(const std::string& name, const std::string& id);      // .../_uploads/<id>/data
std::string uploadStartedAt(const std::string& name, const std::string& id); // .../_uploads/<id>/startedat
std::string uploadHashStates(const std::string& name, const std::string& id, const std::string& algorithm);
std::string uploadHashState(const std::string& name, const std::string& id, const std::string& algorithm,
                            std::int64_t offset);

// Pier's own records beside Distribution's layout (which ignores them).
std::string collectionState(); // <root>/pier/gc/state: the current or last garbage collection
std::string collectionRun(const std::string& run); // <root>/pier/gc/runs/<run>: what that run condemned
std::string condemned(const std::string& run, const std::string& digest); // .../runs/<run>/<alg>/<hex>
// The repository index, outside docker/registry/v2: serving a Distribution
// root leaves that tree as it was.
std::string catalogSnapshot();                            // /pier-catalog/index: the repository index
std::string catalogJournal();                             // /pier-catalog/journal: new repositories
std::string catalogJournalEntry(const std::string& name); // .../journal/<sha256 hex of name>

} // namespace pier::paths
