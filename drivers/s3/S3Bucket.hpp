// The bucket as the s3 driver sees it: Distribution's key layout, the
// headers new objects get, and the S3 operations the driver, its readers and
// its writers share.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pier/context.hpp>

#include "S3Client.hpp"
#include "S3Options.hpp"
#include "S3Xml.hpp"

namespace pier::s3 {

class S3Bucket {
public:
  explicit S3Bucket(const S3Options& options);

  S3Client& client() { return client_; }
  const S3Options& options() const { return client_.options(); }

  // Distribution's s3Path: the root without trailing '/', then the path,
  // without leading '/'. "/" under an empty root is the key "".
  std::string key(const std::string& path) const;
  // The prefix of everything below a directory path ("" or ends with '/').
  std::string directoryPrefix(const std::string& path) const;
  // The path of a key under the root; "" when the key is outside it.
  std::string pathOf(const std::string& key) const;
  // Where a writer keeps its uncommitted tail (below the multipart part
  // size) for a key: below a root-level name no path can spell ('~'), so that
  // listings never show it.
  std::string tailKey(const std::string& key) const;
  std::string tailPrefix(const std::string& prefix) const;

  // Headers of objects the driver creates: type, storage class, encryption, ACL.
  Parameters objectHeaders() const;

  std::optional<ObjectEntry> head(const Context& context, const std::string& key);
  void putObject(const Context& context, const std::string& key, std::string_view content,
                 Parameters extraHeaders = {});
  // Deleting a missing key is no error.
  void deleteObject(const Context& context, const std::string& key);
  // DeleteObjects in batches of 1000.
  void deleteObjects(const Context& context, const std::vector<std::string>& keys);
  ListResult listPage(const Context& context, const std::string& prefix, const std::string& delimiter,
                      const std::string& continuationToken, int maxKeys = 1000);

  std::string createUpload(const Context& context, const std::string& key);
  // The in-progress multipart uploads of keys starting with prefix.
  std::vector<UploadEntry> uploads(const Context& context, const std::string& prefix);
  std::vector<PartEntry> parts(const Context& context, const std::string& key, const std::string& uploadId);
  // Aborting an upload that is gone already is no error.
  void abortUpload(const Context& context, const std::string& key, const std::string& uploadId);
  // Returns the new part's ETag.
  std::string uploadPart(const Context& context, const std::string& key, const std::string& uploadId,
                         int number, std::string_view data);
  std::string uploadPartCopy(const Context& context, const std::string& key, const std::string& uploadId,
                             int number, const std::string& sourceKey, std::int64_t begin, std::int64_t end);
  void completeUpload(const Context& context, const std::string& key, const std::string& uploadId,
                      const std::vector<PartEntry>& parts);

  // The x-amz-copy-source value for a key of this bucket.
  std::string copySource(const std::string& key) const;

private:
  S3Client client_;
  std::string root_; // the root directory without leading and trailing '/'
};

} // namespace pier::s3
