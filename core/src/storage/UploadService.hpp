#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>

#include "storage/BlobStore.hpp"
#include "storage/CollectionFence.hpp"
#include "storage/Digester.hpp"
#include "storage/Reference.hpp"
#include "util/KeyedMutex.hpp"

namespace pier {

// A request body to stream into an upload: the stream and, when the client
// sent one, its Content-Length (a shorter body means the client went away).
struct UploadBody {
  std::istream& stream;
  std::optional<std::int64_t> contentLength;
};

// Blob uploads (Distribution's blobwriter): data is appended under
// _uploads/<id>/data and hashed as it streams in; the hash state is saved
// with each chunk so an upload resumes in a new process. Finishing verifies
// the digest, moves the data into the blob store and links it into the
// repository. Any failure while a body streams in cancels the whole upload,
// so nothing partial is left behind.
class UploadService {
public:
  explicit UploadService(BlobStore& blobs) : blobs_(blobs), driver_(blobs.driver()), fence_(driver_) {}

  std::string start(const Context& context, const std::string& repository); // returns the upload id
  // Bytes received so far; BLOB_UPLOAD_UNKNOWN for an unknown id.
  std::int64_t size(const Context& context, const std::string& repository, const std::string& id);
  // Appends a chunk. With expectedStart, a chunk that does not start at the
  // current size is refused with RANGE_INVALID (the current size in its detail).
  std::int64_t append(const Context& context, const std::string& repository, const std::string& id,
                      UploadBody body, std::optional<std::int64_t> expectedStart = std::nullopt);
  // Appends the last chunk (if any), verifies the digest, commits the blob.
  Descriptor finish(const Context& context, const std::string& repository, const std::string& id,
                    const Digest& expected, UploadBody* lastChunk);
  void cancel(const Context& context, const std::string& repository, const std::string& id);
  // Moves an upload's committed data, whose digest the caller verified, into
  // the blob store and links it (safe beside garbage collections), then
  // removes the upload. Takes no lock: for uploads only the caller knows (a
  // pull-through fetch) and for finish(), which holds it.
  Descriptor commitVerified(const Context& context, const std::string& repository, const std::string& id,
                            const Descriptor& descriptor);

  // True for text that can be an upload id (a UUID); anything else is unknown.
  static bool isValidId(std::string_view id);

private:
  void requireUpload(const Context& context, const std::string& repository, const std::string& id);
  std::int64_t appendLocked(const Context& context, const std::string& repository, const std::string& id,
                            UploadBody* body, std::optional<std::int64_t> expectedStart, Digester& digester);
  void discard(const Context& context, const std::string& repository, const std::string& id) noexcept;
  void requireUncommitted(const Context& context, const std::string& repository, const std::string& id,
                          std::int64_t size);

  BlobStore& blobs_;
  StorageDriver& driver_;
  CollectionFence fence_;
  // Requests on one upload run one at a time; other uploads never wait for them.
  KeyedMutex locks_;
};

} // namespace pier
