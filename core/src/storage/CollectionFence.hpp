#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pier/storage_driver.hpp>

namespace pier {

// What a garbage collection running beside serving registries is doing, kept
// in storage (paths::collectionState) so that every process on the storage
// sees it: no database, no lock service.
struct CollectionState {
  enum class Phase { marking, sweeping, done };
  std::string run; // a new id per collection
  Phase phase = Phase::done;
  std::string owner;          // host and pid of the collector, for messages
  std::int64_t heartbeat = 0; // unix seconds, refreshed while the collection runs
  std::int64_t finished = 0;  // unix seconds, when phase became done

  // A marking or sweeping collection whose heartbeat is fresh; a collector
  // that died leaves a stale one, which nobody waits for.
  bool live(std::chrono::system_clock::time_point now) const;
  std::string toJson() const;
  static std::optional<CollectionState> parse(const std::string& text);
};

// The agreement between a collection and the registry's writers (manifest
// puts, upload commits, mounts) in any number of processes.
//
// The collector marks, writes a marker for every blob and manifest it means
// to delete (paths::condemned), sets the phase to sweeping, marks again, and
// deletes only what both marks left unreferenced.
// A writer takes a Ticket before it checks what it names and calls settled()
// after its writes. When neither the run nor its phase changed in between and
// no sweep was running, the second mark starts after the writes and sees them.
// Otherwise the writer looks for markers of what it names, waits out a sweep
// that condemned one of them, and checks again against storage.
class CollectionFence {
public:
  static constexpr std::chrono::seconds kLease{60};      // a heartbeat older than this is a dead collector
  static constexpr std::chrono::seconds kHeartbeat{10};  // how often a collector refreshes it
  static constexpr std::chrono::seconds kSweepWait{120}; // a writer waits this long at most, then 503

  explicit CollectionFence(StorageDriver& driver) : driver_(driver) {}

  struct Ticket {
    std::string run;
    CollectionState::Phase phase = CollectionState::Phase::done;
  };
  Ticket enter(const Context& context) const;
  // True: the writes stand. False: a collection moved on meanwhile; the caller
  // checks against storage that what it names (digests) is still there and
  // writes again or rolls back. Throws StorageUnavailableError (503) when a
  // sweep condemning one of them outlasts kSweepWait.
  bool settled(const Context& context, const Ticket& ticket, const std::vector<std::string>& named) const;

  // Runs write (a request's checks and writes) until settled() says they
  // stand, at most kRounds times; write returns false when what it needs is
  // gone and it wrote nothing to settle. Returns write's last answer; throws
  // StorageUnavailableError (503, naming what) when collections keep moving.
  static constexpr int kRounds = 3;
  bool writeSettled(const Context& context, const std::vector<std::string>& named, const std::string& what,
                    const std::function<bool()>& write) const;

  // The collector's side. read() is nullopt when no collection ever ran.
  std::optional<CollectionState> read(const Context& context) const;
  void write(const Context& context, const CollectionState& state) const;
  void condemn(const Context& context, const std::string& run, const std::string& digest) const;
  void clearRun(const Context& context, const std::string& run) const; // its markers

private:
  bool condemnsAny(const Context& context, const std::string& run,
                   const std::vector<std::string>& named) const;

  StorageDriver& driver_;
};

std::int64_t unixSeconds(std::chrono::system_clock::time_point time);
// "<host> pid <pid> (<role>)": who collects, for other processes' messages.
std::string collectorName(const std::string& role);

} // namespace pier
