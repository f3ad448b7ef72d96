#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <pier/storage_driver.hpp>

#include "storage/Catalog.hpp"
#include "util/PeriodicTask.hpp"

namespace pier {

// The catalog's repositories in memory, so that a catalog page costs a
// lookup and its n names, not a walk of storage (docs/CATALOG.md).
//
// Kept up to date by the BlobStore (a _layers link written or removed), by
// a journal in storage that every instance on the same storage writes a new
// repository to and polls, and by a walk of storage at start and every
// rescan interval. The walk's result is persisted as a snapshot, which the
// next start (of this or another instance) serves from while it walks.
// Until a snapshot or a walk has filled it, page() answers nothing and the
// caller walks, as before the index.
class RepositoryIndex {
public:
  struct Settings {
    std::chrono::milliseconds rescanInterval; // catalog.rescaninterval; 0: at start only
    std::chrono::milliseconds pollInterval = std::chrono::seconds(1);
    bool persist = true; // false in read-only mode: no snapshot or journal is written
  };

  // Starts the background thread: one poll interval later it reads the
  // snapshot and the journal and walks storage; then it polls every interval.
  RepositoryIndex(StorageDriver& driver, Logger& logger, Settings settings);
  ~RepositoryIndex(); // cancels a running walk and joins the thread
  RepositoryIndex(const RepositoryIndex&) = delete;
  RepositoryIndex& operator=(const RepositoryIndex&) = delete;

  // Repositories after `last`, at most `limit`; nothing until the index is filled.
  std::optional<CatalogPage> page(const std::string& last, std::size_t limit) const;
  // After a _layers link of the repository was written: a new name goes
  // into the index and the journal.
  void linked(const Context& context, const std::string& name);
  // After a _layers link was removed: the name leaves the index when
  // _layers is gone with it (on S3 a directory is gone with its last file).
  void unlinked(const Context& context, const std::string& name);

  // The snapshot file: a header line "pier-catalog-index 1 <generation>
  // <count> <sha256 hex of the rest>", then one name per line in catalog order.
  struct Snapshot {
    std::uint64_t generation = 0;
    std::vector<std::string> names;
  };
  static std::string encodeSnapshot(std::uint64_t generation, const std::vector<std::string>& names);
  // Nothing when the text is not a whole, valid snapshot (torn, edited, names out of order or invalid).
  static std::optional<Snapshot> decodeSnapshot(std::string_view text);

private:
  using NameSet = std::set<std::string, CatalogOrder>;

  void tick();
  void rescan(const Context& context);
  void poll(const Context& context);
  void pollJournal(const Context& context);
  void pollSnapshot(const Context& context, bool atStart);
  void pollDuringWalk(const Context& context);
  void writeSnapshot(const Context& context);
  void compactJournal(const Context& context, const NameSet& found);
  bool hasLayers(const Context& context, const std::string& name);
  void insertLocked(const std::string& name);

  StorageDriver& driver_;
  Logger& logger_;
  Settings settings_;

  mutable std::shared_mutex mutex_; // guards the members up to journal_
  NameSet names_;
  bool ready_ = false;
  std::optional<NameSet> addedDuringRescan_;   // names inserted while a walk runs
  std::map<std::string, std::string> journal_; // journal entry path -> name, as last listed

  // The background thread's own.
  std::uint64_t generation_ = 0; // the highest snapshot generation loaded or written
  std::optional<std::pair<std::int64_t, std::chrono::system_clock::time_point>> snapshotSeen_;
  bool started_ = false;
  std::chrono::steady_clock::time_point lastPoll_;
  std::chrono::steady_clock::time_point nextRescan_;

  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::optional<PeriodicTask> task_; // last: its thread uses the members above
};

} // namespace pier
