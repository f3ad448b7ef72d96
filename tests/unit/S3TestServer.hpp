#pragma once

// The S3 server the s3 driver's tests store on: a Ceph RGW of the test
// fixture (RgwProcess), started once per test process when first asked for,
// or an endpoint named by PIER_TEST_S3_ENDPOINT (with PIER_TEST_S3_ACCESS_KEY,
// PIER_TEST_S3_SECRET_KEY, PIER_TEST_S3_BUCKET and PIER_TEST_S3_REGION), for
// trying the tests on another S3. Each test takes a root directory of its own
// in the bucket.

#include <atomic>
#include <cstdlib>
#include <random>
#include <string>

#include <unistd.h>

#include <Poco/JSON/Object.h>

#include <memory>
#include <mutex>

#include "RgwProcess.hpp"

namespace pier::test {

// The driver parameters for the test server, without rootdirectory. Without
// the Ceph binaries RgwProcess throws: the tests fail, they are not skipped
// (scripts/deps installs them).
inline Poco::JSON::Object s3TestParameters() {
  const char* endpoint = std::getenv("PIER_TEST_S3_ENDPOINT");
  if (endpoint == nullptr) {
    static std::unique_ptr<RgwProcess> rgw;
    static std::once_flag started;
    std::call_once(started, [] { rgw = std::make_unique<RgwProcess>(); });
    Poco::JSON::Object parameters;
    parameters.set("regionendpoint", rgw->endpoint());
    parameters.set("accesskey", rgw->accessKey());
    parameters.set("secretkey", rgw->secretKey());
    parameters.set("bucket", rgw->bucket());
    parameters.set("region", rgw->region());
    parameters.set("forcepathstyle", true);
    return parameters;
  }
  auto variable = [](const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr ? value : fallback);
  };
  Poco::JSON::Object parameters;
  parameters.set("regionendpoint", std::string(endpoint));
  parameters.set("accesskey", variable("PIER_TEST_S3_ACCESS_KEY", "test"));
  parameters.set("secretkey", variable("PIER_TEST_S3_SECRET_KEY", "test"));
  parameters.set("bucket", variable("PIER_TEST_S3_BUCKET", "pier"));
  parameters.set("region", variable("PIER_TEST_S3_REGION", "us-east-1"));
  parameters.set("forcepathstyle", true);
  return parameters;
}

// A root directory no other test uses.
inline std::string uniqueS3Root() {
  static std::atomic<int> counter{0};
  std::random_device random;
  return "/pier-driver-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(random() % 100000);
}

} // namespace pier::test
