#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <pier/context.hpp>
#include <pier/storage_driver.hpp>

#include "S3Bucket.hpp"

namespace pier::s3 {

// Opens a reader of the object at key from offset: one GET whose body is
// streamed as the caller reads, so that a blob is never held in memory and the
// reader keeps the content it was opened on when the object is replaced. A
// connection that breaks off is resumed from the position reached, on the
// same version of the object (If-Match its ETag).
std::unique_ptr<FileReader> openS3Reader(const Context& context, std::shared_ptr<S3Bucket> bucket,
                                         const std::string& path, const std::string& key,
                                         std::int64_t offset);

} // namespace pier::s3
