#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pier/blob_descriptor_cache.hpp>
#include <pier/storage_driver.hpp>

#include "config/Config.hpp"
#include "proxy/UpstreamClient.hpp"
#include "storage/Reference.hpp"
#include "util/KeyedMutex.hpp"

namespace pier {

class Registry;

// One upstream registry of the pull-through cache and the repositories under
// its prefix: what the Repository asks when local storage misses. The prefix
// is stripped: dockerhub/library/alpine is library/alpine upstream. Content
// fetched is stored as if pushed (blob links, manifest revisions, tags), so
// later pulls are local; only tags are asked again, once their ttl is over.
class Upstream {
public:
  Upstream(const Config::Proxy::Upstream& config, KeyedMutex& blobFetches);

  const std::string& prefix() const { return prefix_; }
  const std::string& url() const { return client_.url(); }

  // The blob's descriptor as the upstream has it (HEAD); nothing when it has none.
  std::optional<Descriptor> statBlob(const Context& context, const std::string& repository,
                                     const Digest& digest);
  // A reader of the blob from offset that stores it while it is read (from 0)
  // or after it is stored (offset > 0: fetched in full first); null when the
  // blob got stored meanwhile (another request fetched it): read it locally.
  std::unique_ptr<FileReader> fetchBlob(const Context& context, Registry& registry,
                                        const std::string& repository, const Descriptor& descriptor,
                                        std::int64_t offset);

  // The tag's digest: the stored one within ttl of the upstream's last
  // confirmation (the time of the tag's link), else asked of the upstream
  // (HEAD) and fetched when it changed. When the upstream is unavailable the
  // stored one is served; MANIFEST_UNKNOWN when neither has the tag.
  Digest resolveTag(const Context& context, Registry& registry, const std::string& repository,
                    const std::string& tag);
  // Fetches and stores a manifest by digest; false when the upstream has none.
  bool fetchManifest(const Context& context, Registry& registry, const std::string& repository,
                     const Digest& digest);

private:
  std::string remoteName(const std::string& repository) const { return repository.substr(prefix_.size()); }
  std::string scope(const std::string& repository) const;
  // GET of a manifest by tag or digest, stored (under the tag when given); nothing on 404.
  std::optional<Digest> fetchManifestBy(const Context& context, Registry& registry,
                                        const std::string& repository, const std::string& reference,
                                        const std::optional<std::string>& tag);

  std::string prefix_;
  std::chrono::milliseconds ttl_;
  UpstreamClient client_;
  KeyedMutex& blobFetches_;
};

// The pull-through cache (proxy): the upstreams by repository prefix, the
// longest matching prefix first; a repository no prefix matches is the
// normal registry's (pushes allowed).
class PullThroughCache {
public:
  explicit PullThroughCache(const Config::Proxy& config);

  // The upstream serving the repository, or null.
  Upstream* upstreamFor(const std::string& repository) const;

private:
  KeyedMutex blobFetches_; // one fetch of a blob at a time, across upstreams (blobs are global)
  std::vector<std::unique_ptr<Upstream>> upstreams_;
};

} // namespace pier
