#include "storage/Repository.hpp"

#include <algorithm>

#include "errcode/ErrorCode.hpp"
#include "events/EventBridge.hpp"
#include "proxy/PullThroughCache.hpp"
#include "storage/CollectionFence.hpp"
#include "storage/Paths.hpp"
#include "storage/Registry.hpp"

namespace pier {

namespace {

// How many repositories a mount without `from` looks through for one the
// requester may pull: the search walks storage, so it is bounded.
constexpr std::size_t kMaxDiscoveryRepositories = 10000;
constexpr std::size_t kDiscoveryPage = 500;

errcode::Exception blobUnknown(const Digest& digest) {
  return errcode::Exception(errcode::BlobUnknown, "", digest.toString());
}

} // namespace

Repository::Repository(Registry& registry, const Context& context, std::string name, EventBridge& events,
                       PullCheck mayPull)
    : registry_(registry), context_(context), name_(std::move(name)), events_(events),
      mayPull_(std::move(mayPull)) {
  if (const PullThroughCache* cache = registry_.pullThrough()) upstream_ = cache->upstreamFor(name_);
}

void Repository::requireDeletesEnabled() const {
  if (!registry_.options().deletesEnabled)
    throw errcode::Exception(errcode::Unsupported, "deletes are disabled (storage.delete.enabled)");
}

std::optional<Descriptor> Repository::statBlob(const Digest& digest) {
  auto local = registry_.blobs().statLinked(context_, name_, LinkSpace::layers, digest);
  if (local || !upstream_) return local;
  auto remote = upstream_->statBlob(context_, name_, digest);
  if (remote) upstreamOnly_.push_back(remote->digest);
  return remote;
}

Repository::OpenBlob Repository::openBlob(const Descriptor& descriptor, std::int64_t offset) {
  auto digest = *Digest::parse(descriptor.digest);
  if (std::ranges::find(upstreamOnly_, descriptor.digest) != upstreamOnly_.end()) {
    if (auto fetching = upstream_->fetchBlob(context_, registry_, name_, descriptor, offset)) {
      events_.blobPulled(name_, descriptor);
      return OpenBlob{descriptor, std::move(fetching)};
    }
    // Stored meanwhile (by another request, or in full for a range): linked here and read from storage.
    if (!linkStored(descriptor)) throw blobUnknown(digest);
  }
  std::unique_ptr<FileReader> reader;
  try {
    reader = registry_.blobs().reader(context_, digest, offset);
  } catch (const PathNotFoundError&) {
    // Gone since the stat (deleted, or the cache was stale): say so, and stop believing the cache.
    registry_.blobs().forgetMissing(context_, digest, name_);
    throw blobUnknown(digest);
  }
  events_.blobPulled(name_, descriptor);
  return OpenBlob{descriptor, std::move(reader)};
}

bool Repository::redirectsEnabled() const {
  return !registry_.options().redirectsDisabled;
}

std::optional<std::string> Repository::blobRedirect(const Descriptor& descriptor, const std::string& method,
                                                    const Headers& clientHeaders) {
  if (!redirectsEnabled() || std::ranges::find(upstreamOnly_, descriptor.digest) != upstreamOnly_.end())
    return std::nullopt;
  RedirectRequest request{method, paths::blobData(*Digest::parse(descriptor.digest)),
                          registry_.options().redirectExpiry, clientHeaders};
  auto url = registry_.driver().redirectURL(context_, request);
  if (url) events_.blobPulled(name_, descriptor);
  return url;
}

void Repository::deleteBlob(const Digest& digest) {
  requireDeletesEnabled();
  if (!registry_.blobs().unlink(context_, name_, LinkSpace::layers, digest)) throw blobUnknown(digest);
  events_.blobDeleted(name_, digest.toString());
}

Descriptor Repository::link(const Descriptor& blob) {
  registry_.blobs().link(context_, name_, LinkSpace::layers, blob);
  return blob;
}

bool Repository::linkStored(const Descriptor& blob) {
  auto digest = *Digest::parse(blob.digest);
  CollectionFence fence(registry_.driver());
  return fence.writeSettled(context_, {blob.digest}, "the blob was mounted", [&] {
    if (!registry_.blobs().statStored(context_, digest)) {
      registry_.blobs().unlink(context_, name_, LinkSpace::layers, digest);
      return false;
    }
    link(blob);
    return true;
  });
}

std::optional<Descriptor> Repository::mountBlob(const Digest& digest, const std::string& from) {
  // Storage, not the cache: a stale entry would link a blob that is gone.
  auto descriptor = registry_.blobs().statLinkedStored(context_, from, LinkSpace::layers, digest);
  if (!descriptor || !linkStored(*descriptor)) return std::nullopt;
  events_.blobMounted(name_, *descriptor, from);
  return descriptor;
}

std::optional<Descriptor> Repository::mountDiscovered(const Digest& digest) {
  if (!registry_.options().automaticMount) return std::nullopt;
  auto stored = registry_.blobs().statStored(context_, digest);
  if (!stored) return std::nullopt;
  if (!mayPull_) {
    if (!linkStored(*stored)) return std::nullopt;
    events_.blobMounted(name_, *stored, "");
    return stored;
  }
  // Under access control the blob must come from a repository the requester
  // may pull: otherwise a digest would tell whether another tenant has it.
  std::string last;
  std::size_t visited = 0;
  while (visited < kMaxDiscoveryRepositories) {
    CatalogPage page = registry_.catalog(context_, last, kDiscoveryPage);
    for (const auto& repository : page.repositories) {
      context_.throwIfDone();
      if (++visited > kMaxDiscoveryRepositories) break;
      if (!registry_.blobs().statLinkedStored(context_, repository, LinkSpace::layers, digest)) continue;
      if (!mayPull_(repository)) continue;
      if (repository != name_ && !linkStored(*stored)) return std::nullopt;
      events_.blobMounted(name_, *stored, repository);
      return stored;
    }
    if (!page.more || page.repositories.empty()) break;
    last = page.repositories.back();
  }
  return std::nullopt;
}

std::string Repository::startUpload() {
  return registry_.uploads().start(context_, name_);
}

std::int64_t Repository::uploadSize(const std::string& id) {
  return registry_.uploads().size(context_, name_, id);
}

std::int64_t Repository::appendUpload(const std::string& id, UploadBody body,
                                      std::optional<std::int64_t> expectedStart) {
  return registry_.uploads().append(context_, name_, id, body, expectedStart);
}

Descriptor Repository::finishUpload(const std::string& id, const Digest& digest, UploadBody* lastChunk) {
  Descriptor descriptor = registry_.uploads().finish(context_, name_, id, digest, lastChunk);
  events_.blobPushed(name_, descriptor);
  return descriptor;
}

void Repository::cancelUpload(const std::string& id) {
  registry_.uploads().cancel(context_, name_, id);
}

std::optional<Descriptor> Repository::statManifest(const Digest& digest) {
  auto stored = registry_.manifests().stat(context_, name_, digest);
  if (!stored && upstream_ && upstream_->fetchManifest(context_, registry_, name_, digest))
    stored = registry_.manifests().stat(context_, name_, digest);
  return stored;
}

Digest Repository::resolveTag(const std::string& tag) {
  if (upstream_) return upstream_->resolveTag(context_, registry_, name_, tag);
  return registry_.manifests().resolveTag(context_, name_, tag);
}

ManifestService::Stored Repository::getManifest(const Digest& digest, const std::string& tag) {
  if (upstream_) statManifest(digest); // fetched when missing
  auto stored = registry_.manifests().get(context_, name_, digest);
  std::vector<Descriptor> references;
  if (events_.wantsReferences()) {
    try {
      references = manifestReferences(parseManifest(stored.content, ""));
    } catch (const errcode::Exception&) {
      // Stored bytes that do not parse (schema1 written by another registry): no references to name.
    }
  }
  events_.manifestPulled(
      name_,
      Descriptor{digest.toString(), static_cast<std::int64_t>(stored.content.size()), stored.mediaType}, tag,
      references);
  return stored;
}

ManifestService::PutResult Repository::putManifest(const std::optional<std::string>& tag,
                                                   const std::optional<Digest>& expectedDigest,
                                                   std::string content, const std::string& contentType) {
  const auto size = static_cast<std::int64_t>(content.size());
  auto result =
      registry_.manifests().put(context_, name_, tag, expectedDigest, std::move(content), contentType);
  events_.manifestPushed(name_, Descriptor{result.digest.toString(), size, result.mediaType},
                         tag.value_or(""), result.references);
  return result;
}

void Repository::deleteManifest(const Digest& digest) {
  requireDeletesEnabled();
  registry_.manifests().remove(context_, name_, digest);
  events_.manifestDeleted(name_, digest.toString());
}

void Repository::deleteTag(const std::string& tag) {
  requireDeletesEnabled();
  registry_.manifests().removeTag(context_, name_, tag);
  events_.tagDeleted(name_, tag);
}

TagPage Repository::tagPage(const std::string& last, std::size_t limit) {
  return registry_.manifests().tagPage(context_, name_, last, limit);
}

std::vector<ManifestDescriptor> Repository::referrers(const Digest& subject,
                                                      const std::string& artifactType) {
  return registry_.manifests().referrers(context_, name_, subject, artifactType);
}

} // namespace pier
