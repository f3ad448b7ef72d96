#include "events/DurableQueue.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <Poco/Checksum.h>

#include "pier/errors.hpp"

namespace pier {

namespace {

constexpr std::uint32_t kMagic = 0x31525150; // "PQR1" in little-endian byte order
constexpr std::size_t kHeaderBytes = 20;     // magic, length, sequence, CRC-32
constexpr std::uint32_t kMaxPayload = 16 * 1024 * 1024;
constexpr std::uint64_t kMinSegmentBytes = 4096;
constexpr std::uint64_t kMaxSegmentBytes = 64 * 1024 * 1024;
constexpr const char* kSegmentPrefix = "segment-";

void putLittleEndian(unsigned char* out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

std::uint64_t getLittleEndian(const unsigned char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

// Over length, sequence and payload: a record whose header or bytes changed does not check out.
std::uint32_t recordChecksum(const unsigned char* header, std::string_view payload) {
  Poco::Checksum crc(Poco::Checksum::TYPE_CRC32);
  crc.update(reinterpret_cast<const char*>(header + 4), 12);
  crc.update(payload.data(), static_cast<unsigned>(payload.size()));
  return crc.checksum();
}

std::string systemError(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool preadAll(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
  auto* out = static_cast<char*>(buffer);
  while (size > 0) {
    ssize_t got = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    size -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
  return true;
}

// The record at offset when it checks out (within `end`, the sequence
// expected); its size on disk, or 0 when it does not.
std::uint64_t readRecordAt(int fd, std::uint64_t offset, std::uint64_t end, std::uint64_t sequence,
                           std::string* payload) {
  unsigned char header[kHeaderBytes];
  if (offset + kHeaderBytes > end || !preadAll(fd, header, kHeaderBytes, offset)) return 0;
  if (getLittleEndian(header, 4) != kMagic) return 0;
  std::uint64_t length = getLittleEndian(header + 4, 4);
  if (length > kMaxPayload || offset + kHeaderBytes + length > end) return 0;
  if (getLittleEndian(header + 8, 8) != sequence) return 0;
  std::string bytes(length, '\0');
  if (length > 0 && !preadAll(fd, bytes.data(), length, offset + kHeaderBytes)) return 0;
  if (getLittleEndian(header + 16, 4) != recordChecksum(header, bytes)) return 0;
  if (payload) *payload = std::move(bytes);
  return kHeaderBytes + length;
}

std::uint64_t defaultSegmentBytes(std::uint64_t maxBytes) {
  return std::clamp(maxBytes / 8, kMinSegmentBytes, kMaxSegmentBytes);
}

} // namespace

std::string queueDirectoryName(const std::string& endpointName) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : endpointName) {
    bool plain = std::isalnum(c) || c == '-' || c == '_' || (c == '.' && !out.empty());
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

DurableQueue::DurableQueue(Options options, std::string name, LineLogger& logger)
    : options_(std::move(options)), name_(std::move(name)), logger_(logger) {
  if (options_.segmentBytes == 0) options_.segmentBytes = defaultSegmentBytes(options_.maxBytes);
  recover();
}

DurableQueue::~DurableQueue() {
  sync();
  if (writeFd_ >= 0) ::close(writeFd_);
  if (lockFd_ >= 0) ::close(lockFd_); // releases the flock
}

std::filesystem::path DurableQueue::segmentPath(std::uint64_t number) const {
  char name[48];
  std::snprintf(name, sizeof name, "%s%020llu", kSegmentPrefix, static_cast<unsigned long long>(number));
  return options_.directory / name;
}

void DurableQueue::recover() {
  const std::filesystem::path& directory = options_.directory;
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error)
    throw ConfigError("notifications.queue.directory: cannot create " + directory.string() + ": " +
                      error.message());
  lockFd_ = ::open((directory / "lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lockFd_ < 0)
    throw ConfigError("notifications.queue.directory: " +
                      systemError("cannot open " + (directory / "lock").string()));
  if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0)
    throw ConfigError("notifications.queue.directory: " + directory.string() +
                      " is in use by another process (each server needs its own queue directory)");
  std::filesystem::remove(directory / "cursor.tmp", error);

  std::vector<std::uint64_t> numbers;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    std::string file = entry.path().filename().string();
    if (file.rfind(kSegmentPrefix, 0) != 0) continue;
    std::string digits = file.substr(std::strlen(kSegmentPrefix));
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    numbers.push_back(std::stoull(digits));
  }
  std::sort(numbers.begin(), numbers.end());

  // The cursor file: "<segment> <offset>"; a missing or unreadable one starts at the oldest segment.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> saved;
  {
    std::ifstream file(directory / "cursor");
    unsigned long long segment = 0, offset = 0;
    if (file >> segment >> offset)
      saved = {segment, offset};
    else if (std::filesystem::exists(directory / "cursor"))
      logger_.write(LogLevel::error,
                    "notification queue cursor unreadable; redelivering from the oldest segment",
                    {{"endpoint", name_}});
  }
  // A new first segment is never numbered below the cursor's: the next start would delete it.
  const std::uint64_t firstNumber = saved ? std::max<std::uint64_t>(saved->first, 1) : 1;
  if (saved) {
    // Segments before the cursor's were acknowledged: delete what a crash left behind.
    while (!numbers.empty() && numbers.front() < saved->first) {
      std::filesystem::remove(segmentPath(numbers.front()), error);
      numbers.erase(numbers.begin());
    }
    if (numbers.empty() || numbers.front() != saved->first) saved = std::nullopt;
  }

  for (std::size_t i = 0; i < numbers.size(); ++i) {
    Segment segment{numbers[i], 0, 0};
    int fd = ::open(segmentPath(segment.number).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw ConfigError("notifications.queue.directory: " +
                        systemError("cannot read " + segmentPath(segment.number).string()));
    struct stat info {};
    ::fstat(fd, &info);
    const auto fileSize = static_cast<std::uint64_t>(info.st_size);
    bool cursorFound = false;
    for (;;) {
      if (i == 0 && saved && saved->second == segment.bytes) {
        cursor_ = {segment.number, segment.bytes, segment.number + segment.records};
        cursorFound = true;
      }
      std::uint64_t size =
          readRecordAt(fd, segment.bytes, fileSize, segment.number + segment.records, nullptr);
      if (size == 0) break;
      segment.bytes += size;
      ++segment.records;
    }
    ::close(fd);
    if (i == 0 && !cursorFound) {
      if (saved)
        logger_.write(LogLevel::error, "notification queue cursor is on no record; redelivering its segment",
                      {{"endpoint", name_}});
      cursor_ = {segment.number, 0, segment.number};
    }
    if (segment.bytes < fileSize) {
      if (i + 1 == numbers.size()) {
        // A write torn by a crash (or damage) at the end: cut it, appends continue after the last good
        // record.
        if (::truncate(segmentPath(segment.number).c_str(), static_cast<off_t>(segment.bytes)) != 0)
          throw ConfigError("notifications.queue.directory: " +
                            systemError("cannot cut " + segmentPath(segment.number).string()));
        logger_.write(LogLevel::warn, "notification queue: cut a torn or damaged record at the end",
                      {{"endpoint", name_},
                       {"segment", segmentPath(segment.number).filename().string()},
                       {"bytes", std::to_string(fileSize - segment.bytes)}});
      } else {
        logger_.write(LogLevel::error, "notification queue: damaged record; the rest of its segment is lost",
                      {{"endpoint", name_},
                       {"segment", segmentPath(segment.number).filename().string()},
                       {"bytes", std::to_string(fileSize - segment.bytes)}});
      }
    }
    segments_.push_back(segment);
    totalBytes_ += segment.bytes;
    totalRecords_ += segment.records;
  }

  if (segments_.empty()) {
    const std::uint64_t first = firstNumber;
    segments_.push_back(Segment{first, 0, 0});
    cursor_ = {first, 0, first};
    openWriteSegment(first, true);
  } else {
    openWriteSegment(segments_.back().number, false);
  }
  nextSequence_ = segments_.back().number + segments_.back().records;
  skipFinishedSegments();
  updateBound();
  logger_.write(LogLevel::info, "notification queue opened",
                {{"endpoint", name_},
                 {"directory", directory.string()},
                 {"pending", std::to_string(pendingRecordsLocked())},
                 {"bytes", std::to_string(pendingBytesLocked())}});
}

void DurableQueue::openWriteSegment(std::uint64_t number, bool create) {
  int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  writeFd_ = ::open(segmentPath(number).c_str(), flags, 0644);
  if (writeFd_ < 0) throw std::runtime_error(systemError("cannot open " + segmentPath(number).string()));
  if (create) directoryUnsynced_ = true;
}

void DurableQueue::rollOver() {
  int previous = writeFd_;
  openWriteSegment(nextSequence_, true); // throws before anything changed
  if (writeUnsynced_)
    unsyncedFds_.push_back(previous);
  else
    ::close(previous);
  writeUnsynced_ = false;
  segments_.push_back(Segment{nextSequence_, 0, 0});
}

void DurableQueue::removeOldestSegment() {
  const Segment oldest = segments_.front();
  totalBytes_ -= oldest.bytes;
  totalRecords_ -= oldest.records;
  segments_.pop_front();
  cursor_ = {segments_.front().number, 0, segments_.front().number};
  std::error_code error;
  std::filesystem::remove(segmentPath(oldest.number), error);
}

void DurableQueue::skipFinishedSegments() {
  // A cursor at the very end of a segment that is not appended to any more moves on to the next.
  while (segments_.size() > 1 && cursor_.offset >= segments_.front().bytes) removeOldestSegment();
}

void DurableQueue::dropOldestSegment() {
  dropped_ += segments_.front().records - (cursor_.sequence - segments_.front().number);
  removeOldestSegment();
}

DurableQueue::Appended DurableQueue::append(std::string_view payload) {
  Appended result;
  if (payload.size() > kMaxPayload) {
    result.error = "an event of " + std::to_string(payload.size()) + " bytes is larger than a record may be";
    return result;
  }
  const std::uint64_t size = kHeaderBytes + payload.size();
  std::lock_guard lock(mutex_);
  try {
    if (options_.refuseWhenFull) {
      if (pendingBytesLocked() + size > options_.maxBytes + options_.maxBytes / 4) {
        ++dropped_;
        result.error = "the queue is full (notifications.queue.maxbytes)";
        return result;
      }
    } else {
      const std::uint64_t before = dropped_;
      while (pendingBytesLocked() + size > options_.maxBytes) {
        if (pendingRecordsLocked() == 0) {
          ++dropped_;
          result.error = "an event larger than notifications.queue.maxbytes cannot be queued";
          return result;
        }
        if (segments_.size() == 1) rollOver(); // the segment appended to becomes the oldest
        dropOldestSegment();
      }
      result.droppedOldest = dropped_ - before;
    }
    if (segments_.back().bytes > 0 && segments_.back().bytes + size > options_.segmentBytes) rollOver();
  } catch (const std::exception& e) {
    result.error = e.what();
    return result;
  }

  unsigned char header[kHeaderBytes];
  putLittleEndian(header, kMagic, 4);
  putLittleEndian(header + 4, payload.size(), 4);
  putLittleEndian(header + 8, nextSequence_, 8);
  putLittleEndian(header + 16, recordChecksum(header, payload), 4);
  // One writev: a SIGKILL leaves the whole record or (rarely, for large ones) a torn tail that recovery cuts.
  std::uint64_t written = 0;
  while (written < size) {
    iovec parts[2];
    int count = 0;
    if (written < kHeaderBytes) parts[count++] = {header + written, kHeaderBytes - written};
    std::uint64_t payloadDone = written > kHeaderBytes ? written - kHeaderBytes : 0;
    if (payloadDone < payload.size())
      parts[count++] = {const_cast<char*>(payload.data()) + payloadDone, payload.size() - payloadDone};
    ssize_t done = ::writev(writeFd_, parts, count);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) {
      result.error = systemError("cannot append to " + segmentPath(segments_.back().number).string());
      // Nothing half-written may stay in front of the next record.
      if (::ftruncate(writeFd_, static_cast<off_t>(segments_.back().bytes)) != 0) {
        try {
          rollOver();
        } catch (const std::exception&) {
        }
      }
      return result;
    }
    written += static_cast<std::uint64_t>(done);
  }
  Segment& back = segments_.back();
  back.bytes += size;
  ++back.records;
  totalBytes_ += size;
  ++totalRecords_;
  ++nextSequence_;
  writeUnsynced_ = true;
  updateBound();
  result.queued = true;
  return result;
}

DurableQueue::Batch DurableQueue::read(std::size_t maxRecords, std::uint64_t maxBytes) {
  std::vector<Segment> segments;
  Batch batch;
  {
    std::lock_guard lock(mutex_);
    segments.assign(segments_.begin(), segments_.end());
    batch.end = cursor_;
  }
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& segment = segments[i];
    std::uint64_t offset = i == 0 ? batch.end.offset : 0;
    std::uint64_t sequence = i == 0 ? batch.end.sequence : segment.number;
    // Nothing above `segment.bytes` is read: those bytes may still be being written.
    int fd = offset < segment.bytes ? ::open(segmentPath(segment.number).c_str(), O_RDONLY | O_CLOEXEC) : -1;
    if (offset < segment.bytes && fd < 0) break; // dropped meanwhile: the next read starts at the new cursor
    while (offset < segment.bytes && batch.records.size() < maxRecords && bytes < maxBytes) {
      Record record{sequence, {}};
      std::uint64_t size = readRecordAt(fd, offset, segment.bytes, sequence, &record.payload);
      if (size == 0) {
        logger_.write(LogLevel::error,
                      "notification queue: damaged record; the rest of its segment is skipped",
                      {{"endpoint", name_}, {"segment", segmentPath(segment.number).filename().string()}});
        offset = segment.bytes;
        sequence = segment.number + segment.records; // what the cursor counts past this segment's end
        break;
      }
      bytes += record.payload.size();
      batch.records.push_back(std::move(record));
      offset += size;
      ++sequence;
    }
    if (fd >= 0) ::close(fd);
    batch.end = {segment.number, offset, sequence};
    if (offset < segment.bytes) break; // the batch is full
    if (i + 1 < segments.size()) batch.end = {segments[i + 1].number, 0, segments[i + 1].number};
    if (batch.records.size() >= maxRecords || bytes >= maxBytes) break;
  }
  return batch;
}

void DurableQueue::acknowledge(const Position& end) {
  std::lock_guard lock(mutex_);
  if (!(cursor_ < end)) return; // dropped past it meanwhile
  while (segments_.size() > 1 && segments_.front().number < end.segment) removeOldestSegment();
  cursor_ = end;
  skipFinishedSegments();
  saveCursor();
  updateBound();
}

void DurableQueue::saveCursor() {
  // Written whole to a temporary name and renamed: a crash leaves the old cursor or the new one.
  const std::filesystem::path temporary = options_.directory / "cursor.tmp";
  std::string text = std::to_string(cursor_.segment) + " " + std::to_string(cursor_.offset) + "\n";
  int fd = ::open(temporary.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  ok = ok && ::rename(temporary.c_str(), (options_.directory / "cursor").c_str()) == 0;
  // Not fatal: after a restart the unsaved part is delivered again, with the same event ids.
  if (!ok)
    logger_.write(LogLevel::error, "notification queue cursor not saved",
                  {{"endpoint", name_}, {"error", std::strerror(errno)}});
}

void DurableQueue::sync() {
  std::vector<int> rolled;
  int current = -1;
  bool directory = false;
  {
    std::lock_guard lock(mutex_);
    rolled.swap(unsyncedFds_);
    if (writeUnsynced_) current = writeFd_;
    writeUnsynced_ = false;
    directory = directoryUnsynced_;
    directoryUnsynced_ = false;
  }
  for (int fd : rolled) {
    ::fdatasync(fd);
    ::close(fd);
  }
  // Outside the lock: appends go on while the disk catches up. Only this
  // thread closes a segment's descriptor, so it stays valid here.
  if (current >= 0) ::fdatasync(current);
  if (directory) {
    int fd = ::open(options_.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
}

std::uint64_t DurableQueue::pendingRecordsLocked() const {
  return totalRecords_ - (cursor_.sequence - segments_.front().number);
}

std::uint64_t DurableQueue::pendingBytesLocked() const {
  return totalBytes_ - cursor_.offset;
}

void DurableQueue::updateBound() {
  atBound_.store(pendingBytesLocked() >= options_.maxBytes, std::memory_order_relaxed);
}

std::uint64_t DurableQueue::pendingRecords() const {
  std::lock_guard lock(mutex_);
  return pendingRecordsLocked();
}

std::uint64_t DurableQueue::pendingBytes() const {
  std::lock_guard lock(mutex_);
  return pendingBytesLocked();
}

std::uint64_t DurableQueue::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

} // namespace pier
