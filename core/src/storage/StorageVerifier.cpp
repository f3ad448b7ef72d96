#include "storage/StorageVerifier.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include "errcode/ErrorCode.hpp"
#include "storage/Catalog.hpp"
#include "storage/CollectionFence.hpp"
#include "storage/Digester.hpp"
#include "storage/Manifest.hpp"
#include "storage/Paths.hpp"

namespace pier {

namespace {

constexpr std::size_t kReadBufferSize = 1 << 20;
constexpr auto kTtyTick = std::chrono::milliseconds(200);
constexpr auto kLineTick = std::chrono::seconds(10);
// A blob directory without data, or a tag without a current link, this young
// is a write in progress: the filesystem driver writes a blob's temporary file
// in its directory, and a tag's history entry just before its current link.
constexpr auto kWriteInFlight = std::chrono::minutes(1);

bool writtenRecently(const std::optional<FileInfo>& info) {
  return info && std::chrono::system_clock::now() - info->modTime < kWriteInFlight;
}

std::optional<std::string> contentOrNone(const Context& context, StorageDriver& driver,
                                         const std::string& path) {
  try {
    return driver.getContent(context, path);
  } catch (const PathNotFoundError&) {
    return std::nullopt;
  }
}

// Link content as it may be quoted in a report: short, printable.
std::string quoted(const std::string& content) {
  std::string text = content.substr(0, 80);
  for (char& c : text)
    if (c < 0x20 || c > 0x7e) c = '?';
  return "\"" + text + (content.size() > 80 ? "...\"" : "\"");
}

std::string revisionLinkOf(const std::string& repository, const std::string& digest) {
  std::size_t colon = digest.find(':');
  return paths::manifestRevisionsRoot(repository) + "/" + digest.substr(0, colon) + "/" +
         digest.substr(colon + 1) + "/link";
}

} // namespace

// What one repository links to something that exists.
struct StorageVerifier::Repository {
  std::string name;
  std::set<std::string> layers;
  std::set<std::string> revisions;
};

std::size_t StorageVerifier::Report::problems() const {
  return std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.problem; });
}

std::size_t StorageVerifier::Report::repaired() const {
  return std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.repaired; });
}

std::size_t StorageVerifier::Report::unrepaired() const {
  return std::count_if(findings.begin(), findings.end(),
                       [](const Finding& f) { return f.problem && !f.repaired; });
}

void StorageVerifier::add(Finding finding) {
  finding.problem = true;
  report_.findings.push_back(std::move(finding));
}

void StorageVerifier::note(Finding finding) {
  finding.problem = false;
  report_.findings.push_back(std::move(finding));
}

void StorageVerifier::tick(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - lastTick_ < (rewriteLine_ ? std::chrono::nanoseconds(kTtyTick) : kLineTick)) return;
  lastTick_ = now;
  const Totals& totals = report_.totals;
  std::string line = "verify: " + std::to_string(totals.blobs) + " blobs (" +
                     std::to_string(totals.bytesHashed >> 20) + " MiB hashed), " +
                     std::to_string(totals.repositories) + " repositories, " +
                     std::to_string(report_.problems()) + " problems";
  if (rewriteLine_)
    progress_ << '\r' << line << std::flush;
  else
    progress_ << line << '\n' << std::flush;
}

StorageVerifier::Report StorageVerifier::run(const Context& context, const Options& options) {
  options_ = options;
  report_ = Report{};
  stored_.clear();
  if (!buffer_) buffer_ = std::make_unique<char[]>(kReadBufferSize);
  lastTick_ = std::chrono::steady_clock::now();

  if (auto state = CollectionFence(driver_).read(context);
      state && state->live(std::chrono::system_clock::now()))
    note({"collection running", paths::collectionState(), "", "", "",
          "garbage collection " + state->run + " (" + state->owner +
              ") is running: what it removes meanwhile is read again and not reported"});

  checkBlobs(context);
  for (const auto& name :
       listRepositories(context, driver_, "", std::numeric_limits<std::size_t>::max()).repositories) {
    checkRepository(context, name);
    ++report_.totals.repositories;
    tick();
  }
  tick(true);
  if (rewriteLine_) progress_ << '\n' << std::flush;
  return report_;
}

void StorageVerifier::checkBlobs(const Context& context) {
  walkBlobs(
      context, driver_,
      [&](const StoredBlob& blob) {
        context.throwIfDone();
        if (!blob.data) {
          StoredBlob again = blob;
          again.data = statOrNone(context, driver_, blob.directory + "/data");
          if (!again.data && !writtenRecently(statOrNone(context, driver_, blob.directory)))
            add({"missing blob data", blob.directory, "", blob.digest, "",
                 "the blob directory has no data file"});
          if (again.data && !again.data->isDirectory) hashBlob(context, again);
          return;
        }
        hashBlob(context, blob);
        tick();
      },
      [&](const std::string& path) {
        note({"stray path", path, "", "", "", "not a blob directory; ignored"});
      });
}

void StorageVerifier::hashBlob(const Context& context, const StoredBlob& blob) {
  auto expected = Digest::parse(blob.digest);
  if (!expected) { // sha384: Pier serves it as stored, but has no hasher for it
    stored_.insert(blob.digest);
    ++report_.totals.blobs;
    note({"unsupported algorithm", blob.data->path, "", blob.digest, "",
          "not hashed (Pier hashes sha256 and sha512)"});
    return;
  }
  Digester digester(expected->algorithm());
  std::uint64_t size = 0;
  try {
    auto reader = driver_.reader(context, blob.data->path, 0);
    while (std::size_t count = reader->read(buffer_.get(), kReadBufferSize)) {
      context.throwIfDone();
      digester.update(buffer_.get(), count);
      size += count;
      report_.totals.bytesHashed += count;
      tick();
    }
  } catch (const PathNotFoundError&) {
    return; // deleted since the walk (by a garbage collection)
  }
  stored_.insert(blob.digest);
  ++report_.totals.blobs;
  Digest actual = digester.digest();
  if (!(actual == *expected))
    add({"corrupt blob", blob.data->path, "", blob.digest, "",
         "its " + std::to_string(size) + " bytes hash to " + actual.toString()});
}

bool StorageVerifier::blobExists(const Context& context, const std::string& digest) {
  if (stored_.count(digest)) return true;
  auto info = statOrNone(context, driver_, blobDataOf(digest)); // written since the walk
  return info && !info->isDirectory;
}

bool StorageVerifier::targetExists(const Context& context, const std::string& repository, Target target,
                                   const std::string& digest) {
  if (target == Target::blob) return blobExists(context, digest);
  return contentOrNone(context, driver_, revisionLinkOf(repository, digest)) == digest &&
         blobExists(context, digest);
}

bool StorageVerifier::removeLink(const Context& context, const std::string& repository, Target target,
                                 std::optional<LinkSpace> space, const std::string& directory,
                                 const std::string& link, const std::string& digest) {
  auto dangling = [&] {
    return contentOrNone(context, driver_, link) == digest &&
           !targetExists(context, repository, target, digest);
  };
  if (!dangling()) return false;
  auto parsed = Digest::parse(digest);
  if (space && parsed) {
    blobs_.unlink(context, repository, *space, *parsed);
  } else {
    try {
      driver_.remove(context, directory);
    } catch (const PathNotFoundError&) {
    }
  }
  // Pushed again between the check and the removal: its link stands.
  if (targetExists(context, repository, target, digest)) {
    driver_.putContent(context, link, digest);
    return false;
  }
  return true;
}

std::optional<std::string> StorageVerifier::checkLink(const Context& context, const std::string& repository,
                                                      LinkSpace space, const LinkEntry& entry) {
  if (!isValidDigest(entry.digest)) {
    add({"malformed link", entry.directory, repository, "", "", "the directory's name is not a digest"});
    return std::nullopt;
  }
  auto content = contentOrNone(context, driver_, entry.link());
  if (!content) return std::nullopt; // a directory without a link is no link to readers
  ++(space == LinkSpace::layers ? report_.totals.layerLinks : report_.totals.manifests);
  if (*content != entry.digest) {
    add({"malformed link", entry.link(), repository, entry.digest, "",
         looksLikeDigest(*content) ? "names " + *content + ", not the digest of its directory"
                                   : "holds " + quoted(*content) + ", not a digest"});
    return std::nullopt;
  }
  if (blobExists(context, entry.digest)) return entry.digest;
  Finding finding{"dangling link",
                  entry.link(),
                  repository,
                  entry.digest,
                  "",
                  std::string(space == LinkSpace::layers ? "layer" : "manifest revision") +
                      " link to a blob that is not in the blob store"};
  if (contentOrNone(context, driver_, entry.link()) != entry.digest) return std::nullopt; // removed meanwhile
  if (options_.repair)
    finding.repaired =
        removeLink(context, repository, Target::blob, space, entry.directory, entry.link(), entry.digest);
  add(std::move(finding));
  return std::nullopt;
}

void StorageVerifier::checkRepository(const Context& context, const std::string& name) {
  Repository repository{name, {}, {}};
  for (const auto& entry : linkEntries(context, driver_, paths::layersRoot(name))) {
    if (auto digest = checkLink(context, name, LinkSpace::layers, entry)) repository.layers.insert(*digest);
    tick();
  }
  for (const auto& entry : linkEntries(context, driver_, paths::manifestRevisionsRoot(name)))
    if (auto digest = checkLink(context, name, LinkSpace::manifests, entry))
      repository.revisions.insert(*digest);
  for (const auto& digest : repository.revisions) {
    checkManifest(context, repository, digest);
    tick();
  }
  for (const auto& path : listOrEmpty(context, driver_, paths::tagsRoot(name)))
    checkTag(context, repository, baseName(path));
  std::size_t uploads = listOrEmpty(context, driver_, paths::uploadsRoot(name)).size();
  if (uploads > 0) {
    report_.totals.uploads += uploads;
    note({"uploads", paths::uploadsRoot(name), name, "", "",
          std::to_string(uploads) + " uploads in progress or abandoned (upload purging removes old ones)"});
  }
}

void StorageVerifier::checkManifest(const Context& context, Repository& repository,
                                    const std::string& digest) {
  const std::string data = blobDataOf(digest), link = revisionLinkOf(repository.name, digest);
  auto info = statOrNone(context, driver_, data);
  if (!info) return; // deleted since its link was read
  if (info->size > static_cast<std::int64_t>(kMaxManifestSize)) {
    add({"invalid manifest", data, repository.name, digest, "",
         std::to_string(info->size) + " bytes: more than a manifest may hold (4 MiB)"});
    return;
  }
  auto content = contentOrNone(context, driver_, data);
  if (!content) return;
  Manifest manifest;
  try {
    manifest = parseManifest(*content, "");
  } catch (const errcode::Exception& e) {
    const std::string why = e.what();
    if (why.find("schema1") != std::string::npos)
      note({"schema1 manifest", data, repository.name, digest, "",
            "not checked: Pier does not parse schema1"});
    else
      add({"invalid manifest", data, repository.name, digest, "", why});
    return;
  }

  struct Missing {
    std::string digest, detail;
    bool child = false;
  };
  std::vector<Missing> missing;
  for (std::size_t i = 0; i < manifest.blobs.size(); ++i) {
    const auto& blob = manifest.blobs[i];
    if (blob.foreign) continue; // its urls serve it, as Distribution's put and mark treat it
    const std::string reference = blob.digest.toString();
    const std::string role = !manifest.isIndex && i == 0 ? "config " : "layer ";
    if (!blobExists(context, reference))
      missing.push_back({reference, "its " + role + reference + " is not in the blob store"});
    else if (!repository.layers.count(reference))
      missing.push_back({reference, "its " + role + reference + " is not linked in the repository"});
  }
  for (const auto& child : manifest.manifests)
    if (!repository.revisions.count(child.digest.toString()))
      missing.push_back({child.digest.toString(),
                         "its child manifest " + child.digest.toString() + " is not in the repository",
                         true});
  if (manifest.subject && !repository.revisions.count(manifest.subject->digest.toString()))
    note({"missing subject", link, repository.name, digest, manifest.subject->digest.toString(),
          "its subject is not in the repository (OCI 1.1 accepts a referrer before its subject)"});

  if (missing.empty() || !statOrNone(context, driver_, link)) return; // deleted meanwhile: nothing to report
  for (const auto& reference : missing) {
    // Pushed since the repository's links were read: there now.
    bool there =
        reference.child
            ? targetExists(context, repository.name, Target::revision, reference.digest)
            : blobExists(context, reference.digest) &&
                  contentOrNone(context, driver_,
                                paths::layerLink(repository.name, *Digest::parse(reference.digest))) ==
                      reference.digest;
    if (!there) add({"missing reference", link, repository.name, digest, reference.digest, reference.detail});
  }
}

void StorageVerifier::checkTag(const Context& context, Repository& repository, const std::string& tag) {
  ++report_.totals.tags;
  const std::string directory = paths::tag(repository.name, tag);
  const std::string current = paths::tagCurrentLink(repository.name, tag);
  auto content = contentOrNone(context, driver_, current);
  if (!content) {
    // Being pushed: its current link comes next (the directory is young on a
    // filesystem, where it is made first; the history entry on any driver).
    if (writtenRecently(statOrNone(context, driver_, directory))) return;
    for (const auto& entry : linkEntries(context, driver_, directory + "/index"))
      if (writtenRecently(statOrNone(context, driver_, entry.link()))) return;
    Finding finding{
        "dangling tag", directory, repository.name, "", "", "tag " + tag + " has no current link"};
    if (options_.repair && !contentOrNone(context, driver_, current)) {
      try {
        driver_.remove(context, directory);
      } catch (const PathNotFoundError&) {
      }
      finding.repaired = true;
    }
    add(std::move(finding));
    return;
  }
  if (!isValidDigest(*content)) {
    add({"malformed link", current, repository.name, "", "",
         "tag " + tag + " holds " + quoted(*content) + ", not a digest"});
    return;
  }
  if (!repository.revisions.count(*content) &&
      !targetExists(context, repository.name, Target::revision, *content)) {
    Finding finding{
        "dangling tag", current, repository.name,
        *content,       "",      "tag " + tag + " points at a manifest the repository does not have"};
    if (options_.repair)
      finding.repaired =
          removeLink(context, repository.name, Target::revision, std::nullopt, directory, current, *content);
    const bool removed = finding.repaired;
    add(std::move(finding));
    if (removed) return;
  }
  checkTagHistory(context, repository, tag);
}

void StorageVerifier::checkTagHistory(const Context& context, Repository& repository,
                                      const std::string& tag) {
  for (const auto& entry : linkEntries(context, driver_, paths::tag(repository.name, tag) + "/index")) {
    if (!isValidDigest(entry.digest)) continue;
    auto content = contentOrNone(context, driver_, entry.link());
    if (!content || *content != entry.digest) continue; // readers only ask whether the entry exists
    if (repository.revisions.count(entry.digest) ||
        targetExists(context, repository.name, Target::revision, entry.digest))
      continue;
    // What a delete by digest leaves in the histories of tags that had moved on.
    Finding finding{"stale tag history",
                    entry.link(),
                    repository.name,
                    entry.digest,
                    "",
                    "tag " + tag + "'s history names a manifest the repository no longer has"};
    if (options_.repair)
      finding.repaired = removeLink(context, repository.name, Target::revision, std::nullopt, entry.directory,
                                    entry.link(), entry.digest);
    note(std::move(finding));
  }
}

} // namespace pier
