#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <pier/blob_descriptor_cache.hpp>
#include <pier/storage_driver.hpp>

#include "storage/BlobStore.hpp"
#include "storage/CollectionFence.hpp"
#include "storage/ManifestService.hpp"
#include "storage/Reference.hpp"

namespace pier {

// Removes blobs no manifest references (Distribution's registry
// garbage-collect), safely while registries serve the same storage.
//
// Mark: every manifest revision of every repository is kept or, with
// deleteUntagged, only those a tag points at, the children of kept indexes and
// the referrers (subject) of kept manifests, transitively; the others lose
// their revision link. A kept manifest marks its own blob, its config and
// layers (not foreign ones) and its child manifests.
// Sweep: a blob in storage that is not marked and was last written before the
// grace period is a candidate. The candidates are condemned in storage
// (CollectionFence), the phase becomes sweeping, and a second mark runs: what
// it marks is rescued; the rest is deleted, with the layer links that point at
// it, and cleared from the blob descriptor cache. Writers that name a condemned
// blob wait for the sweep and check again (CollectionFence::settled).
// A dry run marks once, condemns nothing and only reports.
class GarbageCollector {
public:
  struct Options {
    bool dryRun = false;
    bool deleteUntagged = false;
    // Blobs (and untagged manifests) written more recently are never deleted:
    // a push uploads its layers before the manifest that references them.
    std::chrono::seconds grace{0};
    std::string owner; // who collects, named in the state other processes see
  };

  struct Summary {
    std::size_t repositories = 0;
    std::size_t blobsMarked = 0;       // blobs (manifests included) some kept manifest needs
    std::size_t blobsEligible = 0;     // deleted (or in a dry run: would be)
    std::uint64_t bytesEligible = 0;   // their sizes
    std::size_t blobsYoung = 0;        // not marked, but inside the grace period
    std::size_t blobsRescued = 0;      // condemned, then marked by the second mark
    std::size_t manifestsEligible = 0; // revisions (repository, digest) to delete (deleteUntagged)
    std::size_t layerLinksEligible = 0;
    std::size_t warnings = 0;
  };

  // cache may be null; progress goes to out, warnings to warnings.
  GarbageCollector(StorageDriver& driver, BlobDescriptorCache* cache, std::ostream& out,
                   std::ostream& warnings)
      : driver_(driver), cache_(cache), out_(out), warnings_(warnings), uncached_(driver, nullptr),
        manifests_(uncached_), fence_(driver) {}

  // Throws StorageError (or another std::exception) when storage fails, and
  // std::runtime_error when another collection is running; what was deleted
  // until then stays deleted, and a new run picks up the rest.
  Summary run(const Context& context, const Options& options);

private:
  struct ManifestRefs;
  using Untagged = std::map<std::string, std::set<std::string>>; // repository -> manifest digests
  struct Mark {
    std::vector<std::string> repositories;
    std::set<std::string> marked;
    Untagged untagged;
  };
  struct Candidate {
    std::string digest;
    std::uint64_t size = 0;
  };

  Mark markAll(const Context& context, const Options& options);
  std::set<std::string> markRepository(const Context& context, const std::string& repository,
                                       const Options& options, std::set<std::string>& marked);
  std::vector<Candidate> sweepBlobs(const Context& context, const std::set<std::string>& marked,
                                    std::chrono::system_clock::time_point writtenBefore, Summary& summary);
  void deleteManifests(const Context& context, const std::string& repository,
                       const std::set<std::string>& digests);
  std::size_t removeLayerLinks(const Context& context, const std::string& repository,
                               const std::set<std::string>& marked, const std::set<std::string>& deleting,
                               bool dryRun);
  void deleteBlobs(const Context& context, const std::vector<Candidate>& blobs,
                   std::chrono::system_clock::time_point writtenBefore, Summary& summary);

  // The shared state (CollectionFence): taking it, refreshing the heartbeat
  // (and checking the run is still this one), and giving it back.
  void begin(const Context& context, const Options& options);
  void setPhase(const Context& context, CollectionState::Phase phase);
  void beat(const Context& context, bool force = false);
  void end(const Context& context) noexcept;

  std::vector<std::string> tagsOrNone(const Context& context, const std::string& repository);

  void progress(const std::string& line);
  void detail(const std::string& line); // a per-blob line, only in the first mark
  void warn(const std::string& line);
  void report(const Summary& summary, const Options& options);

  StorageDriver& driver_;
  BlobDescriptorCache* cache_;
  std::ostream& out_;
  std::ostream& warnings_;
  std::size_t warningCount_ = 0;
  bool quiet_ = false;
  // Manifests and tags are read past the cache: an entry there must not keep
  // (or drop) what storage holds.
  BlobStore uncached_;
  ManifestService manifests_;
  CollectionFence fence_;
  std::optional<CollectionState> state_; // ours, while a collection (not a dry run) runs
  std::chrono::steady_clock::time_point lastBeat_;
};

} // namespace pier
