#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "errcode/ErrorCode.hpp"
#include "storage/Catalog.hpp"
#include "storage/GarbageCollector.hpp"
#include "storage/Manifest.hpp"
#include "util/Json.hpp"

// The mark phase of GarbageCollector: what every repository's kept manifests reference.
namespace pier {

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

std::set<std::string> GarbageCollector::markRepository(const Context& context, const std::string& repository,
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

  std::set<std::string> untagged;
  for (const auto& [digest, refs] : revisions) {
    if (!kept.count(digest)) {
      if (!Digest::parse(digest)) {
        // Pier cannot address it (sha384): keep what it names rather than delete it.
        warn(repository + ": manifest " + digest +
             " is untagged but of an unsupported algorithm; keeping it");
      } else {
        detail(repository + ": manifest eligible for deletion: " + digest);
        untagged.insert(digest);
        continue;
      }
    }
    if (marked.insert(digest).second) detail(repository + ": marking manifest " + digest);
    for (const auto& list : {&refs.blobs, &refs.children})
      for (const auto& blob : *list)
        if (marked.insert(blob).second) detail(repository + ": marking blob " + blob);
  }
  return untagged;
}

GarbageCollector::Mark GarbageCollector::markAll(const Context& context, const Options& options) {
  Mark mark;
  mark.repositories =
      listRepositories(context, driver_, "", std::numeric_limits<std::size_t>::max()).repositories;
  for (const auto& repository : mark.repositories) {
    detail(repository);
    beat(context);
    try {
      auto untagged = markRepository(context, repository, options, mark.marked);
      if (!untagged.empty()) mark.untagged.emplace(repository, std::move(untagged));
    } catch (const std::exception& e) {
      throw std::runtime_error("marking repository " + repository + ": " + e.what());
    }
  }
  return mark;
}

} // namespace pier
