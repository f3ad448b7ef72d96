#include "proxy/CachingBlobReader.hpp"

#include <algorithm>

#include "storage/Paths.hpp"
#include "storage/Registry.hpp"

namespace pier {

CachingBlobReader::CachingBlobReader(const Context& context, Registry& registry, std::string repository,
                                     Descriptor descriptor, UpstreamResponse response,
                                     std::unique_ptr<KeyedMutex::Guard> fetchLock)
    : context_(context), registry_(registry), repository_(std::move(repository)),
      descriptor_(std::move(descriptor)), digest_(*Digest::parse(descriptor_.digest)),
      response_(std::move(response)), fetchLock_(std::move(fetchLock)), digester_(digest_.algorithm()) {
  uploadId_ = registry_.uploads().start(context_, repository_);
  writer_ = registry_.driver().writer(context_, paths::uploadData(repository_, uploadId_), false);
}

CachingBlobReader::~CachingBlobReader() {
  if (committed_) return;
  try {
    writer_->cancel(context_);
    registry_.uploads().cancel(context_, repository_, uploadId_);
  } catch (const std::exception& e) {
    context_.log(LogLevel::warn, "cannot remove the pull-through upload " + uploadId_ + ": " + e.what());
  }
  context_.log(LogLevel::info, "pull-through of " + descriptor_.digest + " stopped after " +
                                   std::to_string(received_) + " of " + std::to_string(descriptor_.size) +
                                   " bytes; nothing stored");
}

std::size_t CachingBlobReader::read(char* buffer, std::size_t size) {
  const std::int64_t left = descriptor_.size - received_;
  if (left <= 0 || size == 0) return 0;
  response_.body->read(buffer, static_cast<std::streamsize>(std::min<std::int64_t>(left, size)));
  const auto got = static_cast<std::size_t>(response_.body->gcount());
  if (got == 0)
    throw UpstreamUnavailable("the blob " + descriptor_.digest + " ended after " + std::to_string(received_) +
                              " of " + std::to_string(descriptor_.size) + " bytes");
  digester_.update(buffer, got);
  writer_->write(context_, buffer, got);
  received_ += static_cast<std::int64_t>(got);
  // Checked before the last piece is handed on.
  if (received_ == descriptor_.size) commit();
  return got;
}

void CachingBlobReader::commit() {
  Digest actual = digester_.digest();
  if (!(actual == digest_))
    throw UpstreamUnavailable("the blob " + descriptor_.digest + " arrived with the digest " +
                              actual.toString() + "; not stored");
  writer_->commit(context_);
  registry_.uploads().commitVerified(
      context_, repository_, uploadId_,
      Descriptor{descriptor_.digest, descriptor_.size, "application/octet-stream"});
  committed_ = true;
  fetchLock_.reset();
}

} // namespace pier
