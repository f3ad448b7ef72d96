#include "S3Reader.hpp"

#include <Poco/Exception.h>

#include <pier/errors.hpp>

namespace pier::s3 {
namespace {

constexpr int kMaxResumes = 5;

class S3Reader final : public FileReader {
public:
  S3Reader(const Context& context, std::shared_ptr<S3Bucket> bucket, std::string path, std::string key,
           std::int64_t offset)
      : context_(context.requestId(), context.logger()), bucket_(std::move(bucket)), path_(std::move(path)),
        key_(std::move(key)), position_(offset) {
    open(context, "");
  }

  std::size_t read(char* buffer, std::size_t size) override {
    for (int resumes = 0;; ++resumes) {
      if (position_ >= end_ || size == 0) return 0;
      std::size_t count = 0;
      try {
        if (stream_) count = stream_->read(buffer, size);
      } catch (const Poco::Exception& error) {
        context_.log(LogLevel::warn, "s3: reading " + key_ + " broke off: " + error.displayText());
      }
      if (count > 0) {
        position_ += static_cast<std::int64_t>(count);
        return count;
      }
      // The body ended before its length: the connection broke. Resume.
      stream_.reset();
      if (resumes == kMaxResumes)
        throw StorageUnavailableError("s3: reading " + key_ + " broke off at " + std::to_string(position_));
      open(context_, etag_);
    }
  }

private:
  void open(const Context& context, const std::string& ifMatch) {
    if (position_ < 0) throw InvalidOffsetError(path_, position_);
    S3Request request{"GET", key_, {}, {}, {}};
    if (position_ > 0) request.headers.emplace_back("Range", "bytes=" + std::to_string(position_) + "-");
    if (!ifMatch.empty()) request.headers.emplace_back("If-Match", ifMatch);
    stream_ = bucket_->client().open(context, request);
    const S3Response& head = stream_->head();
    if (head.status == 404) throw PathNotFoundError(path_);
    if (head.status == 412) throw StorageError("s3: " + key_ + " was replaced while it was read");
    if (head.status == 416) { // at or past the end: only the very end is an offset
      stream_.reset();
      std::optional<ObjectEntry> object = bucket_->head(context, key_);
      if (!object) throw PathNotFoundError(path_);
      if (object->size != position_) throw InvalidOffsetError(path_, position_);
      end_ = position_;
      return;
    }
    if (head.status != 200 && head.status != 206) bucket_->client().fail(head, "GET " + key_);
    std::string length = head.header("content-length");
    end_ = position_ + (length.empty() ? 0 : std::stoll(length));
    if (etag_.empty()) etag_ = head.header("etag");
  }

  // A context of the reader's own: the one it was opened with ends with its
  // request's handler, while the reader may live on in the response.
  Context context_;
  std::shared_ptr<S3Bucket> bucket_;
  std::string path_;
  std::string key_;
  std::string etag_;
  std::int64_t position_;
  std::int64_t end_ = 0;
  std::unique_ptr<S3Stream> stream_;
};

} // namespace

std::unique_ptr<FileReader> openS3Reader(const Context& context, std::shared_ptr<S3Bucket> bucket,
                                         const std::string& path, const std::string& key,
                                         std::int64_t offset) {
  return std::make_unique<S3Reader>(context, std::move(bucket), path, key, offset);
}

} // namespace pier::s3
