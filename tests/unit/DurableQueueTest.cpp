// The durable queue of notification endpoints on a real directory: order,
// acknowledgement, restarts, torn and damaged records, the bound under both
// policies, the lock.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "PierProcess.hpp" // TempDir
#include "events/DurableQueue.hpp"
#include "pier/errors.hpp"

namespace pier {
namespace {

using test::TempDir;

// A payload that names its number, padded to `size` bytes.
std::string payload(int number, std::size_t size = 40) {
  std::string text = "event-" + std::to_string(number) + "-";
  text.resize(std::max(size, text.size()), 'x');
  return text;
}

int numberOf(const std::string& payload) {
  return std::stoi(payload.substr(6, payload.find('-', 6) - 6));
}

std::vector<int> numbers(const DurableQueue::Batch& batch) {
  std::vector<int> out;
  for (const auto& record : batch.records) out.push_back(numberOf(record.payload));
  return out;
}

std::vector<int> range(int first, int last) {
  std::vector<int> out;
  for (int i = first; i <= last; ++i) out.push_back(i);
  return out;
}

std::vector<std::filesystem::path> segments(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(directory))
    if (entry.path().filename().string().rfind("segment-", 0) == 0) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

class DurableQueueTest : public ::testing::Test {
protected:
  DurableQueueTest()
      : logFile_(std::tmpfile()), logger_(LogLevel::info, LineLogger::Format::text, logFile_) {}
  ~DurableQueueTest() override { std::fclose(logFile_); }

  std::unique_ptr<DurableQueue> open(std::uint64_t maxBytes = 1 << 20, bool refuse = false,
                                     std::uint64_t segmentBytes = 0) {
    return std::make_unique<DurableQueue>(
        DurableQueue::Options{dir_.path() / "queue", maxBytes, refuse, segmentBytes}, "test", logger_);
  }

  std::string log() {
    std::fflush(logFile_);
    std::rewind(logFile_);
    std::string text;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, logFile_)) text.append(buffer, n);
    return text;
  }

  TempDir dir_;
  std::FILE* logFile_;
  LineLogger logger_;
};

TEST_F(DurableQueueTest, ReadsInOrderUntilAcknowledged) {
  auto queue = open();
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(queue->append(payload(i)).queued);
  EXPECT_EQ(queue->pendingRecords(), 5u);

  auto batch = queue->read(3, 1 << 20);
  EXPECT_EQ(numbers(batch), range(1, 3));
  // Unacknowledged, the same records come again: a redelivery carries the same event.
  EXPECT_EQ(numbers(queue->read(3, 1 << 20)), range(1, 3));
  queue->acknowledge(batch.end);
  EXPECT_EQ(queue->pendingRecords(), 2u);
  auto rest = queue->read(10, 1 << 20);
  EXPECT_EQ(numbers(rest), range(4, 5));
  queue->acknowledge(rest.end);
  EXPECT_EQ(queue->pendingRecords(), 0u);
  EXPECT_EQ(queue->pendingBytes(), 0u);
  EXPECT_TRUE(queue->read(10, 1 << 20).records.empty());
  // An old position acknowledged again moves nothing back.
  queue->acknowledge(batch.end);
  EXPECT_EQ(queue->pendingRecords(), 0u);
}

TEST_F(DurableQueueTest, SequencesIncreaseAndBatchesStopAtTheirByteLimit) {
  auto queue = open();
  for (int i = 1; i <= 4; ++i) queue->append(payload(i, 100));
  auto batch = queue->read(10, 150); // the second record passes 150 bytes: the batch ends after it
  ASSERT_EQ(batch.records.size(), 2u);
  EXPECT_EQ(batch.records[1].sequence, batch.records[0].sequence + 1);
}

TEST_F(DurableQueueTest, RestartKeepsWhatWasNotAcknowledged) {
  {
    auto queue = open(1 << 20, false, 4096);
    for (int i = 1; i <= 30; ++i) queue->append(payload(i, 500)); // several segments
    auto batch = queue->read(12, 1 << 20);
    queue->acknowledge(batch.end);
  }
  auto queue = open(1 << 20, false, 4096);
  EXPECT_EQ(queue->pendingRecords(), 18u);
  EXPECT_EQ(numbers(queue->read(100, 1 << 20)), range(13, 30));
  // Appends after the restart follow in order.
  queue->append(payload(31, 500));
  EXPECT_EQ(numbers(queue->read(100, 1 << 20)), range(13, 31));
}

TEST_F(DurableQueueTest, AcknowledgedSegmentsAreDeleted) {
  auto queue = open(1 << 20, false, 4096);
  for (int i = 1; i <= 30; ++i) queue->append(payload(i, 500));
  std::size_t before = segments(dir_ / "queue").size();
  ASSERT_GE(before, 3u);
  for (int round = 0; round < 10 && queue->pendingRecords() > 0; ++round)
    queue->acknowledge(queue->read(100, 1 << 20).end);
  EXPECT_EQ(queue->pendingRecords(), 0u);
  EXPECT_EQ(segments(dir_ / "queue").size(), 1u); // the one appended to stays
}

TEST_F(DurableQueueTest, TornTailIsCutAndAppendsContinueAfterTheLastGoodRecord) {
  {
    auto queue = open();
    for (int i = 1; i <= 4; ++i) queue->append(payload(i));
  }
  // What a SIGKILL in the middle of the fourth write leaves: part of its record.
  auto files = segments(dir_ / "queue");
  ASSERT_EQ(files.size(), 1u);
  auto size = std::filesystem::file_size(files[0]);
  std::filesystem::resize_file(files[0], size - 7);
  {
    auto queue = open();
    EXPECT_EQ(queue->pendingRecords(), 3u);
    EXPECT_NE(log().find("cut a torn or damaged record"), std::string::npos) << log();
    queue->append(payload(5));
    EXPECT_EQ(numbers(queue->read(10, 1 << 20)), (std::vector<int>{1, 2, 3, 5}));
  }
  auto queue = open();
  EXPECT_EQ(numbers(queue->read(10, 1 << 20)), (std::vector<int>{1, 2, 3, 5}));
}

TEST_F(DurableQueueTest, DamagedRecordEndsItsSegmentAndLaterSegmentsAreKept) {
  {
    auto queue = open(1 << 20, false, 4096);
    for (int i = 1; i <= 6; ++i) queue->append(payload(i, 1500)); // two records per segment
  }
  auto files = segments(dir_ / "queue");
  ASSERT_EQ(files.size(), 3u);
  {
    // One byte of the first segment's second record's payload changes.
    std::fstream file(files[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(1520 + 20 + 100);
    file.put('!');
  }
  auto queue = open(1 << 20, false, 4096);
  EXPECT_EQ(numbers(queue->read(10, 1 << 20)), (std::vector<int>{1, 3, 4, 5, 6}));
  EXPECT_NE(log().find("damaged record; the rest of its segment is lost"), std::string::npos) << log();
}

TEST_F(DurableQueueTest, UnreadableCursorRedeliversRatherThanLoses) {
  {
    auto queue = open();
    for (int i = 1; i <= 3; ++i) queue->append(payload(i));
    queue->acknowledge(queue->read(1, 1 << 20).end);
  }
  { std::ofstream(dir_ / "queue" / "cursor") << "garbage"; }
  auto queue = open();
  EXPECT_EQ(numbers(queue->read(10, 1 << 20)), range(1, 3));
  EXPECT_NE(log().find("cursor unreadable"), std::string::npos) << log();
}

TEST_F(DurableQueueTest, DropOldestKeepsTheNewestWithinTheBound) {
  const std::uint64_t maxBytes = 16 * 1024;
  auto queue = open(maxBytes, false);
  std::uint64_t droppedReported = 0;
  for (int i = 1; i <= 100; ++i) {
    auto appended = queue->append(payload(i, 500));
    ASSERT_TRUE(appended.queued) << appended.error;
    droppedReported += appended.droppedOldest;
    ASSERT_LE(queue->pendingBytes(), maxBytes);
  }
  auto pending = queue->pendingRecords();
  EXPECT_GT(pending, 0u);
  EXPECT_EQ(droppedReported, 100 - pending);
  EXPECT_EQ(queue->dropped(), 100 - pending);
  // What is left is the newest, in order, without a gap.
  EXPECT_EQ(numbers(queue->read(1000, 1 << 20)), range(static_cast<int>(101 - pending), 100));
}

TEST_F(DurableQueueTest, DropOldestWhileABatchIsInFlight) {
  auto queue = open(16 * 1024, false);
  for (int i = 1; i <= 10; ++i) queue->append(payload(i, 500));
  auto inFlight = queue->read(5, 1 << 20);
  for (int i = 11; i <= 100; ++i) queue->append(payload(i, 500));
  // The batch was dropped meanwhile: acknowledging it must not move the cursor back.
  auto pending = queue->pendingRecords();
  queue->acknowledge(inFlight.end);
  EXPECT_EQ(queue->pendingRecords(), pending);
  EXPECT_EQ(numbers(queue->read(1000, 1 << 20)).back(), 100);
}

TEST_F(DurableQueueTest, RefuseStopsAtTheBoundAndRefusesPastTheCeiling) {
  const std::uint64_t maxBytes = 16 * 1024;
  auto queue = open(maxBytes, true);
  int queued = 0;
  bool refused = false;
  for (int i = 1; i <= 100 && !refused; ++i) {
    auto appended = queue->append(payload(i, 500));
    EXPECT_EQ(appended.droppedOldest, 0u);
    if (appended.queued)
      ++queued;
    else
      refused = true;
    if (queue->pendingBytes() < maxBytes) {
      EXPECT_FALSE(queue->atBound());
    }
  }
  ASSERT_TRUE(refused);
  EXPECT_TRUE(queue->atBound());
  EXPECT_LE(queue->pendingBytes(), maxBytes + maxBytes / 4);
  EXPECT_EQ(queue->dropped(), 1u);
  // Nothing queued was lost: every record is there, in order.
  EXPECT_EQ(numbers(queue->read(1000, 1 << 20)), range(1, queued));
  for (int round = 0; round < 100 && queue->pendingRecords() > 0; ++round)
    queue->acknowledge(queue->read(100, 1 << 20).end);
  EXPECT_FALSE(queue->atBound());
  EXPECT_TRUE(queue->append(payload(1000, 500)).queued);
}

TEST_F(DurableQueueTest, RecordLargerThanTheBoundIsNotQueued) {
  auto queue = open(8192, false);
  EXPECT_FALSE(queue->append(std::string(9000, 'x')).queued);
  EXPECT_TRUE(queue->append(payload(1)).queued);
}

TEST_F(DurableQueueTest, OneProcessPerDirectory) {
  auto queue = open();
  try {
    open();
    FAIL() << "a second queue opened the same directory";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another process"), std::string::npos) << e.what();
  }
}

TEST(QueueDirectoryName, KeepsPlainNamesAndEncodesTheRest) {
  EXPECT_EQ(queueDirectoryName("audit-log_1.v2"), "audit-log_1.v2");
  EXPECT_EQ(queueDirectoryName("a/b"), "a%2Fb");
  EXPECT_EQ(queueDirectoryName(".."), "%2E.");
  EXPECT_EQ(queueDirectoryName("my listener"), "my%20listener");
}

} // namespace
} // namespace pier
