#include "http/Exchange.hpp"
#include "http/Handlers.hpp"
#include "http/RequestParts.hpp"
#include "storage/Repository.hpp"

namespace pier {

void getBlob(Exchange& exchange, Repository& repository, const std::string& reference) {
  Digest digest = requireDigest(reference);
  auto descriptor = repository.statBlob(digest);
  if (!descriptor) throw errcode::Exception(errcode::BlobUnknown, "", digest.toString());

  auto& response = exchange.response();
  // '"', not "\"": GCC 12 -Wrestrict misfires at -O3 on "literal" + a temporary string.
  const std::string etag = '"' + digest.toString() + '"';
  response.set("Docker-Content-Digest", digest.toString());
  response.set("ETag", etag);
  response.set("Cache-Control", "max-age=31536000");
  response.set("Accept-Ranges", "bytes");
  if (exchange.request().get("If-None-Match", "") == etag) return exchange.sendEmpty(304);

  if (!exchange.isHead() && repository.redirectsEnabled()) {
    if (auto url = repository.blobRedirect(*descriptor, exchange.method(), exchange.requestHeaders())) {
      response.set("Location", *url);
      return exchange.sendEmpty(307);
    }
  }

  const std::int64_t size = descriptor->size;
  ByteRange range{0, size};
  int status = 200;
  if (auto header = exchange.request().get("Range", ""); !header.empty()) {
    auto parsed = parseRangeHeader(header, size);
    if (parsed.unsatisfiable) {
      response.set("Content-Range", "bytes */" + std::to_string(size));
      throw errcode::Exception(errcode::RangeInvalid, "range " + header + " is outside the blob's " +
                                                          std::to_string(size) + " bytes");
    }
    if (parsed.range) {
      range = *parsed.range;
      status = 206;
      response.set("Content-Range", "bytes " + std::to_string(range.start) + "-" +
                                        std::to_string(range.start + range.length - 1) + "/" +
                                        std::to_string(size));
    }
  }
  response.setContentType("application/octet-stream");
  if (exchange.isHead()) {
    response.setContentLength64(range.length);
    return exchange.sendHeaders(status);
  }
  // Opened before anything is sent: a blob gone since the stat still gets a proper 404.
  auto blob = repository.openBlob(*descriptor, range.start);
  exchange.sendFile(status, std::move(blob.reader), range.length);
}

void deleteBlob(Exchange& exchange, Repository& repository, const std::string& reference) {
  repository.deleteBlob(requireDigest(reference));
  exchange.sendEmpty(202);
}

} // namespace pier
