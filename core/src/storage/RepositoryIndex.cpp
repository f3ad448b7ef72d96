#include "storage/RepositoryIndex.hpp"

#include <sstream>

#include "storage/Digester.hpp"
#include "storage/Paths.hpp"
#include "storage/Reference.hpp"

namespace pier {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kSnapshotMagic = "pier-catalog-index";
constexpr int kSnapshotVersion = 1;
// A failed walk (storage down) is tried again this soon, or at the rescan interval if shorter.
constexpr std::chrono::milliseconds kRetryAfterFailure = std::chrono::seconds(30);

std::string millisecondsSince(Clock::time_point start) {
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return std::to_string(elapsed.count()) + " ms";
}

} // namespace

RepositoryIndex::RepositoryIndex(StorageDriver& driver, Logger& logger, Settings settings)
    : driver_(driver), logger_(logger), settings_(settings) {
  task_.emplace(settings_.pollInterval, [this] { tick(); });
}

RepositoryIndex::~RepositoryIndex() {
  cancel_->store(true); // a walk in progress ends at its next entry
  task_.reset();
}

std::optional<CatalogPage> RepositoryIndex::page(const std::string& last, std::size_t limit) const {
  std::shared_lock lock(mutex_);
  if (!ready_) return std::nullopt;
  CatalogPage page;
  auto it = names_.upper_bound(last);
  for (; it != names_.end() && page.repositories.size() < limit; ++it) page.repositories.push_back(*it);
  page.more = it != names_.end();
  return page;
}

void RepositoryIndex::insertLocked(const std::string& name) {
  names_.insert(name);
  // Even when known: a walk in progress may already have passed it.
  if (addedDuringRescan_) addedDuringRescan_->insert(name);
}

void RepositoryIndex::linked(const Context& context, const std::string& name) {
  {
    std::shared_lock lock(mutex_);
    if (names_.count(name) && (!addedDuringRescan_ || addedDuringRescan_->count(name))) return;
  }
  bool isNew = false;
  {
    std::unique_lock lock(mutex_);
    isNew = names_.count(name) == 0;
    insertLocked(name);
  }
  if (!isNew || !settings_.persist) return;
  const std::string entry = paths::catalogJournalEntry(name);
  try {
    driver_.putContent(context, entry, name);
  } catch (const std::exception& e) {
    // The push succeeded; other instances see the repository at their next walk.
    context.log(LogLevel::warn, "catalog index: journal entry for " + name + " not written: " + e.what());
    return;
  }
  std::unique_lock lock(mutex_);
  journal_[entry] = name;
}

void RepositoryIndex::unlinked(const Context& context, const std::string& name) {
  try {
    if (hasLayers(context, name)) return;
  } catch (const std::exception& e) {
    context.log(LogLevel::debug, "catalog index: " + name + "/_layers not checked: " + e.what());
    return;
  }
  std::unique_lock lock(mutex_);
  names_.erase(name);
  if (addedDuringRescan_) addedDuringRescan_->erase(name);
}

bool RepositoryIndex::hasLayers(const Context& context, const std::string& name) {
  try {
    return driver_.stat(context, paths::layersRoot(name)).isDirectory;
  } catch (const PathNotFoundError&) {
    return false;
  }
}

void RepositoryIndex::tick() {
  Context context("catalog-index", logger_, Context::Clock::time_point::max(), cancel_);
  try {
    if (!started_) {
      started_ = true;
      nextRescan_ = Clock::now();
      pollSnapshot(context, true);
      pollJournal(context);
    } else {
      poll(context);
    }
  } catch (const CancelledError&) {
    return;
  } catch (const std::exception& e) {
    // Storage down: the health check says so; the index keeps what it has.
    context.log(LogLevel::debug, std::string("catalog index: poll failed: ") + e.what());
  }
  if (Clock::now() < nextRescan_) return;
  bool periodic = settings_.rescanInterval.count() > 0;
  try {
    rescan(context);
    nextRescan_ = periodic ? Clock::now() + settings_.rescanInterval : Clock::time_point::max();
  } catch (const CancelledError&) {
  } catch (const std::exception& e) {
    auto retry = periodic ? std::min(settings_.rescanInterval, kRetryAfterFailure) : kRetryAfterFailure;
    context.log(LogLevel::warn, std::string("catalog index: walk of storage failed (again in ") +
                                    std::to_string(retry.count()) + " ms): " + e.what());
    nextRescan_ = Clock::now() + retry;
  }
}

void RepositoryIndex::poll(const Context& context) {
  lastPoll_ = Clock::now();
  pollJournal(context);
  pollSnapshot(context, false);
}

void RepositoryIndex::pollDuringWalk(const Context& context) {
  if (Clock::now() - lastPoll_ < settings_.pollInterval) return;
  try {
    poll(context);
  } catch (const CancelledError&) {
    throw;
  } catch (const std::exception& e) {
    context.log(LogLevel::debug, std::string("catalog index: poll failed: ") + e.what());
  }
}

void RepositoryIndex::pollJournal(const Context& context) {
  std::vector<std::string> entries;
  try {
    entries = driver_.list(context, paths::catalogJournal());
  } catch (const PathNotFoundError&) {
  }
  std::map<std::string, std::string> known;
  {
    std::shared_lock lock(mutex_);
    known = journal_;
  }
  std::map<std::string, std::string> listed;
  std::vector<std::string> arrived;
  for (const auto& entry : entries) {
    if (auto it = known.find(entry); it != known.end()) {
      listed.insert(*it);
      continue;
    }
    std::string name;
    try {
      name = driver_.getContent(context, entry);
    } catch (const PathNotFoundError&) {
      continue; // compacted meanwhile: the snapshot has it
    }
    // An entry is named by the hash of its name; anything else is not trusted (kept as "").
    if (!isValidRepositoryName(name) || paths::catalogJournalEntry(name) != entry) name.clear();
    listed[entry] = name;
    if (!name.empty() && hasLayers(context, name)) arrived.push_back(name);
  }
  std::unique_lock lock(mutex_);
  journal_ = std::move(listed);
  for (const auto& name : arrived) insertLocked(name);
}

void RepositoryIndex::pollSnapshot(const Context& context, bool atStart) {
  const std::string path = paths::catalogSnapshot();
  std::optional<Snapshot> snapshot;
  try {
    FileInfo info = driver_.stat(context, path);
    std::pair seen{info.size, info.modTime};
    if (snapshotSeen_ == seen) return;
    snapshotSeen_ = seen;
    snapshot = decodeSnapshot(driver_.getContent(context, path));
  } catch (const PathNotFoundError&) {
    if (atStart)
      context.log(LogLevel::info,
                  "catalog index: no snapshot in storage; the catalog walks storage until the "
                  "index is built");
    return;
  }
  if (!snapshot) {
    context.log(LogLevel::warn, "catalog index: snapshot " + path +
                                    " is damaged; ignored until the next walk of storage replaces it");
    return;
  }
  generation_ = std::max(generation_, snapshot->generation);
  NameSet fresh;
  for (auto& name : snapshot->names) fresh.emplace_hint(fresh.end(), std::move(name));
  std::size_t count = 0;
  {
    std::unique_lock lock(mutex_);
    for (const auto& [entry, name] : journal_)
      if (!name.empty()) fresh.insert(name);
    if (atStart) fresh.insert(names_.begin(), names_.end()); // linked before the snapshot was read
    if (addedDuringRescan_) {
      for (const auto& name : fresh)
        if (!names_.count(name)) addedDuringRescan_->insert(name);
      fresh.insert(addedDuringRescan_->begin(), addedDuringRescan_->end());
    }
    names_.swap(fresh);
    ready_ = true;
    count = names_.size();
  }
  context.log(atStart ? LogLevel::info : LogLevel::debug, "catalog index: " + std::to_string(count) +
                                                              " repositories from snapshot generation " +
                                                              std::to_string(snapshot->generation));
}

void RepositoryIndex::rescan(const Context& context) {
  auto start = Clock::now();
  {
    std::unique_lock lock(mutex_);
    addedDuringRescan_.emplace();
  }
  NameSet found;
  try {
    walkRepositories(context, driver_, [&](const std::string& name) {
      context.throwIfDone();
      found.emplace_hint(found.end(), name);
      pollDuringWalk(context);
      return true;
    });
    poll(context); // what other instances added while the walk ran
  } catch (...) {
    std::unique_lock lock(mutex_);
    addedDuringRescan_.reset();
    throw;
  }
  NameSet merged = found;
  std::size_t count = 0;
  {
    std::unique_lock lock(mutex_);
    merged.insert(addedDuringRescan_->begin(), addedDuringRescan_->end());
    names_.swap(merged);
    addedDuringRescan_.reset();
    ready_ = true;
    count = names_.size();
  }
  context.log(LogLevel::info, "catalog index: " + std::to_string(count) +
                                  " repositories after a walk of storage in " + millisecondsSince(start));
  if (!settings_.persist) return;
  try {
    writeSnapshot(context);
    compactJournal(context, found);
  } catch (const CancelledError&) {
    throw;
  } catch (const std::exception& e) {
    context.log(LogLevel::warn, std::string("catalog index: snapshot not written: ") + e.what());
  }
}

void RepositoryIndex::writeSnapshot(const Context& context) {
  std::string text;
  {
    std::shared_lock lock(mutex_);
    text = encodeSnapshot(generation_ + 1, std::vector<std::string>(names_.begin(), names_.end()));
  }
  const std::string path = paths::catalogSnapshot();
  driver_.putContent(context, path, text);
  ++generation_;
  try {
    FileInfo info = driver_.stat(context, path);
    snapshotSeen_ = std::pair{info.size, info.modTime}; // our own: not to be read back
  } catch (const PathNotFoundError&) {
  }
}

void RepositoryIndex::compactJournal(const Context& context, const NameSet& found) {
  std::map<std::string, std::string> entries;
  {
    std::shared_lock lock(mutex_);
    entries = journal_;
  }
  // Written after the snapshot that holds them: an instance that misses the
  // entry reads the snapshot. Entries of repositories the walk did not meet
  // stay, unless their _layers is gone (the repository was removed).
  for (const auto& [entry, name] : entries) {
    if (!name.empty() && !found.count(name) && hasLayers(context, name)) continue;
    try {
      driver_.remove(context, entry);
    } catch (const PathNotFoundError&) {
    }
    std::unique_lock lock(mutex_);
    journal_.erase(entry);
  }
}

std::string RepositoryIndex::encodeSnapshot(std::uint64_t generation, const std::vector<std::string>& names) {
  std::string body;
  for (const auto& name : names) {
    body += name;
    body += '\n';
  }
  return std::string(kSnapshotMagic) + ' ' + std::to_string(kSnapshotVersion) + ' ' +
         std::to_string(generation) + ' ' + std::to_string(names.size()) + ' ' + sha256Of(body).hex() + '\n' +
         body;
}

std::optional<RepositoryIndex::Snapshot> RepositoryIndex::decodeSnapshot(std::string_view text) {
  std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  std::istringstream header{std::string(text.substr(0, newline))};
  std::string magic, hex, extra;
  int version = 0;
  Snapshot snapshot;
  std::size_t count = 0;
  if (!(header >> magic >> version >> snapshot.generation >> count >> hex) || header >> extra ||
      magic != kSnapshotMagic || version != kSnapshotVersion)
    return std::nullopt;
  std::string_view body = text.substr(newline + 1);
  if (sha256Of(body).hex() != hex) return std::nullopt;
  for (std::size_t position = 0; position < body.size();) {
    std::size_t end = body.find('\n', position);
    if (end == std::string_view::npos) return std::nullopt;
    std::string name(body.substr(position, end - position));
    if (!isValidRepositoryName(name)) return std::nullopt;
    if (!snapshot.names.empty() && !CatalogOrder{}(snapshot.names.back(), name)) return std::nullopt;
    snapshot.names.push_back(std::move(name));
    position = end + 1;
  }
  if (snapshot.names.size() != count) return std::nullopt;
  return snapshot;
}

} // namespace pier
