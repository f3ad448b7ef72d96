#pragma once

#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/BlobStore.hpp"
#include "storage/CollectionFence.hpp"
#include "storage/Manifest.hpp"
#include "storage/Reference.hpp"
#include "util/KeyedMutex.hpp"

namespace pier {

// One page of a repository's tags.
struct TagPage {
  std::vector<std::string> tags; // in lexical order
  bool more = false;             // tags follow the last one (never set for an empty page)
};

// Manifests and tags of repositories (Distribution's manifestStore and
// tagStore): manifests are blobs linked under _manifests/revisions, tags are
// links under _manifests/tags/<tag>/current with an index of every revision
// the tag pointed at.
class ManifestService {
public:
  explicit ManifestService(BlobStore& blobs) : blobs_(blobs), driver_(blobs.driver()), fence_(driver_) {}

  struct Stored {
    Digest digest;
    std::string mediaType;
    std::string content;
  };

  // The manifest's descriptor (digest, size, media type) when the repository has it.
  std::optional<Descriptor> stat(const Context& context, const std::string& repository, const Digest& digest);
  // MANIFEST_UNKNOWN when the repository does not have it.
  Stored get(const Context& context, const std::string& repository, const Digest& digest);
  // The digest a tag points at; MANIFEST_UNKNOWN when there is no such tag.
  Digest resolveTag(const Context& context, const std::string& repository, const std::string& tag);

  struct PutResult {
    Digest digest;
    std::optional<Digest> subject;
    std::string mediaType;
    std::vector<Descriptor> references; // manifestReferences of what was stored
  };
  // Validates and stores a manifest and, when tag is given, points the tag at
  // it. expectedDigest (a PUT by digest) must match the bytes. Referenced
  // blobs and child manifests must be in the repository, unless
  // requireReferences is false (a pull-through cache fetches them on demand).
  PutResult put(const Context& context, const std::string& repository, const std::optional<std::string>& tag,
                const std::optional<Digest>& expectedDigest, std::string content,
                const std::string& contentType, bool requireReferences = true);

  // Removes the revision and every tag that points at it; MANIFEST_UNKNOWN when absent.
  void remove(const Context& context, const std::string& repository, const Digest& digest);
  // Removes one tag; MANIFEST_UNKNOWN when absent.
  void removeTag(const Context& context, const std::string& repository, const std::string& tag);

  // Tags in lexical order; NAME_UNKNOWN when the repository has none at all.
  std::vector<std::string> tags(const Context& context, const std::string& repository);
  // At most `limit` of them that sort after `last` ("" for the first page),
  // read as one page of the driver's listing (StorageDriver::listPage).
  TagPage tagPage(const Context& context, const std::string& repository, const std::string& last,
                  std::size_t limit);

  // Every revision of the repository whose link exists, as "<algorithm>:<hex>"
  // in storage order, of algorithms Pier cannot address (sha384) too; none
  // when it has no manifests. Entries that are no digest go to `malformed`
  // (their storage paths) when it is given.
  std::vector<std::string> revisions(const Context& context, const std::string& repository,
                                     std::vector<std::string>* malformed = nullptr);
  // The bytes of a revision revisions() listed: get() for a supported
  // digest, else the blob as stored. MANIFEST_UNKNOWN when its blob is missing.
  std::string revisionContent(const Context& context, const std::string& repository,
                              const std::string& digest);

  // Manifests in the repository whose subject is digest, optionally only those of one artifact type.
  std::vector<ManifestDescriptor> referrers(const Context& context, const std::string& repository,
                                            const Digest& subject, const std::string& artifactType);

private:
  struct Summary {
    std::string mediaType;
    std::int64_t size = 0;
    std::optional<Digest> subject;
    std::string artifactType;
    Poco::JSON::Object::Ptr annotations;
  };
  // Manifests are immutable by digest: what referrers need of one is kept here once read.
  std::optional<Summary> summary(const Context& context, const std::string& repository, const Digest& digest);
  void rememberSummary(const Digest& digest, Summary summary);

  void checkReferences(const Context& context, const std::string& repository, const Manifest& manifest);

  // What a put changed, to take it back when a collection swept what it names.
  struct Rollback {
    bool hadRevision = false;
    std::optional<std::string> previousTag; // the tag's current link before
  };
  Rollback rollbackOf(const Context& context, const std::string& repository,
                      const std::optional<std::string>& tag, const Digest& digest);
  void undo(const Context& context, const std::string& repository, const std::optional<std::string>& tag,
            const Digest& digest, const Rollback& rollback);
  // removeTag with the tag's lock held by the caller.
  void removeTagLocked(const Context& context, const std::string& repository, const std::string& tag);
  static std::string tagKey(const std::string& repository, const std::string& tag);

  BlobStore& blobs_;
  StorageDriver& driver_;
  CollectionFence fence_;
  // One tag's writes and removals one at a time (in this process): a PUT's
  // current and index links never interleave with a DELETE of the tag's directory.
  KeyedMutex tagLocks_;

  std::mutex summariesMutex_;
  std::list<std::pair<std::string, Summary>> summaryOrder_;
  std::unordered_map<std::string, std::list<std::pair<std::string, Summary>>::iterator> summaries_;
};

} // namespace pier
