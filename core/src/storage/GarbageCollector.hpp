#pragma once

#include <cstddef>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <pier/blob_descriptor_cache.hpp>
#include <pier/storage_driver.hpp>

#include "storage/BlobStore.hpp"
#include "storage/ManifestService.hpp"
#include "storage/Reference.hpp"

namespace pier {

// Removes blobs no manifest references (Distribution's registry
// garbage-collect): stop-the-world, run while no server writes to the storage
// (stopped, or in read-only mode).
//
// Mark: every manifest revision of every repository is kept or, with
// deleteUntagged, only those a tag points at, the children of kept indexes and
// the referrers (subject) of kept manifests, transitively; the others lose
// their revision link. A kept manifest marks its own blob, its config and
// layers (not foreign ones) and its child manifests.
// Sweep: every blob in storage that is not marked is deleted, with the layer
// links that point at it, and cleared from the blob descriptor cache.
// A dry run only reports what would be deleted.
class GarbageCollector {
public:
  struct Options {
    bool dryRun = false;
    bool deleteUntagged = false;
  };

  struct Summary {
    std::size_t repositories = 0;
    std::size_t blobsMarked = 0;       // blobs (manifests included) some kept manifest needs
    std::size_t blobsEligible = 0;     // blobs in storage that are not marked
    std::size_t manifestsEligible = 0; // revisions (repository, digest) to delete (deleteUntagged)
    std::size_t layerLinksEligible = 0;
    std::size_t warnings = 0;
  };

  // cache may be null; progress goes to out, warnings to warnings.
  GarbageCollector(StorageDriver& driver, BlobDescriptorCache* cache, std::ostream& out,
                   std::ostream& warnings)
      : driver_(driver), cache_(cache), out_(out), warnings_(warnings), uncached_(driver, nullptr),
        manifests_(uncached_) {}

  // Throws StorageError (or another std::exception) when storage fails; what
  // was deleted until then stays deleted, and a new run picks up the rest.
  Summary run(const Context& context, const Options& options);

private:
  struct ManifestRefs;
  struct RepositoryResult {
    std::vector<Digest> deleteManifests;
  };

  RepositoryResult markRepository(const Context& context, const std::string& repository,
                                  const Options& options, std::set<std::string>& marked);
  void deleteManifests(const Context& context, const std::string& repository,
                       const std::vector<Digest>& digests);
  std::vector<std::string> sweepBlobs(const Context& context, const std::set<std::string>& marked);
  std::size_t removeLayerLinks(const Context& context, const std::string& repository,
                               const std::set<std::string>& marked, const Options& options);

  std::vector<std::string> tagsOrNone(const Context& context, const std::string& repository);

  void progress(const std::string& line);
  void warn(const std::string& line);

  StorageDriver& driver_;
  BlobDescriptorCache* cache_;
  std::ostream& out_;
  std::ostream& warnings_;
  std::size_t warningCount_ = 0;
  // Manifests and tags are read past the cache: an entry there must not keep
  // (or drop) what storage holds.
  BlobStore uncached_;
  ManifestService manifests_;
};

} // namespace pier
