#include "storage/ManifestService.hpp"

#include <algorithm>
#include <memory>

#include "errcode/ErrorCode.hpp"
#include "storage/Digester.hpp"
#include "storage/Paths.hpp"
#include "storage/StorageWalk.hpp"

namespace pier {

namespace {

constexpr std::size_t kMaxSummaries = 10000;

errcode::Exception manifestUnknown(const std::string& reference) {
  return errcode::Exception(errcode::ManifestUnknown, "", reference);
}

} // namespace

std::optional<Descriptor> ManifestService::stat(const Context& context, const std::string& repository,
                                                const Digest& digest) {
  auto descriptor = blobs_.statLinked(context, repository, LinkSpace::manifests, digest);
  if (!descriptor) return std::nullopt;
  if (descriptor->mediaType == "application/octet-stream" || descriptor->mediaType.empty()) {
    // Known to storage but not yet as a manifest: read it once for its media type.
    std::string content = blobs_.getContent(context, digest);
    descriptor->mediaType = detectManifestMediaType(content);
    descriptor->size = static_cast<std::int64_t>(content.size());
    blobs_.rememberLinked(context, repository, LinkSpace::manifests, *descriptor);
  }
  return descriptor;
}

ManifestService::Stored ManifestService::get(const Context& context, const std::string& repository,
                                             const Digest& digest) {
  auto descriptor = blobs_.statLinked(context, repository, LinkSpace::manifests, digest);
  if (!descriptor) throw manifestUnknown(digest.toString());
  std::string content;
  try {
    content = blobs_.getContent(context, digest);
  } catch (const PathNotFoundError&) {
    blobs_.forgetMissing(context, digest, repository);
    throw manifestUnknown(digest.toString());
  }
  std::string mediaType = descriptor->mediaType;
  if (mediaType == "application/octet-stream" || mediaType.empty()) {
    mediaType = detectManifestMediaType(content);
    blobs_.rememberLinked(
        context, repository, LinkSpace::manifests,
        Descriptor{digest.toString(), static_cast<std::int64_t>(content.size()), mediaType});
  }
  return Stored{digest, std::move(mediaType), std::move(content)};
}

Digest ManifestService::resolveTag(const Context& context, const std::string& repository,
                                   const std::string& tag) {
  std::string link;
  try {
    link = driver_.getContent(context, paths::tagCurrentLink(repository, tag));
  } catch (const PathNotFoundError&) {
    throw manifestUnknown(tag);
  }
  auto digest = Digest::parse(link);
  if (!digest) throw std::runtime_error("tag link of " + repository + ":" + tag + " holds no digest");
  return *digest;
}

void ManifestService::checkReferences(const Context& context, const std::string& repository,
                                      const Manifest& manifest) {
  // Asked of storage, not the cache: a stale entry must not let a manifest
  // name a blob that is gone.
  errcode::Errors missing;
  for (const auto& blob : manifest.blobs) {
    if (blob.foreign) continue;
    if (!blobs_.statLinkedStored(context, repository, LinkSpace::layers, blob.digest))
      missing.add(errcode::Error{errcode::ManifestBlobUnknown, "", blob.digest.toString()});
  }
  for (const auto& child : manifest.manifests) {
    if (!blobs_.statLinkedStored(context, repository, LinkSpace::manifests, child.digest))
      missing.add(errcode::Error{errcode::ManifestBlobUnknown, "manifest unknown to the repository",
                                 child.digest.toString()});
  }
  if (!missing.empty()) throw errcode::Exception(std::move(missing));
}

ManifestService::PutResult ManifestService::put(const Context& context, const std::string& repository,
                                                const std::optional<std::string>& tag,
                                                const std::optional<Digest>& expectedDigest,
                                                std::string content, const std::string& contentType,
                                                bool requireReferences) {
  if (content.size() > kMaxManifestSize)
    throw errcode::Exception(errcode::ManifestInvalid, "manifest is larger than 4 MiB");
  Manifest manifest = parseManifest(content, contentType);

  // The digest is taken over the exact bytes received.
  Digester digester(expectedDigest ? expectedDigest->algorithm() : "sha256");
  digester.update(content);
  Digest digest = digester.digest();
  if (expectedDigest && !(digest == *expectedDigest))
    throw errcode::Exception(errcode::DigestInvalid,
                             "manifest digest is " + digest.toString() + ", not " +
                                 expectedDigest->toString(),
                             expectedDigest->toString());

  // What a garbage collection running meanwhile must not delete under the new links.
  std::vector<std::string> named{digest.toString()};
  for (const auto& blob : manifest.blobs)
    if (!blob.foreign) named.push_back(blob.digest.toString());
  for (const auto& child : manifest.manifests) named.push_back(child.digest.toString());

  std::unique_ptr<KeyedMutex::Guard> tagLock;
  if (tag) tagLock = std::make_unique<KeyedMutex::Guard>(tagLocks_, tagKey(repository, *tag));
  std::optional<Rollback> rollback;
  Descriptor descriptor;
  fence_.writeSettled(context, named, "the manifest was stored", [&] {
    try {
      if (requireReferences) checkReferences(context, repository, manifest);
    } catch (const errcode::Exception&) {
      // A collection swept a reference after the first write: take that write back.
      if (rollback) undo(context, repository, tag, digest, *rollback);
      throw;
    }
    if (!rollback) rollback = rollbackOf(context, repository, tag, digest);
    descriptor = blobs_.putContent(context, digest, content, manifest.mediaType);
    blobs_.link(context, repository, LinkSpace::manifests, descriptor);
    if (tag) {
      driver_.putContent(context, paths::tagIndexEntryLink(repository, *tag, digest), digest.toString());
      driver_.putContent(context, paths::tagCurrentLink(repository, *tag), digest.toString());
    }
    return true;
  });
  Summary summary{manifest.mediaType, descriptor.size, std::nullopt, manifest.artifactType,
                  manifest.annotations};
  if (manifest.subject) summary.subject = manifest.subject->digest;
  rememberSummary(digest, std::move(summary));
  PutResult result{digest, std::nullopt, manifest.mediaType, manifestReferences(manifest)};
  if (manifest.subject) result.subject = manifest.subject->digest;
  return result;
}

ManifestService::Rollback ManifestService::rollbackOf(const Context& context, const std::string& repository,
                                                      const std::optional<std::string>& tag,
                                                      const Digest& digest) {
  Rollback rollback;
  try {
    driver_.stat(context, paths::manifestRevisionLink(repository, digest));
    rollback.hadRevision = true;
  } catch (const PathNotFoundError&) {
  }
  if (tag) {
    try {
      rollback.previousTag = driver_.getContent(context, paths::tagCurrentLink(repository, *tag));
    } catch (const PathNotFoundError&) {
    }
  }
  return rollback;
}

void ManifestService::undo(const Context& context, const std::string& repository,
                           const std::optional<std::string>& tag, const Digest& digest,
                           const Rollback& rollback) {
  if (tag) {
    if (rollback.previousTag)
      driver_.putContent(context, paths::tagCurrentLink(repository, *tag), *rollback.previousTag);
    else
      removeTagLocked(context, repository, *tag);
  }
  if (!rollback.hadRevision) blobs_.unlink(context, repository, LinkSpace::manifests, digest);
}

void ManifestService::remove(const Context& context, const std::string& repository, const Digest& digest) {
  if (!blobs_.statLinked(context, repository, LinkSpace::manifests, digest))
    throw manifestUnknown(digest.toString());
  // Every tag whose current revision is this manifest goes with it.
  std::vector<std::string> tagNames;
  try {
    tagNames = tags(context, repository);
  } catch (const errcode::Exception&) {
  }
  for (const auto& tagName : tagNames) {
    auto lock = tagLocks_.lock(tagKey(repository, tagName));
    try {
      if (resolveTag(context, repository, tagName) == digest)
        driver_.remove(context, paths::tag(repository, tagName));
    } catch (const errcode::Exception&) {
    } catch (const PathNotFoundError&) {
    }
  }
  blobs_.unlink(context, repository, LinkSpace::manifests, digest);
}

std::string ManifestService::tagKey(const std::string& repository, const std::string& tag) {
  return repository + ":" + tag; // ':' is in no repository name
}

void ManifestService::removeTag(const Context& context, const std::string& repository,
                                const std::string& tag) {
  auto lock = tagLocks_.lock(tagKey(repository, tag));
  removeTagLocked(context, repository, tag);
}

void ManifestService::removeTagLocked(const Context& context, const std::string& repository,
                                      const std::string& tag) {
  try {
    driver_.stat(context, paths::tagCurrentLink(repository, tag));
    driver_.remove(context, paths::tag(repository, tag));
  } catch (const PathNotFoundError&) {
    throw manifestUnknown(tag);
  }
}

std::vector<std::string> ManifestService::tags(const Context& context, const std::string& repository) {
  std::vector<std::string> children;
  try {
    children = driver_.list(context, paths::tagsRoot(repository));
  } catch (const PathNotFoundError&) {
    throw errcode::Exception(errcode::NameUnknown, "", repository);
  }
  std::vector<std::string> names;
  names.reserve(children.size());
  for (const auto& child : children) names.push_back(child.substr(child.rfind('/') + 1));
  std::sort(names.begin(), names.end());
  return names;
}

TagPage ManifestService::tagPage(const Context& context, const std::string& repository,
                                 const std::string& last, std::size_t limit) {
  const std::string root = paths::tagsRoot(repository);
  ListPage page;
  try {
    // At least one, so that an unknown repository is NAME_UNKNOWN even for n=0.
    page = driver_.listPage(context, root, last.empty() ? "" : root + "/" + last,
                            std::max<std::size_t>(limit, 1));
  } catch (const PathNotFoundError&) {
    throw errcode::Exception(errcode::NameUnknown, "", repository);
  }
  TagPage tags;
  if (limit == 0) return tags;
  for (const auto& child : page.paths) tags.tags.push_back(child.substr(child.rfind('/') + 1));
  tags.more = page.truncated;
  return tags;
}

std::vector<std::string> ManifestService::revisions(const Context& context, const std::string& repository,
                                                    std::vector<std::string>* malformed) {
  std::vector<std::string> digests;
  for (const auto& entry : linkEntries(context, driver_, paths::manifestRevisionsRoot(repository))) {
    if (!isValidDigest(entry.digest)) {
      if (malformed) malformed->push_back(entry.directory);
      continue;
    }
    if (statOrNone(context, driver_, entry.link())) digests.push_back(entry.digest);
  }
  return digests;
}

std::string ManifestService::revisionContent(const Context& context, const std::string& repository,
                                             const std::string& digest) {
  if (auto parsed = Digest::parse(digest)) return get(context, repository, *parsed).content;
  try {
    return driver_.getContent(context, blobDataOf(digest));
  } catch (const PathNotFoundError&) {
    throw manifestUnknown(digest);
  }
}

void ManifestService::rememberSummary(const Digest& digest, Summary summary) {
  std::lock_guard lock(summariesMutex_);
  std::string key = digest.toString();
  auto found = summaries_.find(key);
  if (found != summaries_.end()) {
    summaryOrder_.erase(found->second);
    summaries_.erase(found);
  }
  summaryOrder_.emplace_front(key, std::move(summary));
  summaries_[key] = summaryOrder_.begin();
  if (summaryOrder_.size() > kMaxSummaries) {
    summaries_.erase(summaryOrder_.back().first);
    summaryOrder_.pop_back();
  }
}

std::optional<ManifestService::Summary>
ManifestService::summary(const Context& context, const std::string& repository, const Digest& digest) {
  {
    std::lock_guard lock(summariesMutex_);
    auto found = summaries_.find(digest.toString());
    if (found != summaries_.end()) return found->second->second;
  }
  std::string content;
  try {
    content = get(context, repository, digest).content;
  } catch (const errcode::Exception&) {
    return std::nullopt;
  }
  Summary result;
  result.size = static_cast<std::int64_t>(content.size());
  try {
    Manifest manifest = parseManifest(content, "");
    result.mediaType = manifest.mediaType;
    result.artifactType = manifest.artifactType;
    result.annotations = manifest.annotations;
    if (manifest.subject) result.subject = manifest.subject->digest;
  } catch (const errcode::Exception&) {
    // Stored bytes that do not parse (e.g. schema1 written by another registry) refer to nothing.
    result.mediaType = detectManifestMediaType(content);
  }
  rememberSummary(digest, result);
  return result;
}

std::vector<ManifestDescriptor> ManifestService::referrers(const Context& context,
                                                           const std::string& repository,
                                                           const Digest& subject,
                                                           const std::string& artifactType) {
  std::vector<ManifestDescriptor> result;
  for (const std::string algorithm : {"sha256", "sha512"}) {
    std::vector<std::string> revisions;
    try {
      revisions = driver_.list(context, paths::manifestRevisionsRoot(repository) + "/" + algorithm);
    } catch (const PathNotFoundError&) {
      continue;
    }
    for (const auto& revision : revisions) {
      context.throwIfDone();
      auto digest = Digest::parse(algorithm + ":" + revision.substr(revision.rfind('/') + 1));
      if (!digest) continue;
      auto found = summary(context, repository, *digest);
      if (!found || !found->subject || !(*found->subject == subject)) continue;
      if (!artifactType.empty() && found->artifactType != artifactType) continue;
      result.push_back(ManifestDescriptor{*digest, found->size, found->mediaType, false, found->artifactType,
                                          found->annotations});
    }
  }
  return result;
}

} // namespace pier
