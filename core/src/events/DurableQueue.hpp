#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/LineLogger.hpp"

namespace pier {

// A first-in first-out queue of records on disk, for one notification
// endpoint: what was appended survives a restart or a SIGKILL until it is
// acknowledged. One writer side (any thread: request threads append) and one
// reader (the endpoint's delivery thread reads and acknowledges).
//
// On disk, in its directory: segment files `segment-<first sequence>` of
// framed records (magic, length, sequence, CRC-32, payload), appended to and
// never rewritten; `cursor`, the first unacknowledged record's place, written
// to a temporary file and renamed after each acknowledgement; `lock`, held
// with flock so that two processes never share a queue. Opening recovers:
// segments before the cursor are deleted, and a record that does not check
// out (a write torn by a crash, damage) ends its segment; in the last segment
// the file is cut there, so appends continue after the last good record.
//
// Appends are write() calls: in the kernel's page cache at once, so a killed
// process loses nothing. sync() (fdatasync) makes them survive power loss; the
// Notifier calls it about once a second, apart from deliveries.
class DurableQueue {
public:
  struct Options {
    std::filesystem::path directory;
    std::uint64_t maxBytes = std::uint64_t(1) << 30; // unacknowledged records, headers included
    bool refuseWhenFull = false;                     // else the oldest records are dropped
    std::uint64_t segmentBytes = 0;                  // 0: maxBytes / 8, within [4 KiB, 64 MiB]
  };

  // Where a record starts (or where reading stopped): segment, byte offset, sequence.
  struct Position {
    std::uint64_t segment = 0;
    std::uint64_t offset = 0;
    std::uint64_t sequence = 0;
    bool operator<(const Position& other) const {
      return segment != other.segment ? segment < other.segment : offset < other.offset;
    }
  };
  struct Record {
    std::uint64_t sequence = 0;
    std::string payload;
  };
  struct Batch {
    std::vector<Record> records;
    Position end; // acknowledge this once the records are delivered
  };
  struct Appended {
    bool queued = false;
    std::uint64_t droppedOldest = 0; // records dropped to make room (dropoldest)
    std::string error;               // why it was not queued
  };

  // Opens (creating the directory) and recovers; `name` is used in log lines.
  // Throws ConfigError when the directory cannot be used or another process holds it.
  DurableQueue(Options options, std::string name, LineLogger& logger);
  ~DurableQueue();
  DurableQueue(const DurableQueue&) = delete;
  DurableQueue& operator=(const DurableQueue&) = delete;

  // Appends one record; at the bound, drops the oldest records (dropoldest) or,
  // past a quarter beyond it (refuse: writes are refused at the bound, but the
  // requests already in flight and pulls still bring events), refuses it.
  Appended append(std::string_view payload);

  // Up to maxRecords records (and about maxBytes) from the first unacknowledged one on, in order.
  Batch read(std::size_t maxRecords, std::uint64_t maxBytes);
  // Everything before `end` is delivered: moves the cursor (never back), saves
  // it and deletes segments that are wholly behind it.
  void acknowledge(const Position& end);
  // fdatasync of what was appended since the last call.
  void sync();

  std::uint64_t pendingRecords() const;
  std::uint64_t pendingBytes() const;
  // At maxBytes: with refuseWhenFull the registry refuses writes.
  bool atBound() const { return atBound_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const; // records dropped or refused at the bound since opening
  const std::string& name() const { return name_; }
  const Options& options() const { return options_; }

private:
  struct Segment {
    std::uint64_t number = 0;  // the sequence of its first record
    std::uint64_t bytes = 0;   // valid bytes (records after damage excluded)
    std::uint64_t records = 0; // valid records
  };

  std::filesystem::path segmentPath(std::uint64_t number) const;
  void recover();
  void openWriteSegment(std::uint64_t number, bool create);
  void rollOver();
  // Deletes the oldest segment; the cursor moves to the start of the next. Needs two segments.
  void removeOldestSegment();
  void skipFinishedSegments();
  void dropOldestSegment(); // removeOldestSegment, counting its undelivered records as dropped
  void saveCursor();
  void updateBound();
  std::uint64_t pendingRecordsLocked() const;
  std::uint64_t pendingBytesLocked() const;

  Options options_;
  std::string name_;
  LineLogger& logger_;
  int lockFd_ = -1;
  int writeFd_ = -1;
  std::vector<int> unsyncedFds_; // rolled-over segments whose data is not yet synced
  bool writeUnsynced_ = false;
  bool directoryUnsynced_ = false;

  mutable std::mutex mutex_;
  std::deque<Segment> segments_; // front: the cursor's segment; back: the one appended to
  Position cursor_;
  std::uint64_t nextSequence_ = 1;
  std::uint64_t totalBytes_ = 0;   // of every segment in segments_
  std::uint64_t totalRecords_ = 0; // of every segment in segments_
  std::uint64_t dropped_ = 0;
  std::atomic<bool> atBound_{false};
};

// Encodes an endpoint name as one directory name ([A-Za-z0-9._-] kept, the rest %XX).
std::string queueDirectoryName(const std::string& endpointName);

} // namespace pier
