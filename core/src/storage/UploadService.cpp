#include "storage/UploadService.hpp"

#include <chrono>
#include <ctime>
#include <memory>

#include "errcode/ErrorCode.hpp"
#include "storage/Paths.hpp"
#include "util/Uuid.hpp"

namespace pier {

namespace {

constexpr std::size_t kChunkSize = 1 << 20; // 1 MiB per read from the socket
const std::string kCanonicalAlgorithm = "sha256";

std::string rfc3339Now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

errcode::Exception uploadUnknown(const std::string& id) {
  return errcode::Exception(errcode::BlobUploadUnknown, "", id);
}

} // namespace

bool UploadService::isValidId(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string UploadService::start(const Context& context, const std::string& repository) {
  std::string id = newUuid();
  driver_.putContent(context, paths::uploadStartedAt(repository, id), rfc3339Now());
  return id;
}

void UploadService::requireUpload(const Context& context, const std::string& repository,
                                  const std::string& id) {
  if (!isValidId(id)) throw uploadUnknown(id);
  try {
    driver_.stat(context, paths::uploadStartedAt(repository, id));
  } catch (const PathNotFoundError&) {
    throw uploadUnknown(id);
  }
}

std::int64_t UploadService::size(const Context& context, const std::string& repository,
                                 const std::string& id) {
  auto lock = locks_.lock(id);
  requireUpload(context, repository, id);
  auto writer = driver_.writer(context, paths::uploadData(repository, id), true);
  std::int64_t size = writer->size();
  writer->close(context);
  requireUncommitted(context, repository, id, size);
  return size;
}

// An upload without data but with a hash state had its data moved to the blob
// by a finish that a crash cut off before the upload was removed: it is done,
// not an empty upload to start again.
void UploadService::requireUncommitted(const Context& context, const std::string& repository,
                                       const std::string& id, std::int64_t size) {
  if (size > 0) return;
  try {
    if (driver_.list(context, paths::uploadHashStates(repository, id, kCanonicalAlgorithm)).empty()) return;
  } catch (const PathNotFoundError&) {
    return;
  }
  discard(context, repository, id);
  throw uploadUnknown(id);
}

void UploadService::discard(const Context& context, const std::string& repository,
                            const std::string& id) noexcept {
  try {
    driver_.remove(context, paths::upload(repository, id));
  } catch (const std::exception& e) {
    context.log(LogLevel::warn, "cannot remove upload " + id + ": " + e.what());
  }
}

std::int64_t UploadService::appendLocked(const Context& context, const std::string& repository,
                                         const std::string& id, UploadBody* body,
                                         std::optional<std::int64_t> expectedStart, Digester& digester) {
  auto writer = driver_.writer(context, paths::uploadData(repository, id), true);
  const std::int64_t offset = writer->size();
  requireUncommitted(context, repository, id, offset);
  if (expectedStart && *expectedStart != offset) {
    writer->close(context);
    throw errcode::Exception(errcode::RangeInvalid,
                             "chunk starts at " + std::to_string(*expectedStart) + ", the upload has " +
                                 std::to_string(offset) + " bytes",
                             offset);
  }
  if (offset > 0) {
    std::string state;
    try {
      state =
          driver_.getContent(context, paths::uploadHashState(repository, id, kCanonicalAlgorithm, offset));
    } catch (const PathNotFoundError&) {
    }
    if (!digester.restoreState(state)) {
      writer->close(context);
      discard(context, repository, id);
      throw errcode::Exception(errcode::BlobUploadInvalid, "the upload's hash state at offset " +
                                                               std::to_string(offset) +
                                                               " is lost; start again");
    }
  }
  if (!body) return offset;

  std::int64_t received = 0;
  try {
    std::unique_ptr<char[]> buffer(new char[kChunkSize]);
    while (true) {
      body->stream.read(buffer.get(), kChunkSize);
      std::streamsize got = body->stream.gcount();
      if (got > 0) {
        digester.update(buffer.get(), static_cast<std::size_t>(got));
        writer->write(context, buffer.get(), static_cast<std::size_t>(got));
        received += got;
      }
      if (!body->stream) break;
      context.throwIfDone();
    }
    if (body->stream.bad()) throw std::runtime_error("reading the request body failed");
    if (body->contentLength && received != *body->contentLength)
      throw std::runtime_error("the client sent " + std::to_string(received) + " of " +
                               std::to_string(*body->contentLength) + " bytes");
  } catch (const std::exception& e) {
    // Half a chunk cannot be told from a whole one later: drop the upload.
    try {
      writer->cancel(context);
    } catch (...) {
    }
    discard(context, repository, id);
    // Storage that is down is worth a retry (503), the client's fault is not (400).
    if (dynamic_cast<const StorageUnavailableError*>(&e)) throw;
    throw errcode::Exception(errcode::BlobUploadInvalid, std::string("upload aborted: ") + e.what(), id);
  }
  writer->close(context);
  const std::int64_t size = offset + received;
  if (received > 0) {
    driver_.putContent(context, paths::uploadHashState(repository, id, kCanonicalAlgorithm, size),
                       digester.saveState());
    if (offset > 0) {
      try {
        driver_.remove(context, paths::uploadHashState(repository, id, kCanonicalAlgorithm, offset));
      } catch (const PathNotFoundError&) {
      }
    }
  }
  return size;
}

std::int64_t UploadService::append(const Context& context, const std::string& repository,
                                   const std::string& id, UploadBody body,
                                   std::optional<std::int64_t> expectedStart) {
  auto lock = locks_.lock(id);
  requireUpload(context, repository, id);
  Digester digester(kCanonicalAlgorithm);
  return appendLocked(context, repository, id, &body, expectedStart, digester);
}

Descriptor UploadService::finish(const Context& context, const std::string& repository, const std::string& id,
                                 const Digest& expected, UploadBody* lastChunk) {
  auto lock = locks_.lock(id);
  requireUpload(context, repository, id);
  Digester digester(kCanonicalAlgorithm);
  const std::int64_t size = appendLocked(context, repository, id, lastChunk, std::nullopt, digester);

  const std::string dataPath = paths::uploadData(repository, id);
  {
    auto writer = driver_.writer(context, dataPath, true);
    writer->commit(context);
  }
  Digest actual = digester.digest();
  if (expected.algorithm() != kCanonicalAlgorithm) {
    // Only the canonical digest is kept while streaming; another is computed once, here.
    Digester other(expected.algorithm());
    auto reader = driver_.reader(context, dataPath, 0);
    std::unique_ptr<char[]> buffer(new char[kChunkSize]);
    while (std::size_t got = reader->read(buffer.get(), kChunkSize)) other.update(buffer.get(), got);
    actual = other.digest();
  }
  if (!(actual == expected)) {
    discard(context, repository, id);
    throw errcode::Exception(errcode::DigestInvalid,
                             "the upload's digest is " + actual.toString() + ", not " + expected.toString(),
                             expected.toString());
  }

  return commitVerified(context, repository, id,
                        Descriptor{expected.toString(), size, "application/octet-stream"});
}

Descriptor UploadService::commitVerified(const Context& context, const std::string& repository,
                                         const std::string& id, const Descriptor& descriptor) {
  const Digest expected = *Digest::parse(descriptor.digest);
  const std::string dataPath = paths::uploadData(repository, id);
  bool moved = false;
  fence_.writeSettled(context, {descriptor.digest}, "the blob was committed", [&] {
    // Storage, not the cache, decides whether these bytes may be dropped.
    if (!blobs_.statStored(context, expected)) {
      if (moved)
        throw errcode::Exception(
            errcode::BlobUploadInvalid,
            "a garbage collection deleted the blob while it was committed; upload it again", id);
      driver_.move(context, dataPath, paths::blobData(expected));
      blobs_.remember(context, descriptor);
      moved = true;
    } // else content-addressed: the blob is there already; this copy is kept until the link is settled.
    blobs_.link(context, repository, LinkSpace::layers, descriptor);
    return true;
  });
  discard(context, repository, id);
  return descriptor;
}

void UploadService::cancel(const Context& context, const std::string& repository, const std::string& id) {
  auto lock = locks_.lock(id);
  requireUpload(context, repository, id);
  discard(context, repository, id);
}

} // namespace pier
