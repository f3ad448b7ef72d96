#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <pier/blob_descriptor_cache.hpp>
#include <pier/storage_driver.hpp>

#include "proxy/UpstreamClient.hpp"
#include "storage/Digester.hpp"
#include "util/KeyedMutex.hpp"

namespace pier {

class Registry;

// A blob read from the upstream's answer while the client is sent it: every
// piece is hashed and written to an upload of its own (under _uploads, so the
// upload purger removes what a crash leaves). When the last byte has arrived
// the digest is checked before that piece is handed on: a blob that does not
// match is never stored and the client never gets all of it. A reader
// destroyed before the end (the client went away, the upstream broke off)
// cancels the upload: nothing partial is left behind. Read on the request's
// thread, within the request (its Context must outlive the reader).
class CachingBlobReader : public FileReader {
public:
  CachingBlobReader(const Context& context, Registry& registry, std::string repository, Descriptor descriptor,
                    UpstreamResponse response, std::unique_ptr<KeyedMutex::Guard> fetchLock);
  ~CachingBlobReader() override;

  std::size_t read(char* buffer, std::size_t size) override;

private:
  void commit();

  const Context& context_;
  Registry& registry_;
  std::string repository_;
  Descriptor descriptor_;
  Digest digest_;
  UpstreamResponse response_;
  std::unique_ptr<KeyedMutex::Guard> fetchLock_; // released after the commit (or the cancel)
  std::string uploadId_;
  std::unique_ptr<FileWriter> writer_;
  Digester digester_;
  std::int64_t received_ = 0;
  bool committed_ = false;
};

} // namespace pier
