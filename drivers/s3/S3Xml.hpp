// What the driver reads from S3's XML answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace pier::s3 {

struct ObjectEntry {
  std::string key;
  std::int64_t size = 0;
  std::chrono::system_clock::time_point modTime;
  std::string etag; // from HEAD only
};

struct ListResult { // ListObjectsV2
  std::vector<ObjectEntry> objects;
  std::vector<std::string> commonPrefixes;
  std::string nextContinuationToken; // empty when the listing is complete
};

struct UploadEntry { // ListMultipartUploads
  std::string key;
  std::string uploadId;
  std::string initiated; // ISO 8601, which sorts as time
};

struct UploadList {
  std::vector<UploadEntry> uploads;
  std::string nextKeyMarker, nextUploadIdMarker; // empty when complete
};

struct PartEntry { // ListParts
  int number = 0;
  std::string etag;
  std::int64_t size = 0;
};

struct PartList {
  std::vector<PartEntry> parts;
  std::string nextPartNumberMarker; // empty when complete
};

struct ErrorInfo {
  std::string code;
  std::string message;
};

ListResult parseListObjects(const std::string& xml);
UploadList parseListUploads(const std::string& xml);
PartList parseListParts(const std::string& xml);
// CreateMultipartUpload's UploadId.
std::string parseUploadId(const std::string& xml);
// UploadPartCopy's ETag.
std::string parseCopyPartETag(const std::string& xml);
// An <Error> document; empty fields when the body is none. S3 may answer 200
// with one to CompleteMultipartUpload and CopyObject.
ErrorInfo parseError(const std::string& xml);
// DeleteObjects: the keys that failed, with their codes.
std::vector<ErrorInfo> parseDeleteErrors(const std::string& xml);

// "2015-08-30T12:36:00.000Z" and RFC 1123 ("Sun, 30 Aug 2015 12:36:00 GMT").
std::chrono::system_clock::time_point parseIsoTime(const std::string& text);
std::chrono::system_clock::time_point parseHttpTime(const std::string& text);

// Escapes text for an XML element's content.
std::string xmlEscape(const std::string& text);

} // namespace pier::s3
