#pragma once

#include <memory>
#include <string>

#include <pier/context.hpp>
#include <pier/storage_driver.hpp>

#include "S3Bucket.hpp"

namespace pier::s3 {

// A writer of the object at key (see docs/ARCHITECTURE.md, "The s3 driver"):
// full parts of chunksize go into a multipart upload on the final key; what is
// left when the writer closes (less than a part) is stored as a tail object
// beside, so that a writer in another process resumes from ListParts and the
// tail. commit() completes the upload (or PUTs the object when it never grew
// a part); cancel() aborts it and deletes the tail.
std::unique_ptr<FileWriter> openS3Writer(const Context& context, std::shared_ptr<S3Bucket> bucket,
                                         const std::string& key, bool append);

// Aborts every multipart upload of exactly key and deletes its tail.
void discardUncommitted(const Context& context, S3Bucket& bucket, const std::string& key);

} // namespace pier::s3
