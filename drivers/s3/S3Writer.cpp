#include "S3Writer.hpp"

#include <algorithm>

#include <pier/errors.hpp>

namespace pier::s3 {
namespace {

constexpr int kMaxParts = 10000; // S3's limit for one upload
// The tail's metadata: the upload it continues and the size of the parts it
// follows. A tail that does not match the upload's parts is stale (the process
// died between uploading a part and storing the new tail) and is dropped: the
// parts hold its bytes already.
constexpr const char* kUploadIdHeader = "x-amz-meta-pier-upload-id";
constexpr const char* kOffsetHeader = "x-amz-meta-pier-offset";
constexpr const char* kNoUpload = "none";

struct Tail {
  std::string uploadId;
  std::int64_t offset = -1;
  std::string content;
};

std::optional<Tail> readTail(const Context& context, S3Bucket& bucket, const std::string& tailKey) {
  S3Response response = bucket.client().send(context, {"GET", tailKey, {}, {}, {}});
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) bucket.client().fail(response, "GET " + tailKey);
  Tail tail;
  tail.uploadId = response.header(kUploadIdHeader);
  std::string offset = response.header(kOffsetHeader);
  if (!offset.empty() && offset.find_first_not_of("0123456789") == std::string::npos)
    tail.offset = std::stoll(offset);
  tail.content = std::move(response.body);
  return tail;
}

class S3Writer final : public FileWriter {
public:
  S3Writer(const Context& context, std::shared_ptr<S3Bucket> bucket, std::string key)
      : context_(context.requestId(), context.logger()), bucket_(std::move(bucket)), key_(std::move(key)),
        tailKey_(bucket_->tailKey(key_)), chunkSize_(static_cast<std::size_t>(bucket_->options().chunkSize)) {
  }

  ~S3Writer() override {
    try {
      park(context_);
    } catch (const std::exception& error) {
      context_.log(LogLevel::error, "s3: closing the writer of " + key_ + " failed: " + error.what());
    }
  }

  void start(const Context& context, bool append) {
    if (!append) {
      discardUncommitted(context, *bucket_, key_);
      return;
    }
    std::vector<UploadEntry> uploads = bucket_->uploads(context, key_);
    std::erase_if(uploads, [&](const UploadEntry& upload) { return upload.key != key_; });
    std::sort(uploads.begin(), uploads.end(),
              [](const UploadEntry& a, const UploadEntry& b) { return a.initiated < b.initiated; });
    // Only the latest upload is resumed; earlier ones are leftovers.
    for (std::size_t i = 0; i + 1 < uploads.size(); ++i)
      bucket_->abortUpload(context, key_, uploads[i].uploadId);
    std::optional<Tail> tail = readTail(context, *bucket_, tailKey_);
    if (!uploads.empty()) {
      uploadId_ = uploads.back().uploadId;
      parts_ = bucket_->parts(context, key_, uploadId_);
      std::sort(parts_.begin(), parts_.end(),
                [](const PartEntry& a, const PartEntry& b) { return a.number < b.number; });
      for (const PartEntry& part : parts_) partsSize_ += part.size;
      // A tail stored before the upload was created still counts while the
      // upload has no part (the process died before its first part was in).
      bool sameUpload =
          tail && (tail->uploadId == uploadId_ || (tail->uploadId == kNoUpload && parts_.empty()));
      if (sameUpload && tail->offset == partsSize_) adoptTail(std::move(*tail));
    } else if (tail && tail->uploadId == kNoUpload && tail->offset == 0) {
      adoptTail(std::move(*tail));
    } else {
      continueCommitted(context);
    }
  }

  void write(const Context& context, const char* data, std::size_t size) override {
    ensureOpen();
    changed_ = true;
    while (size > 0) {
      std::size_t count = std::min(size, chunkSize_ - buffer_.size());
      buffer_.append(data, count);
      data += count;
      size -= count;
      if (buffer_.size() == chunkSize_) {
        uploadPart(context, buffer_);
        buffer_.clear();
      }
    }
  }

  std::int64_t size() const override { return partsSize_ + static_cast<std::int64_t>(buffer_.size()); }

  void close(const Context& context) override { park(context); }

  void cancel(const Context& context) override {
    if (done_) return;
    done_ = true;
    discardUncommitted(context, *bucket_, key_);
  }

  void commit(const Context& context) override {
    ensureOpen();
    if (!uploadId_.empty() && parts_.empty()) { // nothing in the upload: a plain PUT does
      bucket_->abortUpload(context, key_, uploadId_);
      uploadId_.clear();
    }
    if (uploadId_.empty()) {
      bucket_->putObject(context, key_, buffer_);
    } else {
      if (!buffer_.empty()) { // the last part may be smaller than the minimum
        uploadPart(context, buffer_);
        buffer_.clear();
      }
      bucket_->completeUpload(context, key_, uploadId_, parts_);
    }
    done_ = true;
    bucket_->deleteObject(context, tailKey_);
  }

private:
  void ensureOpen() const {
    if (done_) throw StorageError("s3: the writer of " + key_ + " is closed");
  }

  void adoptTail(Tail tail) {
    buffer_ = std::move(tail.content);
    tailStored_ = true;
  }

  // Stores what is left after the parts as the tail object, for a later append.
  void park(const Context& context) {
    if (done_) return;
    done_ = true;
    if (!changed_ && tailStored_) return;
    bucket_->putObject(context, tailKey_, buffer_,
                       {{kUploadIdHeader, uploadId_.empty() ? kNoUpload : uploadId_},
                        {kOffsetHeader, std::to_string(partsSize_)}});
  }

  void uploadPart(const Context& context, std::string_view data) {
    if (parts_.size() >= kMaxParts)
      throw StorageError("s3: " + key_ + " would need more than " + std::to_string(kMaxParts) + " parts");
    if (uploadId_.empty()) uploadId_ = bucket_->createUpload(context, key_);
    int number = parts_.empty() ? 1 : parts_.back().number + 1;
    std::string etag = bucket_->uploadPart(context, key_, uploadId_, number, data);
    parts_.push_back({number, etag, static_cast<std::int64_t>(data.size())});
    partsSize_ += static_cast<std::int64_t>(data.size());
  }

  // Nothing uncommitted: the committed object, if any, is the start. Small
  // ones are read into the buffer; larger ones become the upload's first
  // parts by UploadPartCopy, without passing through Pier.
  void continueCommitted(const Context& context) {
    std::optional<ObjectEntry> object = bucket_->head(context, key_);
    if (!object) return;
    if (object->size < kMinPartSize) {
      S3Response response =
          bucket_->client().send(context, {"GET", key_, {}, {{"If-Match", object->etag}}, {}});
      if (response.status != 200) bucket_->client().fail(response, "GET " + key_);
      buffer_ = std::move(response.body);
      changed_ = true;
      return;
    }
    std::int64_t pieces = (object->size + kMaxPartSize - 1) / kMaxPartSize;
    std::int64_t pieceSize = (object->size + pieces - 1) / pieces;
    uploadId_ = bucket_->createUpload(context, key_);
    for (std::int64_t begin = 0; begin < object->size; begin += pieceSize) {
      std::int64_t end = std::min(object->size, begin + pieceSize);
      int number = static_cast<int>(parts_.size()) + 1;
      std::string etag = bucket_->uploadPartCopy(context, key_, uploadId_, number, key_, begin, end);
      parts_.push_back({number, etag, end - begin});
      partsSize_ += end - begin;
    }
    changed_ = true;
  }

  // The context of the request that opened the writer, without its deadline:
  // for resuming at open, and for storing the tail when the writer is
  // dropped unclosed (after that request may be gone).
  Context context_;
  std::shared_ptr<S3Bucket> bucket_;
  std::string key_;
  std::string tailKey_;
  std::size_t chunkSize_;
  std::string uploadId_; // empty until the first part
  std::vector<PartEntry> parts_;
  std::int64_t partsSize_ = 0;
  std::string buffer_;      // after the parts; less than a part
  bool tailStored_ = false; // the tail object holds buffer_ as it is
  bool changed_ = false;
  bool done_ = false;
};

} // namespace

void discardUncommitted(const Context& context, S3Bucket& bucket, const std::string& key) {
  for (const UploadEntry& upload : bucket.uploads(context, key))
    if (upload.key == key) bucket.abortUpload(context, key, upload.uploadId);
  bucket.deleteObject(context, bucket.tailKey(key));
}

std::unique_ptr<FileWriter> openS3Writer(const Context& context, std::shared_ptr<S3Bucket> bucket,
                                         const std::string& key, bool append) {
  auto writer = std::make_unique<S3Writer>(context, std::move(bucket), key);
  writer->start(context, append);
  return writer;
}

} // namespace pier::s3
