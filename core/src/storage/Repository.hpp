#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/ManifestService.hpp"
#include "storage/UploadService.hpp"

namespace pier {

class EventBridge;
class Registry;
class Upstream;

// One repository as one request sees it (Distribution's Repository): its
// blobs, uploads, manifests, tags and referrers. Handlers get this, never
// the driver or a storage path. Every successful push, pull, mount and
// delete is reported to the request's EventBridge from here, and only here.
// In a repository of the pull-through cache (proxy), what storage misses is
// asked of its Upstream, here and only here.
class Repository {
public:
  // Whether the request may pull another repository (under access control;
  // empty without it): decides where a mount without `from` may come from.
  using PullCheck = std::function<bool(const std::string& repository)>;

  Repository(Registry& registry, const Context& context, std::string name, EventBridge& events,
             PullCheck mayPull = {});

  const std::string& name() const { return name_; }

  // Blobs. statBlob may answer from the cache (reads are sped up by it), or
  // from the upstream: openBlob then streams it from there while storing it.
  std::optional<Descriptor> statBlob(const Digest& digest);
  struct OpenBlob {
    Descriptor descriptor;
    std::unique_ptr<FileReader> reader;
  };
  // The blob's bytes from offset on; BLOB_UNKNOWN when the repository does not
  // link it or storage lost it since a stat (the cache entry is then dropped).
  OpenBlob openBlob(const Descriptor& descriptor, std::int64_t offset);
  // A URL the client may fetch the blob from instead (storage.redirect), if
  // the driver has one; the driver sees the client's method and headers.
  // redirectsEnabled says whether asking can answer, so that the headers
  // are gathered only then.
  using Headers = std::vector<std::pair<std::string, std::string>>;
  bool redirectsEnabled() const;
  std::optional<std::string> blobRedirect(const Descriptor& descriptor, const std::string& method,
                                          const Headers& clientHeaders);
  // Unlinks the blob; UNSUPPORTED when deletes are disabled, BLOB_UNKNOWN when not linked.
  void deleteBlob(const Digest& digest);
  // Links a blob that `from` holds (checked in storage); nothing when it does not.
  std::optional<Descriptor> mountBlob(const Digest& digest, const std::string& from);
  // A mount without `from` (storage.mount.automatic): links the blob when
  // storage holds it and, under access control, only when a repository the
  // requester may pull links it. Nothing when disabled or not found.
  std::optional<Descriptor> mountDiscovered(const Digest& digest);

  // Uploads.
  std::string startUpload();
  std::int64_t uploadSize(const std::string& id);
  std::int64_t appendUpload(const std::string& id, UploadBody body,
                            std::optional<std::int64_t> expectedStart);
  Descriptor finishUpload(const std::string& id, const Digest& digest, UploadBody* lastChunk);
  void cancelUpload(const std::string& id);

  // Manifests, by digest; a tag resolves to one. getManifest reports a pull
  // (tag: what the client asked for, "" by digest).
  std::optional<Descriptor> statManifest(const Digest& digest);
  Digest resolveTag(const std::string& tag);
  ManifestService::Stored getManifest(const Digest& digest, const std::string& tag);
  ManifestService::PutResult putManifest(const std::optional<std::string>& tag,
                                         const std::optional<Digest>& expectedDigest, std::string content,
                                         const std::string& contentType);
  // UNSUPPORTED when deletes are disabled, MANIFEST_UNKNOWN when absent.
  void deleteManifest(const Digest& digest);
  void deleteTag(const std::string& tag);

  // At most `limit` tags after `last`, in lexical order, from one page of the
  // driver's listing; NAME_UNKNOWN when the repository has none.
  TagPage tagPage(const std::string& last, std::size_t limit);
  std::vector<ManifestDescriptor> referrers(const Digest& subject, const std::string& artifactType);

private:
  void requireDeletesEnabled() const;
  Descriptor link(const Descriptor& blob);
  // Links a stored blob so that a garbage collection running meanwhile cannot
  // delete it under the new link (CollectionFence); false when it is not stored.
  bool linkStored(const Descriptor& blob);

  Registry& registry_;
  const Context& context_;
  std::string name_;
  EventBridge& events_;
  PullCheck mayPull_;
  Upstream* upstream_ = nullptr;          // the pull-through cache's, for a proxied repository
  std::vector<std::string> upstreamOnly_; // blobs statBlob found upstream only
};

} // namespace pier
