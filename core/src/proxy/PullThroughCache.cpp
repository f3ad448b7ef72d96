#include "proxy/PullThroughCache.hpp"

#include "proxy/CachingBlobReader.hpp"
#include "storage/Manifest.hpp"
#include "storage/Paths.hpp"
#include "storage/Registry.hpp"

namespace pier {

namespace {

// How long a request waits for another that fetches the same blob before it fetches it too.
constexpr auto kFetchWait = std::chrono::seconds(10);
constexpr std::size_t kDrainChunk = 1 << 20;

const std::vector<std::pair<std::string, std::string>>& manifestAccept() {
  static const std::vector<std::pair<std::string, std::string>> accept{
      {"Accept", std::string(mediatype::kOciIndex) + ", " + std::string(mediatype::kOciManifest) + ", " +
                     std::string(mediatype::kDockerManifestList) + ", " +
                     std::string(mediatype::kDockerManifest)}};
  return accept;
}

} // namespace

Upstream::Upstream(const Config::Proxy::Upstream& config, KeyedMutex& blobFetches)
    : prefix_(config.prefix), ttl_(config.ttl),
      client_({config.remoteUrl, config.username, config.password, config.caFile}),
      blobFetches_(blobFetches) {}

std::string Upstream::scope(const std::string& repository) const {
  return "repository:" + remoteName(repository) + ":pull";
}

namespace {

UpstreamUnavailable unexpected(const std::string& url, const UpstreamResponse& response,
                               const std::string& what) {
  return UpstreamUnavailable(url + " answered " + std::to_string(response.status) + " for " + what);
}

} // namespace

std::optional<Descriptor> Upstream::statBlob(const Context& context, const std::string& repository,
                                             const Digest& digest) {
  const std::string path = "/v2/" + remoteName(repository) + "/blobs/" + digest.toString();
  UpstreamResponse response = client_.send(context, "HEAD", path, scope(repository));
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) throw unexpected(url(), response, path);
  auto length = response.contentLength();
  if (!length) throw UpstreamUnavailable(url() + " gave no length for " + path);
  return Descriptor{digest.toString(), *length, "application/octet-stream"};
}

std::unique_ptr<FileReader> Upstream::fetchBlob(const Context& context, Registry& registry,
                                                const std::string& repository, const Descriptor& descriptor,
                                                std::int64_t offset) {
  const Digest digest = *Digest::parse(descriptor.digest);
  // Another request fetching it: wait a while for it to store the blob. If
  // it takes longer, fetch it too; storing a blob twice is harmless.
  auto lock = blobFetches_.tryLockFor(descriptor.digest, kFetchWait);
  if (registry.blobs().statStored(context, digest)) return nullptr;
  const std::string path = "/v2/" + remoteName(repository) + "/blobs/" + digest.toString();
  UpstreamResponse response = client_.send(context, "GET", path, scope(repository));
  if (response.status == 404) throw errcode::Exception(errcode::BlobUnknown, "", digest.toString());
  if (response.status != 200) throw unexpected(url(), response, path);
  if (auto length = response.contentLength(); length && *length != descriptor.size)
    throw UpstreamUnavailable(url() + " sent " + std::to_string(*length) + " bytes for " + path + ", not " +
                              std::to_string(descriptor.size));
  auto reader = std::make_unique<CachingBlobReader>(context, registry, repository, descriptor,
                                                    std::move(response), std::move(lock));
  if (offset == 0) return reader;
  // A range from the middle: the whole blob is stored first, then read from there.
  std::unique_ptr<char[]> buffer(new char[kDrainChunk]);
  while (reader->read(buffer.get(), kDrainChunk) > 0) context.throwIfDone();
  return nullptr;
}

std::optional<Digest> Upstream::fetchManifestBy(const Context& context, Registry& registry,
                                                const std::string& repository, const std::string& reference,
                                                const std::optional<std::string>& tag) {
  const std::string path = "/v2/" + remoteName(repository) + "/manifests/" + reference;
  UpstreamResponse response = client_.send(context, "GET", path, scope(repository), manifestAccept());
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) throw unexpected(url(), response, path);
  std::string content(kMaxManifestSize + 1, '\0');
  response.body->read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<std::size_t>(response.body->gcount()));
  if (content.size() > kMaxManifestSize) throw UpstreamUnavailable(path + " is larger than 4 MiB");
  // By digest: the bytes must have it; by tag: the digest the upstream names, when it names one.
  std::optional<Digest> expected = Digest::parse(reference);
  if (!expected) expected = Digest::parse(response.header("Docker-Content-Digest"));
  try {
    // Its blobs and children are fetched when they are pulled.
    return registry.manifests()
        .put(context, repository, tag, expected, std::move(content), response.head.getContentType(), false)
        .digest;
  } catch (const errcode::Exception& e) {
    throw UpstreamUnavailable(url() + path + " cannot be stored: " + e.what());
  }
}

bool Upstream::fetchManifest(const Context& context, Registry& registry, const std::string& repository,
                             const Digest& digest) {
  return fetchManifestBy(context, registry, repository, digest.toString(), std::nullopt).has_value();
}

Digest Upstream::resolveTag(const Context& context, Registry& registry, const std::string& repository,
                            const std::string& tag) {
  std::optional<Digest> stored;
  bool fresh = false;
  const std::string link = paths::tagCurrentLink(repository, tag);
  try {
    // The link's time is when the upstream last confirmed the tag (it is rewritten then).
    FileInfo info = registry.driver().stat(context, link);
    stored = registry.manifests().resolveTag(context, repository, tag);
    fresh = std::chrono::system_clock::now() - info.modTime < ttl_;
  } catch (const PathNotFoundError&) {
  } catch (const errcode::Exception&) {
  }
  if (stored && fresh) return *stored;
  try {
    if (stored) {
      const std::string path = "/v2/" + remoteName(repository) + "/manifests/" + tag;
      UpstreamResponse head = client_.send(context, "HEAD", path, scope(repository), manifestAccept());
      if (head.status == 404) throw errcode::Exception(errcode::ManifestUnknown, "", tag);
      if (head.status != 200) throw unexpected(url(), head, path);
      if (Digest::parse(head.header("Docker-Content-Digest")) == stored) {
        registry.driver().putContent(context, link, stored->toString());
        return *stored;
      }
    }
    auto fetched = fetchManifestBy(context, registry, repository, tag, tag);
    if (!fetched) throw errcode::Exception(errcode::ManifestUnknown, "", tag);
    return *fetched;
  } catch (const UpstreamUnavailable& e) {
    if (!stored) throw;
    context.log(LogLevel::warn,
                "serving the cached tag " + repository + ":" + tag + " past its ttl: " + e.what());
    return *stored;
  }
}

PullThroughCache::PullThroughCache(const Config::Proxy& config) {
  for (const auto& upstream : config.upstreams)
    upstreams_.push_back(std::make_unique<Upstream>(upstream, blobFetches_));
}

Upstream* PullThroughCache::upstreamFor(const std::string& repository) const {
  for (const auto& upstream : upstreams_) {
    const std::string& prefix = upstream->prefix();
    // The remote name must not be empty: "dockerhub/" alone is no repository upstream.
    if (repository.size() > prefix.size() && repository.starts_with(prefix)) return upstream.get();
  }
  return nullptr;
}

} // namespace pier
