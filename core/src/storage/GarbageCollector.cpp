#include "storage/GarbageCollector.hpp"

#include <stdexcept>
#include <thread>

#include "errcode/ErrorCode.hpp"
#include "storage/Paths.hpp"
#include "storage/StorageWalk.hpp"
#include "util/Uuid.hpp"

namespace pier {

namespace {

constexpr std::size_t kSweepProgressEvery = 10000;
// After taking the state, a collector waits this long and looks again: of two
// started at once, the one whose write was overwritten gives way.
constexpr std::chrono::seconds kTakeOverSettle{1};

std::string bytes(std::uint64_t count) {
  return std::to_string(count) + " bytes";
}

} // namespace

void GarbageCollector::progress(const std::string& line) {
  out_ << line << '\n' << std::flush;
}

void GarbageCollector::detail(const std::string& line) {
  if (!quiet_) progress(line);
}

void GarbageCollector::warn(const std::string& line) {
  if (quiet_) return; // the second mark meets what the first already reported
  ++warningCount_;
  out_ << std::flush;
  warnings_ << "warning: " << line << '\n' << std::flush;
}

void GarbageCollector::begin(const Context& context, const Options& options) {
  const auto now = std::chrono::system_clock::now();
  if (auto current = fence_.read(context); current && current->live(now))
    throw std::runtime_error("another garbage collection is running (" + current->owner + ", run " +
                             current->run + ", heartbeat " +
                             std::to_string(unixSeconds(now) - current->heartbeat) + "s ago)");
  CollectionState state;
  state.run = newUuid();
  state.phase = CollectionState::Phase::marking;
  state.owner = options.owner;
  state.heartbeat = unixSeconds(now);
  fence_.write(context, state);
  state_ = state;
  lastBeat_ = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(kTakeOverSettle);
  beat(context, true);
  progress("garbage collection " + state.run + " started");
}

void GarbageCollector::beat(const Context& context, bool force) {
  if (!state_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - lastBeat_ < CollectionFence::kHeartbeat) return;
  // Deleting on a lease others may think lapsed would break the agreement.
  if (now - lastBeat_ > CollectionFence::kLease / 2)
    throw std::runtime_error("garbage collection " + state_->run +
                             " could not refresh its heartbeat in time");
  auto current = fence_.read(context);
  if (!current || current->run != state_->run)
    throw std::runtime_error("garbage collection " + state_->run + " was taken over by " +
                             (current ? current->owner + " (run " + current->run + ")" : "nobody"));
  state_->heartbeat = unixSeconds(std::chrono::system_clock::now());
  fence_.write(context, *state_);
  lastBeat_ = now;
}

void GarbageCollector::setPhase(const Context& context, CollectionState::Phase phase) {
  beat(context, true); // still ours
  state_->phase = phase;
  fence_.write(context, *state_);
}

void GarbageCollector::end(const Context& context) noexcept {
  if (!state_) return;
  try {
    auto current = fence_.read(context);
    if (current && current->run == state_->run) {
      state_->phase = CollectionState::Phase::done;
      state_->finished = state_->heartbeat = unixSeconds(std::chrono::system_clock::now());
      fence_.write(context, *state_);
    }
    fence_.clearRun(context, state_->run);
  } catch (const std::exception& e) {
    // A state left behind lapses with its heartbeat.
    warn("garbage collection " + state_->run + ": cannot record its end: " + e.what());
  }
  state_.reset();
}

void GarbageCollector::deleteManifests(const Context& context, const std::string& repository,
                                       const std::set<std::string>& digests) {
  if (digests.empty()) return;
  BlobStore blobs(driver_, cache_);
  std::vector<std::string> tags = tagsOrNone(context, repository);
  for (const auto& text : digests) {
    context.throwIfDone();
    beat(context);
    progress(repository + ": deleting manifest " + text);
    auto digest = *Digest::parse(text);
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

// Links to blobs being deleted, and links whose blob is gone (a blob is stored
// before a link to it is written, so a link without one is left over).
std::size_t GarbageCollector::removeLayerLinks(const Context& context, const std::string& repository,
                                               const std::set<std::string>& marked,
                                               const std::set<std::string>& deleting, bool dryRun) {
  std::size_t count = 0;
  std::optional<BlobStore> blobs;
  for (const auto& entry : linkEntries(context, driver_, paths::layersRoot(repository))) {
    beat(context);
    const std::string& digest = entry.digest;
    if (!isValidDigest(digest) || marked.count(digest)) continue;
    if (!deleting.count(digest) && statOrNone(context, driver_, blobDataOf(digest))) continue;
    if (!statOrNone(context, driver_, entry.link())) continue;
    ++count;
    progress(repository + ": layer link eligible for deletion: " + digest);
    if (dryRun) continue;
    if (auto parsed = Digest::parse(digest)) {
      if (!blobs) blobs.emplace(driver_, cache_);
      blobs->unlink(context, repository, LinkSpace::layers, *parsed);
    } else {
      try {
        driver_.remove(context, entry.directory);
      } catch (const PathNotFoundError&) {
      }
    }
  }
  return count;
}

// Every blob in storage (a data file under blobs/<alg>/<xx>/<hex>) that is not
// marked and was written before writtenBefore.
std::vector<GarbageCollector::Candidate>
GarbageCollector::sweepBlobs(const Context& context, const std::set<std::string>& marked,
                             std::chrono::system_clock::time_point writtenBefore, Summary& summary) {
  std::vector<Candidate> candidates;
  std::size_t seen = 0;
  auto counts = [&] {
    return "swept " + std::to_string(seen) + " blobs, " + std::to_string(candidates.size()) +
           " not marked, " + std::to_string(summary.blobsYoung) + " inside the grace period";
  };
  walkBlobs(
      context, driver_,
      [&](const StoredBlob& blob) {
        beat(context);
        if (!blob.data) return;
        if (!marked.count(blob.digest)) {
          if (blob.data->modTime < writtenBefore)
            candidates.push_back(Candidate{blob.digest, static_cast<std::uint64_t>(blob.data->size)});
          else
            ++summary.blobsYoung;
        }
        if (++seen % kSweepProgressEvery == 0) progress(counts());
      },
      [&](const std::string& path) { warn("skipping " + path + ": not a blob directory"); });
  progress(counts());
  return candidates;
}

void GarbageCollector::deleteBlobs(const Context& context, const std::vector<Candidate>& blobs,
                                   std::chrono::system_clock::time_point writtenBefore, Summary& summary) {
  std::size_t cacheFailures = 0;
  for (const auto& blob : blobs) {
    context.throwIfDone();
    beat(context);
    // Written again since the sweep (an upload of the same bytes): it is young now.
    auto info = statOrNone(context, driver_, blobDataOf(blob.digest));
    if (info && info->modTime >= writtenBefore) {
      ++summary.blobsYoung;
      continue;
    }
    progress("blob eligible for deletion: " + blob.digest + " (" + bytes(blob.size) + ")");
    try {
      driver_.remove(context, blobDirectoryOf(blob.digest));
    } catch (const PathNotFoundError&) {
    } catch (const std::exception& e) {
      throw std::runtime_error("deleting blob " + blob.digest + ": " + e.what());
    }
    ++summary.blobsEligible;
    summary.bytesEligible += blob.size;
    if (!cache_) continue;
    try {
      cache_->clear(context, blob.digest);
    } catch (const std::exception& e) {
      if (cacheFailures++ == 0) warn("blob descriptor cache: cannot clear " + blob.digest + ": " + e.what());
    }
  }
  if (cacheFailures > 1)
    warn("blob descriptor cache: " + std::to_string(cacheFailures - 1) +
         " more digests could not be cleared");
}

GarbageCollector::Summary GarbageCollector::run(const Context& context, const Options& options) {
  Summary summary;
  warningCount_ = 0;
  quiet_ = false;
  const auto writtenBefore = std::chrono::system_clock::now() - options.grace;
  if (!options.dryRun) begin(context, options);
  try {
    Mark first = markAll(context, options);
    summary.repositories = first.repositories.size();
    progress("marked " + std::to_string(first.marked.size()) + " blobs in " +
             std::to_string(first.repositories.size()) + " repositories");
    progress("sweeping blobs");
    std::vector<Candidate> candidates;
    try {
      candidates = sweepBlobs(context, first.marked, writtenBefore, summary);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("sweeping blobs: ") + e.what());
    }

    if (options.dryRun) {
      summary.blobsMarked = first.marked.size();
      std::set<std::string> eligible;
      for (const auto& candidate : candidates) {
        progress("blob eligible for deletion: " + candidate.digest + " (" + bytes(candidate.size) + ")");
        ++summary.blobsEligible;
        summary.bytesEligible += candidate.size;
        eligible.insert(candidate.digest);
      }
      for (const auto& [repository, digests] : first.untagged) summary.manifestsEligible += digests.size();
      for (const auto& repository : first.repositories)
        summary.layerLinksEligible += removeLayerLinks(context, repository, first.marked, eligible, true);
      summary.warnings = warningCount_;
      report(summary, options);
      return summary;
    }

    // Condemn, then mark again: what a writer named meanwhile is rescued.
    for (const auto& candidate : candidates) {
      beat(context);
      fence_.condemn(context, state_->run, candidate.digest);
    }
    for (const auto& [repository, digests] : first.untagged)
      for (const auto& digest : digests) {
        beat(context);
        fence_.condemn(context, state_->run, digest);
      }
    setPhase(context, CollectionState::Phase::sweeping);
    progress("condemned " + std::to_string(candidates.size()) + " blobs; marking again");
    quiet_ = true;
    Mark second = markAll(context, options);
    quiet_ = false;
    summary.repositories = second.repositories.size();
    summary.blobsMarked = second.marked.size();

    std::vector<Candidate> deleting;
    std::set<std::string> deletingDigests;
    for (const auto& candidate : candidates) {
      if (second.marked.count(candidate.digest)) {
        ++summary.blobsRescued;
        progress("rescued blob " + candidate.digest + ": referenced since the first mark");
        continue;
      }
      deleting.push_back(candidate);
      deletingDigests.insert(candidate.digest);
    }

    // Links before blobs: a run that stops half way leaves unreferenced blobs
    // for the next run, never links to blobs that are gone.
    for (const auto& [repository, digests] : first.untagged) {
      auto now = second.untagged.find(repository);
      if (now == second.untagged.end()) continue;
      std::set<std::string> both;
      for (const auto& digest : digests)
        if (now->second.count(digest)) both.insert(digest);
      summary.manifestsEligible += both.size();
      try {
        deleteManifests(context, repository, both);
      } catch (const std::exception& e) {
        throw std::runtime_error("deleting manifests of " + repository + ": " + e.what());
      }
    }
    for (const auto& repository : second.repositories) {
      try {
        summary.layerLinksEligible +=
            removeLayerLinks(context, repository, second.marked, deletingDigests, false);
      } catch (const std::exception& e) {
        throw std::runtime_error("deleting layer links of " + repository + ": " + e.what());
      }
    }
    deleteBlobs(context, deleting, writtenBefore, summary);
  } catch (...) {
    end(context);
    throw;
  }
  end(context);
  summary.warnings = warningCount_;
  report(summary, options);
  return summary;
}

void GarbageCollector::report(const Summary& summary, const Options& options) {
  const std::string blobs =
      std::to_string(summary.blobsEligible) + " blobs (" + bytes(summary.bytesEligible) + ")";
  progress("");
  progress(std::to_string(summary.blobsMarked) + " blobs marked, " + std::to_string(summary.blobsEligible) +
           " blobs eligible for deletion, " + std::to_string(summary.manifestsEligible) +
           " manifests eligible for deletion, " + std::to_string(summary.layerLinksEligible) +
           " layer links eligible for deletion, " + std::to_string(summary.blobsYoung) +
           " unreferenced blobs inside the grace period, " + std::to_string(summary.blobsRescued) +
           " rescued");
  if (options.dryRun)
    progress("dry run: nothing was deleted; " + blobs + " would be freed");
  else
    progress("deleted " + blobs + ", " + std::to_string(summary.manifestsEligible) + " manifests, " +
             std::to_string(summary.layerLinksEligible) + " layer links");
  if (summary.warnings > 0) progress(std::to_string(summary.warnings) + " warnings");
}

} // namespace pier
