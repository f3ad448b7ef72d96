// The s3 driver's parameters (storage.s3.*), with Distribution's names and
// defaults, checked once at startup.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <Poco/JSON/Object.h>

#include <pier/storage_driver.hpp>

#include "SigV4.hpp"

namespace pier::s3 {

inline constexpr std::int64_t kMiB = std::int64_t{1} << 20;
inline constexpr std::int64_t kMinPartSize = 5 * kMiB; // S3's minimum for all parts but the last
inline constexpr std::int64_t kMaxPartSize = std::int64_t{5}
                                             << 30; // and maximum for any part, or a CopyObject

struct S3Options {
  std::string region;
  std::string bucket;
  std::string rootDirectory; // as configured; keys are computed in S3Driver
  Credentials credentials;
  std::string scheme = "https";
  std::string host; // the endpoint's host, without the bucket
  unsigned short port = 443;
  bool pathStyle = false; // bucket in the path instead of the host name
  bool skipVerify = false;
  std::int64_t chunkSize = 10 * kMiB;
  std::int64_t copyChunkSize = 32 * kMiB;
  std::int64_t copyMaxConcurrency = 100;
  std::int64_t copyThresholdSize = 32 * kMiB;
  std::string storageClass = "STANDARD"; // empty: no x-amz-storage-class header
  bool encrypt = false;
  std::string keyId; // SSE-KMS key, with encrypt
  std::string objectAcl = "private";
  std::string userAgent;
  std::chrono::seconds redirectLifetime = kDefaultRedirectExpiry;
};

// Throws ConfigError naming the key ("storage.s3.chunksize: ...").
S3Options parseS3Options(const Poco::JSON::Object& parameters, const std::string& prefix);

} // namespace pier::s3
