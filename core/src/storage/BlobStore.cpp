#include "storage/BlobStore.hpp"

#include "metrics/Metrics.hpp"
#include "storage/Paths.hpp"
#include "storage/RepositoryIndex.hpp"

namespace pier {

namespace {
const std::string kOctetStream = "application/octet-stream";
}

std::string linkPath(const std::string& repository, LinkSpace space, const Digest& digest) {
  return space == LinkSpace::layers ? paths::layerLink(repository, digest)
                                    : paths::manifestRevisionLink(repository, digest);
}

namespace {

// The cache is an optimisation: whatever it throws, storage answers. An
// outage is the plugin's to report (once); other failures are worth a warning.
void cacheFailed(const Context& context, const std::exception& error) {
  bool outage = dynamic_cast<const CacheUnavailableError*>(&error) != nullptr;
  context.log(outage ? LogLevel::debug : LogLevel::warn,
              std::string("blob descriptor cache: ") + error.what());
}

} // namespace

std::shared_ptr<BlobDescriptorService> BlobStore::scope(const Context& context, const std::string& repository,
                                                        LinkSpace space) {
  if (!cache_) return nullptr;
  try {
    // Manifests get a scope of their own: "_" cannot start a name component,
    // so "<name>/_manifests" is never a repository.
    return cache_->repositoryScoped(space == LinkSpace::layers ? repository : repository + "/_manifests");
  } catch (const std::exception& e) {
    cacheFailed(context, e);
    return nullptr;
  }
}

std::optional<Descriptor> BlobStore::cached(const Context& context, BlobDescriptorService* service,
                                            const Digest& digest) {
  if (!service) return std::nullopt;
  try {
    auto known = service->stat(context, digest.toString());
    if (metrics_) metrics_->cacheLookedUp(known ? CacheLookup::hit : CacheLookup::miss);
    return known;
  } catch (const std::exception& e) {
    if (metrics_) metrics_->cacheLookedUp(CacheLookup::error);
    cacheFailed(context, e);
    return std::nullopt;
  }
}

void BlobStore::store(const Context& context, BlobDescriptorService* service, const Descriptor& descriptor) {
  if (!service) return;
  try {
    service->setDescriptor(context, descriptor.digest, descriptor);
  } catch (const std::exception& e) {
    cacheFailed(context, e);
  }
}

void BlobStore::forget(const Context& context, BlobDescriptorService* service, const Digest& digest) {
  if (!service) return;
  try {
    service->clear(context, digest.toString());
  } catch (const std::exception& e) {
    cacheFailed(context, e);
  }
}

std::optional<Descriptor> BlobStore::stat(const Context& context, const Digest& digest) {
  if (auto hit = cached(context, cache_, digest)) return hit;
  return statStored(context, digest);
}

std::optional<Descriptor> BlobStore::statStored(const Context& context, const Digest& digest) {
  FileInfo info;
  try {
    info = driver_.stat(context, paths::blobData(digest));
  } catch (const PathNotFoundError&) {
    forget(context, cache_, digest);
    return std::nullopt;
  }
  if (info.isDirectory) {
    forget(context, cache_, digest);
    return std::nullopt;
  }
  Descriptor descriptor{digest.toString(), info.size, kOctetStream};
  store(context, cache_, descriptor);
  return descriptor;
}

std::string BlobStore::getContent(const Context& context, const Digest& digest) {
  return driver_.getContent(context, paths::blobData(digest));
}

std::unique_ptr<FileReader> BlobStore::reader(const Context& context, const Digest& digest,
                                              std::int64_t offset) {
  return driver_.reader(context, paths::blobData(digest), offset);
}

Descriptor BlobStore::putContent(const Context& context, const Digest& digest, std::string_view content,
                                 const std::string& mediaType) {
  Descriptor descriptor{digest.toString(), static_cast<std::int64_t>(content.size()), mediaType};
  if (!statStored(context, digest)) driver_.putContent(context, paths::blobData(digest), content);
  store(context, cache_, Descriptor{descriptor.digest, descriptor.size, kOctetStream});
  return descriptor;
}

void BlobStore::forgetMissing(const Context& context, const Digest& digest, const std::string& repository) {
  forget(context, cache_, digest);
  for (LinkSpace space : {LinkSpace::layers, LinkSpace::manifests})
    forget(context, scope(context, repository, space).get(), digest);
}

void BlobStore::remember(const Context& context, const Descriptor& descriptor) {
  store(context, cache_, descriptor);
}

std::optional<Descriptor> BlobStore::statLinked(const Context& context, const std::string& repository,
                                                LinkSpace space, const Digest& digest) {
  auto service = scope(context, repository, space);
  if (auto hit = cached(context, service.get(), digest)) return hit;
  std::string target;
  try {
    target = driver_.getContent(context, linkPath(repository, space, digest));
  } catch (const PathNotFoundError&) {
    return std::nullopt;
  }
  // A link names the blob it points at; one that names another is not this blob's.
  auto linked = Digest::parse(target);
  if (!linked || !(*linked == digest)) return std::nullopt;
  auto descriptor = stat(context, digest);
  if (descriptor) store(context, service.get(), *descriptor);
  return descriptor;
}

std::optional<Descriptor> BlobStore::statLinkedStored(const Context& context, const std::string& repository,
                                                      LinkSpace space, const Digest& digest) {
  auto service = scope(context, repository, space);
  std::string target;
  try {
    target = driver_.getContent(context, linkPath(repository, space, digest));
  } catch (const PathNotFoundError&) {
    forget(context, service.get(), digest);
    return std::nullopt;
  }
  auto linked = Digest::parse(target);
  auto descriptor = linked && *linked == digest ? statStored(context, digest) : std::nullopt;
  if (!descriptor) {
    forget(context, service.get(), digest);
    return std::nullopt;
  }
  // A manifest's scope keeps its media type: refresh only what storage told.
  if (auto known = cached(context, service.get(), digest); known && known->size == descriptor->size)
    return known;
  store(context, service.get(), *descriptor);
  return descriptor;
}

void BlobStore::link(const Context& context, const std::string& repository, LinkSpace space,
                     const Descriptor& descriptor) {
  auto digest = Digest::parse(descriptor.digest);
  if (!digest) throw std::invalid_argument("invalid digest " + descriptor.digest);
  driver_.putContent(context, linkPath(repository, space, *digest), descriptor.digest);
  store(context, scope(context, repository, space).get(), descriptor);
  if (index_ && space == LinkSpace::layers) index_->linked(context, repository);
}

bool BlobStore::unlink(const Context& context, const std::string& repository, LinkSpace space,
                       const Digest& digest) {
  auto service = scope(context, repository, space);
  forget(context, service.get(), digest);
  std::string link = linkPath(repository, space, digest);
  bool removed = true;
  try {
    // The link's directory (<alg>/<hex>) goes with it.
    driver_.remove(context, link.substr(0, link.size() - std::string("/link").size()));
  } catch (const PathNotFoundError&) {
    removed = false;
  }
  // Again after the removal: a concurrent stat may have cached the link meanwhile.
  forget(context, service.get(), digest);
  if (removed && index_ && space == LinkSpace::layers) index_->unlinked(context, repository);
  return removed;
}

void BlobStore::rememberLinked(const Context& context, const std::string& repository, LinkSpace space,
                               const Descriptor& descriptor) {
  store(context, scope(context, repository, space).get(), descriptor);
}

} // namespace pier
