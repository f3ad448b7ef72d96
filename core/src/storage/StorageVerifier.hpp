#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <pier/blob_descriptor_cache.hpp>
#include <pier/storage_driver.hpp>

#include "storage/BlobStore.hpp"
#include "storage/StorageWalk.hpp"

namespace pier {

// `pier verify` (zot's scrub, for Distribution's layout): recomputes the
// digest of every blob, streaming, and checks every repository's links,
// manifests and tags against the blob store; with repair it removes the links
// that point at nothing, and nothing else. See docs/VERIFY.md.
//
// Safe beside serving registries and a running garbage collection: what
// looks dangling is read again before it is reported or removed, and a link
// removed while its blob reappeared (a push of the same bytes) is written back.
class StorageVerifier {
public:
  struct Options {
    bool repair = false;
  };

  // A problem (something corrupt or dangling) or a note (worth knowing, not an error).
  struct Finding {
    std::string kind; // e.g. "corrupt blob", "dangling link"
    std::string path; // the storage path it is about
    std::string repository;
    std::string digest;
    std::string reference; // what a manifest names that is missing
    std::string detail;
    bool problem = true;
    bool repaired = false;
  };

  struct Totals {
    std::size_t blobs = 0;
    std::uint64_t bytesHashed = 0;
    std::size_t repositories = 0;
    std::size_t layerLinks = 0;
    std::size_t manifests = 0;
    std::size_t tags = 0;
    std::size_t uploads = 0;
  };

  struct Report {
    std::vector<Finding> findings;
    Totals totals;
    std::size_t problems() const;
    std::size_t repaired() const;   // problems and notes whose link was removed
    std::size_t unrepaired() const; // problems still there: the exit code's 1
  };

  // cache may be null (repairs clear what they remove from it); progress
  // gets a line now and then, rewritten in place when rewriteLine (a tty).
  StorageVerifier(StorageDriver& driver, BlobDescriptorCache* cache, std::ostream& progress, bool rewriteLine)
      : driver_(driver), blobs_(driver, cache), progress_(progress), rewriteLine_(rewriteLine) {}

  // Throws StorageError (or another std::exception) when storage fails.
  Report run(const Context& context, const Options& options);

private:
  struct Repository; // what one repository links, while it is checked

  void checkBlobs(const Context& context);
  void hashBlob(const Context& context, const StoredBlob& blob);
  void checkRepository(const Context& context, const std::string& name);
  std::optional<std::string> checkLink(const Context& context, const std::string& repository, LinkSpace space,
                                       const LinkEntry& entry);
  void checkManifest(const Context& context, Repository& repository, const std::string& digest);
  void checkTag(const Context& context, Repository& repository, const std::string& tag);
  void checkTagHistory(const Context& context, Repository& repository, const std::string& tag);

  // What a link may name: a blob, or a manifest revision of the repository.
  enum class Target { blob, revision };
  bool blobExists(const Context& context, const std::string& digest);
  bool targetExists(const Context& context, const std::string& repository, Target target,
                    const std::string& digest);
  // Removes a link (its directory; through the blob store for layers and
  // revisions, to clear the cache) if it still names digest and its target is
  // still missing, and writes it back when the target appeared meanwhile;
  // true when it stays removed.
  bool removeLink(const Context& context, const std::string& repository, Target target,
                  std::optional<LinkSpace> space, const std::string& directory, const std::string& link,
                  const std::string& digest);

  void add(Finding finding);
  void note(Finding finding);
  void tick(bool force = false);

  StorageDriver& driver_;
  BlobStore blobs_;
  std::ostream& progress_;
  bool rewriteLine_;
  Options options_;
  Report report_;
  std::set<std::string> stored_;   // blob digests the walk found with data
  std::unique_ptr<char[]> buffer_; // one read buffer for every blob hashed
  std::chrono::steady_clock::time_point lastTick_;
};

// The report as text lines (one per finding, then the totals) and as JSON
// {"problems":[…],"notes":[…],"totals":{…}}.
std::string verifyReportText(const StorageVerifier::Report& report);
std::string verifyReportJson(const StorageVerifier::Report& report);

} // namespace pier
