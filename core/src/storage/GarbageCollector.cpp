#include "storage/GarbageCollector.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "errcode/ErrorCode.hpp"
#include "storage/BlobStore.hpp"
#include "storage/Catalog.hpp"
#include "storage/Manifest.hpp"
#include "storage/Paths.hpp"
#include "util/Json.hpp"

namespace pier {

namespace {

constexpr std::size_t kSweepProgressEvery = 10000;

std::string baseName(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// The children of a directory; none when it does not exist.
std::vector<std::string> listOrEmpty(const Context& context, StorageDriver& driver, const std::string& path) {
  try {
    return driver.list(context, path);
  } catch (const PathNotFoundError&) {
    return {};
  }
}

bool exists(const Context& context, StorageDriver& driver, const std::string& path) {
  try {
    driver.stat(context, path);
    return true;
  } catch (const PathNotFoundError&) {
    return false;
  }
}

} // namespace

// What one stored manifest refers to.
struct GarbageCollector::ManifestRefs {
  std::vector<std::string> blobs;    // config and layers in the registry
  std::vector<std::string> children; // child manifests (indexes)
  std::optional<std::string> subject;
};

namespace {

// The digest member of a JSON descriptor object, when it is a valid digest.
std::optional<std::string> descriptorDigest(const Poco::Dynamic::Var& value, const std::string& key) {
  if (!json::isObject(value)) return std::nullopt;
  auto object = value.extract<Poco::JSON::Object::Ptr>();
  if (!object || !object->has(key) || !object->get(key).isString()) return std::nullopt;
  std::string digest = object->getValue<std::string>(key);
  if (!isValidDigest(digest)) return std::nullopt;
  return digest;
}

// For stored bytes parseManifest refuses (schema1, or what another registry
// accepted): every digest the document names where manifests name what they
// reference, so that nothing it may need is swept. False when it is not JSON.
bool lenientReferences(const std::string& content, std::vector<std::string>& blobs,
                       std::vector<std::string>& children, std::optional<std::string>& subject) {
  Poco::JSON::Object::Ptr root;
  try {
    Poco::JSON::Parser parser;
    auto parsed = parser.parse(content);
    if (!json::isObject(parsed)) return false;
    root = parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    return false;
  }
  if (!root) return false;
  auto eachOf = [&](const std::string& arrayKey, const std::string& digestKey,
                    std::vector<std::string>& into) {
    auto array = root->getArray(arrayKey);
    if (!array) return;
    for (std::size_t i = 0; i < array->size(); ++i)
      if (auto digest = descriptorDigest(array->get(i), digestKey)) into.push_back(*digest);
  };
  if (root->has("config"))
    if (auto digest = descriptorDigest(root->get("config"), "digest")) blobs.push_back(*digest);
  eachOf("layers", "digest", blobs);
  eachOf("blobs", "digest", blobs);     // the draft OCI artifact manifest
  eachOf("fsLayers", "blobSum", blobs); // schema1
  eachOf("manifests", "digest", children);
  if (root->has("subject")) subject = descriptorDigest(root->get("subject"), "digest");
  return true;
}

} // namespace

std::vector<std::string> GarbageCollector::tagsOrNone(const Context& context, const std::string& repository) {
  try {
    return manifests_.tags(context, repository);
  } catch (const errcode::Exception&) { // NAME_UNKNOWN: no tags at all
    return {};
  }
}

void GarbageCollector::progress(const std::string& line) {
  out_ << line << '\n' << std::flush;
}

void GarbageCollector::warn(const std::string& line) {
  ++warningCount_;
  out_ << std::flush;
  warnings_ << "warning: " << line << '\n' << std::flush;
}

GarbageCollector::RepositoryResult GarbageCollector::markRepository(const Context& context,
                                                                    const std::string& repository,
                                                                    const Options& options,
                                                                    std::set<std::string>& marked) {
  // Every revision whose link exists, with what it refers to.
  std::map<std::string, ManifestRefs> revisions;
  std::vector<std::string> malformed;
  for (const std::string& digest : manifests_.revisions(context, repository, &malformed)) {
    context.throwIfDone();
    ManifestRefs refs;
    std::string content;
    try {
      content = manifests_.revisionContent(context, repository, digest);
    } catch (const errcode::Exception&) {
      warn(repository + ": manifest " + digest + " is linked but its blob is missing");
      revisions.emplace(digest, std::move(refs));
      continue;
    }
    try {
      Manifest manifest = parseManifest(content, "");
      for (const auto& blob : manifest.blobs)
        if (!blob.foreign) refs.blobs.push_back(blob.digest.toString());
      for (const auto& child : manifest.manifests) refs.children.push_back(child.digest.toString());
      if (manifest.subject) refs.subject = manifest.subject->digest.toString();
    } catch (const errcode::Exception& e) {
      refs = ManifestRefs{};
      bool json = lenientReferences(content, refs.blobs, refs.children, refs.subject);
      warn(repository + ": manifest " + digest + " cannot be parsed (" + e.what() + "); keeping it" +
           (json
                ? " and the " + std::to_string(refs.blobs.size() + refs.children.size()) + " digests it names"
                : ""));
    }
    revisions.emplace(digest, std::move(refs));
  }
  for (const auto& path : malformed) warn(repository + ": skipping " + path + ": not a manifest revision");

  // What stays: every revision, or with deleteUntagged what a tag, a kept
  // index or a kept subject holds on to.
  std::set<std::string> kept;
  if (!options.deleteUntagged) {
    for (const auto& [digest, refs] : revisions) kept.insert(digest);
  } else {
    std::map<std::string, std::vector<std::string>> referrers; // subject -> manifests naming it
    for (const auto& [digest, refs] : revisions)
      if (refs.subject) referrers[*refs.subject].push_back(digest);
    std::deque<std::string> pending;
    auto keep = [&](const std::string& digest) {
      if (revisions.count(digest) && kept.insert(digest).second) pending.push_back(digest);
    };
    for (const auto& tag : tagsOrNone(context, repository)) {
      try {
        keep(manifests_.resolveTag(context, repository, tag).toString());
      } catch (const errcode::Exception&) { // a tag directory without a current link
      } catch (const Error&) {              // storage failed, or the run was cancelled
        throw;
      } catch (const std::runtime_error&) { // the link holds no digest
        warn(repository + ": tag " + tag + " holds no digest");
      }
    }
    while (!pending.empty()) {
      context.throwIfDone();
      std::string digest = pending.front();
      pending.pop_front();
      for (const auto& child : revisions.at(digest).children) keep(child);
      auto found = referrers.find(digest);
      if (found != referrers.end())
        for (const auto& referrer : found->second) keep(referrer);
    }
  }

  RepositoryResult result;
  for (const auto& [digest, refs] : revisions) {
    if (!kept.count(digest)) {
      auto parsed = Digest::parse(digest);
      if (!parsed) {
        // Pier cannot address it (sha384): keep what it names rather than delete it.
        warn(repository + ": manifest " + digest +
             " is untagged but of an unsupported algorithm; keeping it");
      } else {
        progress(repository + ": manifest eligible for deletion: " + digest);
        result.deleteManifests.push_back(*parsed);
        continue;
      }
    }
    if (marked.insert(digest).second) progress(repository + ": marking manifest " + digest);
    for (const auto& list : {&refs.blobs, &refs.children})
      for (const auto& blob : *list)
        if (marked.insert(blob).second) progress(repository + ": marking blob " + blob);
  }
  return result;
}

void GarbageCollector::deleteManifests(const Context& context, const std::string& repository,
                                       const std::vector<Digest>& digests) {
  if (digests.empty()) return;
  BlobStore blobs(driver_, cache_);
  std::vector<std::string> tags = tagsOrNone(context, repository);
  for (const auto& digest : digests) {
    context.throwIfDone();
    // As a DELETE by digest: the revision link goes (and its cache entry);
    // no tag points at the manifest, but tag histories may still name it.
    blobs.unlink(context, repository, LinkSpace::manifests, digest);
    for (const auto& tag : tags) {
      std::string entry = paths::tagIndexEntryLink(repository, tag, digest);
      try {
        driver_.remove(context, entry.substr(0, entry.size() - std::string("/link").size()));
      } catch (const PathNotFoundError&) {
      }
    }
  }
}

std::size_t GarbageCollector::removeLayerLinks(const Context& context, const std::string& repository,
                                               const std::set<std::string>& marked, const Options& options) {
  std::size_t count = 0;
  std::optional<BlobStore> blobs;
  for (const auto& algorithmPath : listOrEmpty(context, driver_, paths::layersRoot(repository))) {
    const std::string algorithm = baseName(algorithmPath);
    for (const auto& linkPath : listOrEmpty(context, driver_, algorithmPath)) {
      context.throwIfDone();
      const std::string digest = algorithm + ":" + baseName(linkPath);
      if (!isValidDigest(digest) || marked.count(digest)) continue;
      if (!exists(context, driver_, linkPath + "/link")) continue;
      ++count;
      progress(repository + ": layer link eligible for deletion: " + digest);
      if (options.dryRun) continue;
      auto parsed = Digest::parse(digest);
      if (parsed) {
        if (!blobs) blobs.emplace(driver_, cache_);
        blobs->unlink(context, repository, LinkSpace::layers, *parsed);
      } else {
        try {
          driver_.remove(context, linkPath);
        } catch (const PathNotFoundError&) {
        }
      }
    }
  }
  return count;
}

// Every blob in storage (a data file under blobs/<alg>/<xx>/<hex>) that is not marked.
std::vector<std::string> GarbageCollector::sweepBlobs(const Context& context,
                                                      const std::set<std::string>& marked) {
  const std::string root = paths::blobsRoot();
  std::vector<std::string> eligible;
  std::size_t seen = 0;
  try {
    driver_.walk(context, root, [&](const FileInfo& info) {
      std::string relative = info.path.substr(root.size() + 1);
      std::vector<std::string> parts;
      for (std::size_t start = 0;;) {
        std::size_t slash = relative.find('/', start);
        parts.push_back(
            relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
      if (parts.size() < 4) {
        if (!info.isDirectory) return WalkControl::proceed;
        if (parts.size() == 3 &&
            (!isValidDigest(parts[0] + ":" + parts[2]) || parts[2].substr(0, 2) != parts[1])) {
          warn("skipping " + info.path + ": not a blob directory");
          return WalkControl::skipDirectory;
        }
        return WalkControl::proceed;
      }
      if (parts.size() == 4 && parts[3] == "data" && !info.isDirectory) {
        std::string digest = parts[0] + ":" + parts[2];
        if (!marked.count(digest)) eligible.push_back(digest);
        if (++seen % kSweepProgressEvery == 0)
          progress("swept " + std::to_string(seen) + " blobs, " + std::to_string(eligible.size()) +
                   " not marked");
      }
      return info.isDirectory ? WalkControl::skipDirectory : WalkControl::proceed;
    });
  } catch (const PathNotFoundError&) {
  }
  progress("swept " + std::to_string(seen) + " blobs, " + std::to_string(eligible.size()) + " not marked");
  return eligible;
}

GarbageCollector::Summary GarbageCollector::run(const Context& context, const Options& options) {
  Summary summary;
  warningCount_ = 0;
  std::set<std::string> marked;

  // Mark.
  std::vector<std::string> repositories =
      listRepositories(context, driver_, "", std::numeric_limits<std::size_t>::max()).repositories;
  summary.repositories = repositories.size();
  std::vector<std::pair<std::string, std::vector<Digest>>> untagged;
  for (const auto& repository : repositories) {
    progress(repository);
    RepositoryResult result;
    try {
      result = markRepository(context, repository, options, marked);
    } catch (const std::exception& e) {
      throw std::runtime_error("marking repository " + repository + ": " + e.what());
    }
    summary.manifestsEligible += result.deleteManifests.size();
    if (!result.deleteManifests.empty()) untagged.emplace_back(repository, std::move(result.deleteManifests));
  }
  summary.blobsMarked = marked.size();
  progress("marked " + std::to_string(marked.size()) + " blobs in " + std::to_string(repositories.size()) +
           " repositories");

  // Links before blobs: a run that stops half way leaves unreferenced blobs
  // for the next run, never links to blobs that are gone.
  for (const auto& [repository, digests] : untagged) {
    if (options.dryRun) break;
    try {
      deleteManifests(context, repository, digests);
    } catch (const std::exception& e) {
      throw std::runtime_error("deleting manifests of " + repository + ": " + e.what());
    }
  }
  for (const auto& repository : repositories) {
    try {
      summary.layerLinksEligible += removeLayerLinks(context, repository, marked, options);
    } catch (const std::exception& e) {
      throw std::runtime_error("deleting layer links of " + repository + ": " + e.what());
    }
  }

  progress("sweeping blobs");
  std::vector<std::string> eligible;
  try {
    eligible = sweepBlobs(context, marked);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("sweeping blobs: ") + e.what());
  }
  summary.blobsEligible = eligible.size();

  std::size_t cacheFailures = 0;
  for (const auto& digest : eligible) {
    context.throwIfDone();
    progress("blob eligible for deletion: " + digest);
    if (options.dryRun) continue;
    try {
      std::size_t colon = digest.find(':');
      driver_.remove(context, paths::blobDirectory(digest.substr(0, colon), digest.substr(colon + 1)));
    } catch (const PathNotFoundError&) {
    } catch (const std::exception& e) {
      throw std::runtime_error("deleting blob " + digest + ": " + e.what());
    }
    if (!cache_) continue;
    try {
      cache_->clear(context, digest);
    } catch (const std::exception& e) {
      if (cacheFailures++ == 0) warn("blob descriptor cache: cannot clear " + digest + ": " + e.what());
    }
  }
  if (cacheFailures > 1)
    warn("blob descriptor cache: " + std::to_string(cacheFailures - 1) +
         " more digests could not be cleared");

  summary.warnings = warningCount_;
  progress("");
  progress(std::to_string(summary.blobsMarked) + " blobs marked, " + std::to_string(summary.blobsEligible) +
           " blobs eligible for deletion, " + std::to_string(summary.manifestsEligible) +
           " manifests eligible for deletion, " + std::to_string(summary.layerLinksEligible) +
           " layer links eligible for deletion");
  if (options.dryRun)
    progress("dry run: nothing was deleted");
  else
    progress("deleted " + std::to_string(summary.blobsEligible) + " blobs, " +
             std::to_string(summary.manifestsEligible) + " manifests, " +
             std::to_string(summary.layerLinksEligible) + " layer links");
  if (summary.warnings > 0) progress(std::to_string(summary.warnings) + " warnings");
  return summary;
}

} // namespace pier
