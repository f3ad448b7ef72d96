#include "S3Bucket.hpp"

#include <pier/errors.hpp>

namespace pier::s3 {
namespace {

constexpr std::string_view kTailDirectory = "~pier-s3-tails";
constexpr std::size_t kDeleteBatch = 1000; // DeleteObjects' limit

void expectStatus(S3Client& client, const S3Response& response, const std::string& what) {
  if (response.status / 100 != 2) client.fail(response, what);
  // CompleteMultipartUpload and CopyObject may fail after answering 200.
  if (!parseError(response.body).code.empty()) client.fail(response, what);
}

} // namespace

S3Bucket::S3Bucket(const S3Options& options) : client_(options) {
  root_ = options.rootDirectory;
  while (!root_.empty() && root_.front() == '/') root_.erase(0, 1);
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string S3Bucket::key(const std::string& path) const {
  if (path == "/") return root_;
  return root_.empty() ? path.substr(1) : root_ + path;
}

std::string S3Bucket::directoryPrefix(const std::string& path) const {
  std::string prefix = key(path);
  return prefix.empty() ? prefix : prefix + "/";
}

std::string S3Bucket::pathOf(const std::string& objectKey) const {
  if (root_.empty()) return "/" + objectKey;
  if (objectKey.size() <= root_.size() + 1 || objectKey.compare(0, root_.size(), root_) != 0 ||
      objectKey[root_.size()] != '/')
    return {};
  return objectKey.substr(root_.size());
}

std::string S3Bucket::tailKey(const std::string& objectKey) const {
  return tailPrefix(objectKey);
}

std::string S3Bucket::tailPrefix(const std::string& prefix) const {
  std::string relative = root_.empty() ? prefix : prefix.substr(std::min(prefix.size(), root_.size() + 1));
  std::string base = root_.empty() ? std::string(kTailDirectory) : root_ + "/" + std::string(kTailDirectory);
  return base + "/" + relative;
}

Parameters S3Bucket::objectHeaders() const {
  const S3Options& o = options();
  Parameters headers{{"Content-Type", "application/octet-stream"}};
  if (!o.storageClass.empty()) headers.emplace_back("x-amz-storage-class", o.storageClass);
  if (o.encrypt) {
    headers.emplace_back("x-amz-server-side-encryption", o.keyId.empty() ? "AES256" : "aws:kms");
    if (!o.keyId.empty()) headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", o.keyId);
  }
  if (!o.objectAcl.empty() && o.objectAcl != "private") headers.emplace_back("x-amz-acl", o.objectAcl);
  return headers;
}

std::optional<ObjectEntry> S3Bucket::head(const Context& context, const std::string& objectKey) {
  S3Response response = client_.send(context, {"HEAD", objectKey, {}, {}, {}});
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) client_.fail(response, "HEAD " + objectKey);
  ObjectEntry entry;
  entry.key = objectKey;
  std::string length = response.header("content-length");
  entry.size = length.empty() ? 0 : std::stoll(length);
  entry.modTime = parseHttpTime(response.header("last-modified"));
  entry.etag = response.header("etag");
  return entry;
}

void S3Bucket::putObject(const Context& context, const std::string& objectKey, std::string_view content,
                         Parameters extraHeaders) {
  Parameters headers = objectHeaders();
  headers.insert(headers.end(), extraHeaders.begin(), extraHeaders.end());
  S3Response response = client_.send(context, {"PUT", objectKey, {}, std::move(headers), content});
  expectStatus(client_, response, "PUT " + objectKey);
}

void S3Bucket::deleteObject(const Context& context, const std::string& objectKey) {
  S3Response response = client_.send(context, {"DELETE", objectKey, {}, {}, {}});
  if (response.status != 404) expectStatus(client_, response, "DELETE " + objectKey);
}

void S3Bucket::deleteObjects(const Context& context, const std::vector<std::string>& keys) {
  for (std::size_t begin = 0; begin < keys.size(); begin += kDeleteBatch) {
    std::string body = "<Delete><Quiet>true</Quiet>";
    for (std::size_t i = begin; i < std::min(keys.size(), begin + kDeleteBatch); ++i)
      body += "<Object><Key>" + xmlEscape(keys[i]) + "</Key></Object>";
    body += "</Delete>";
    S3Response response =
        client_.send(context, {"POST",
                               "",
                               {{"delete", ""}},
                               {{"Content-MD5", md5Base64(body)}, {"Content-Type", "application/xml"}},
                               body});
    if (response.status != 200) client_.fail(response, "DeleteObjects");
    for (const ErrorInfo& error : parseDeleteErrors(response.body))
      if (error.code != "NoSuchKey")
        throw StorageError("s3: DeleteObjects: " + error.code + " " + error.message);
  }
}

ListResult S3Bucket::listPage(const Context& context, const std::string& prefix, const std::string& delimiter,
                              const std::string& continuationToken, int maxKeys) {
  Parameters query{{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(maxKeys)}};
  if (!delimiter.empty()) query.emplace_back("delimiter", delimiter);
  if (!continuationToken.empty()) query.emplace_back("continuation-token", continuationToken);
  S3Response response = client_.send(context, {"GET", "", std::move(query), {}, {}});
  if (response.status != 200) client_.fail(response, "ListObjectsV2 " + prefix);
  return parseListObjects(response.body);
}

std::string S3Bucket::createUpload(const Context& context, const std::string& objectKey) {
  S3Response response = client_.send(context, {"POST", objectKey, {{"uploads", ""}}, objectHeaders(), {}});
  expectStatus(client_, response, "CreateMultipartUpload " + objectKey);
  return parseUploadId(response.body);
}

std::vector<UploadEntry> S3Bucket::uploads(const Context& context, const std::string& prefix) {
  std::vector<UploadEntry> result;
  std::string keyMarker, uploadIdMarker;
  for (int page = 0; page < 10000; ++page) {
    Parameters query{{"uploads", ""}, {"prefix", prefix}};
    if (!keyMarker.empty()) query.emplace_back("key-marker", keyMarker);
    if (!uploadIdMarker.empty()) query.emplace_back("upload-id-marker", uploadIdMarker);
    S3Response response = client_.send(context, {"GET", "", std::move(query), {}, {}});
    if (response.status != 200) client_.fail(response, "ListMultipartUploads " + prefix);
    UploadList list = parseListUploads(response.body);
    result.insert(result.end(), list.uploads.begin(), list.uploads.end());
    if (list.nextKeyMarker.empty()) return result;
    keyMarker = list.nextKeyMarker;
    uploadIdMarker = list.nextUploadIdMarker;
  }
  throw StorageError("s3: ListMultipartUploads " + prefix + ": too many pages");
}

std::vector<PartEntry> S3Bucket::parts(const Context& context, const std::string& objectKey,
                                       const std::string& uploadId) {
  std::vector<PartEntry> result;
  std::string marker;
  for (int page = 0; page < 100; ++page) { // 10,000 parts at 1,000 a page
    Parameters query{{"uploadId", uploadId}};
    if (!marker.empty()) query.emplace_back("part-number-marker", marker);
    S3Response response = client_.send(context, {"GET", objectKey, std::move(query), {}, {}});
    if (response.status != 200) client_.fail(response, "ListParts " + objectKey);
    PartList list = parseListParts(response.body);
    result.insert(result.end(), list.parts.begin(), list.parts.end());
    if (list.nextPartNumberMarker.empty()) return result;
    marker = list.nextPartNumberMarker;
  }
  throw StorageError("s3: ListParts " + objectKey + ": too many pages");
}

void S3Bucket::abortUpload(const Context& context, const std::string& objectKey,
                           const std::string& uploadId) {
  S3Response response = client_.send(context, {"DELETE", objectKey, {{"uploadId", uploadId}}, {}, {}});
  if (response.status != 404) expectStatus(client_, response, "AbortMultipartUpload " + objectKey);
}

std::string S3Bucket::uploadPart(const Context& context, const std::string& objectKey,
                                 const std::string& uploadId, int number, std::string_view data) {
  S3Request request{
      "PUT", objectKey, {{"partNumber", std::to_string(number)}, {"uploadId", uploadId}}, {}, data};
  S3Response response = client_.send(context, request);
  expectStatus(client_, response, "UploadPart " + objectKey);
  std::string etag = response.header("etag");
  if (etag.empty()) throw StorageError("s3: UploadPart " + objectKey + ": no ETag in the answer");
  return etag;
}

std::string S3Bucket::uploadPartCopy(const Context& context, const std::string& objectKey,
                                     const std::string& uploadId, int number, const std::string& sourceKey,
                                     std::int64_t begin, std::int64_t end) {
  S3Request request{
      "PUT",
      objectKey,
      {{"partNumber", std::to_string(number)}, {"uploadId", uploadId}},
      {{"x-amz-copy-source", copySource(sourceKey)},
       {"x-amz-copy-source-range", "bytes=" + std::to_string(begin) + "-" + std::to_string(end - 1)}},
      {}};
  S3Response response = client_.send(context, request);
  expectStatus(client_, response, "UploadPartCopy " + objectKey);
  std::string etag = parseCopyPartETag(response.body);
  if (etag.empty()) throw StorageError("s3: UploadPartCopy " + objectKey + ": no ETag in the answer");
  return etag;
}

void S3Bucket::completeUpload(const Context& context, const std::string& objectKey,
                              const std::string& uploadId, const std::vector<PartEntry>& parts) {
  std::string body = "<CompleteMultipartUpload>";
  for (const PartEntry& part : parts)
    body += "<Part><PartNumber>" + std::to_string(part.number) + "</PartNumber><ETag>" +
            xmlEscape(part.etag) + "</ETag></Part>";
  body += "</CompleteMultipartUpload>";
  S3Response response = client_.send(
      context, {"POST", objectKey, {{"uploadId", uploadId}}, {{"Content-Type", "application/xml"}}, body});
  expectStatus(client_, response, "CompleteMultipartUpload " + objectKey);
}

std::string S3Bucket::copySource(const std::string& sourceKey) const {
  return uriEncode("/" + options().bucket + "/" + sourceKey, false);
}

} // namespace pier::s3
