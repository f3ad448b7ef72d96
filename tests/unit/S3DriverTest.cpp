// What only the s3 driver promises: its parameters, Distribution's key layout,
// writers resumed by another driver instance (another Pier process on the
// same bucket), presigned redirects, multipart copies, and that S3 being down
// or throttling ends in StorageUnavailableError (503) or StorageThrottledError
// (429), after bounded retries.
// The tests that store need an S3 server (S3TestServer.hpp); those of
// failures run against a stand-in that answers as S3 does when it is in trouble.

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>

#include <pier/context.hpp>
#include <pier/errors.hpp>
#include <pier/storage_driver.hpp>
#include <pier/testing/content.hpp>

#include "S3TestServer.hpp"
#include "TroubledS3.hpp"
#include "plugin/PluginLoader.hpp"

namespace {

using pier::test::TroubledS3;
using pier::testing::kMiB;
using pier::testing::readAll;

class QuietLogger final : public pier::Logger {
public:
  void log(pier::LogLevel /*level*/, std::string_view /*message*/) override {}
};

pier::PluginLoader& loader() {
  static pier::PluginLoader instance;
  static std::once_flag loaded;
  std::call_once(loaded, [] { instance.loadDirectory(PIER_TEST_PLUGIN_DIR); });
  return instance;
}

std::shared_ptr<pier::StorageDriver> createS3(const Poco::JSON::Object& parameters,
                                              const std::string& name = "s3") {
  return loader().catalog().createStorageDriver(name, parameters);
}

Poco::JSON::Object minimalParameters() {
  Poco::JSON::Object parameters;
  parameters.set("region", "us-east-1");
  parameters.set("bucket", "pier");
  parameters.set("accesskey", "AKIDEXAMPLE");
  parameters.set("secretkey", "secret");
  parameters.set("regionendpoint", "http://127.0.0.1:9");
  return parameters;
}

std::string bytes(std::size_t size, char seed) {
  std::string content(size, '\0');
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>(seed + i * 131 + i / 4099);
  return content;
}

TEST(S3DriverParametersTest, BadParametersAreConfigErrorsNamingTheKey) {
  auto expectError = [](const std::string& key, const Poco::Dynamic::Var& value,
                        const std::string& expected) {
    Poco::JSON::Object parameters = minimalParameters();
    if (value.isEmpty())
      parameters.remove(key);
    else
      parameters.set(key, value);
    try {
      createS3(parameters);
      ADD_FAILURE() << "no ConfigError for " << key;
    } catch (const pier::ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  };
  expectError("bogus", 1, "storage.s3.bogus: unknown parameter");
  expectError("region", Poco::Dynamic::Var(), "storage.s3.region: is required");
  expectError("bucket", "", "storage.s3.bucket: is required");
  expectError("chunksize", 1024, "storage.s3.chunksize: 1024 is out of range");
  expectError("chunksize", "big", "storage.s3.chunksize: must be an integer");
  expectError("multipartcopychunksize", 4 * kMiB, "storage.s3.multipartcopychunksize");
  expectError("multipartcopymaxconcurrency", 0, "storage.s3.multipartcopymaxconcurrency");
  expectError("multipartcopythresholdsize", -1, "storage.s3.multipartcopythresholdsize");
  expectError("secure", "yes", "storage.s3.secure: must be true or false");
  expectError("forcepathstyle", 1, "storage.s3.forcepathstyle: must be true or false");
  expectError("v4auth", false, "storage.s3.v4auth: only Signature Version 4");
  expectError("storageclass", "COLD", "storage.s3.storageclass: \"COLD\" is not a storage class");
  expectError("regionendpoint", "ftp://host", "storage.s3.regionendpoint: scheme must be http or https");
  expectError("regionendpoint", "http://host:99999", "storage.s3.regionendpoint: invalid port");
  expectError("redirectlifetime", "forever", "storage.s3.redirectlifetime");
  expectError("redirectlifetime", "200h", "storage.s3.redirectlifetime: must be between 1s and 168h");
  expectError("rootdirectory", 5, "storage.s3.rootdirectory: must be a string");

  // Distribution's string forms (environment overrides) and its other keys are accepted.
  Poco::JSON::Object accepted = minimalParameters();
  accepted.set("chunksize", "5242880");
  accepted.set("secure", "false");
  accepted.set("v4auth", true);
  accepted.set("storageclass", "NONE");
  accepted.set("encrypt", true);
  accepted.set("keyid", "alias/registry");
  accepted.set("loglevel", "debug");
  accepted.set("redirectlifetime", "5m");
  EXPECT_EQ(createS3(accepted)->name(), "s3");
  Poco::JSON::Object alias = minimalParameters();
  alias.set("bogus", 1);
  try {
    createS3(alias, "s3-aws");
    ADD_FAILURE() << "no ConfigError";
  } catch (const pier::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("storage.s3-aws.bogus"), std::string::npos) << error.what();
  }
}

class S3TroubleTest : public ::testing::Test {
protected:
  QuietLogger logger_;
  pier::Context context_{"s3-trouble-test", logger_};
};

TEST_F(S3TroubleTest, ThrottlingIsRetriedThenThrottled) {
  TroubledS3 s3(503, 1000);
  Poco::JSON::Object parameters = minimalParameters();
  parameters.set("regionendpoint", s3.endpoint());
  auto driver = createS3(parameters);
  auto started = std::chrono::steady_clock::now();
  try {
    driver->putContent(context_, "/a/file", "content");
    ADD_FAILURE() << "no error";
  } catch (const pier::StorageThrottledError& error) {
    EXPECT_NE(std::string(error.what()).find("SlowDown"), std::string::npos) << error.what();
    EXPECT_GE(error.retryAfterSeconds(), 1);
  }
  EXPECT_EQ(s3.requests(), 6) << "the request and five retries";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_FALSE(s3.sawUnsignedRequest()) << "every request carries x-amz-content-sha256";
}

TEST_F(S3TroubleTest, AnOutageIsUnavailableNotThrottled) {
  TroubledS3 s3(500, 1000);
  Poco::JSON::Object parameters = minimalParameters();
  parameters.set("regionendpoint", s3.endpoint());
  auto driver = createS3(parameters);
  try {
    driver->putContent(context_, "/a/file", "content");
    ADD_FAILURE() << "no error";
  } catch (const pier::StorageThrottledError& error) {
    ADD_FAILURE() << "a 500 InternalError is no request to slow down: " << error.what();
  } catch (const pier::StorageUnavailableError& error) {
    EXPECT_NE(std::string(error.what()).find("InternalError"), std::string::npos) << error.what();
  }
}

TEST_F(S3TroubleTest, TransientFailuresAreRetriedToSuccess) {
  TroubledS3 s3(500, 2);
  Poco::JSON::Object parameters = minimalParameters();
  parameters.set("regionendpoint", s3.endpoint());
  auto driver = createS3(parameters);
  EXPECT_NO_THROW(driver->putContent(context_, "/a/file", "content"));
  EXPECT_EQ(s3.requests(), 3);
}

TEST_F(S3TroubleTest, ARefusedConnectionIsUnavailable) {
  Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::string port = std::to_string(closed.address().port());
  Poco::JSON::Object parameters = minimalParameters();
  parameters.set("regionendpoint", "http://127.0.0.1:" + port);
  closed.close(); // nothing listens there now
  auto driver = createS3(parameters);
  EXPECT_THROW(driver->stat(context_, "/a"), pier::StorageUnavailableError);
  EXPECT_THROW(driver->getContent(context_, "/a"), pier::StorageUnavailableError);
  EXPECT_THROW(driver->writer(context_, "/a", true), pier::StorageUnavailableError);

  parameters.set("regionendpoint", "https://127.0.0.1:" + port);
  parameters.set("skipverify", true);
  EXPECT_THROW(createS3(parameters)->stat(context_, "/a"), pier::StorageUnavailableError) << "over TLS too";
}

class S3DriverTest : public ::testing::Test {
protected:
  void SetUp() override {
    parameters_ = pier::test::s3TestParameters();
    root_ = pier::test::uniqueS3Root();
    driver_ = withRoot(root_);
  }

  void TearDown() override {
    if (driver_) {
      try {
        driver_->remove(context_, "/");
      } catch (const std::exception&) {
      }
    }
  }

  std::shared_ptr<pier::StorageDriver> withRoot(const std::string& root, int chunkMiB = 5) {
    Poco::JSON::Object parameters = parameters_;
    parameters.set("rootdirectory", root);
    parameters.set("chunksize", static_cast<int>(chunkMiB * kMiB));
    parameters.set("multipartcopychunksize", static_cast<int>(5 * kMiB));
    parameters.set("multipartcopythresholdsize", static_cast<int>(5 * kMiB));
    parameters.set("multipartcopymaxconcurrency", 3);
    return createS3(parameters);
  }

  QuietLogger logger_;
  pier::Context context_{"s3-driver-test", logger_};
  Poco::JSON::Object parameters_;
  std::string root_;
  std::shared_ptr<pier::StorageDriver> driver_;
};

TEST_F(S3DriverTest, KeysAreRootPlusPathAsInDistribution) {
  driver_->putContent(context_, "/docker/registry/v2/blobs/data", "blob");
  // The same bucket under an empty root sees the root as a directory.
  auto whole = withRoot("");
  EXPECT_EQ(whole->getContent(context_, root_ + "/docker/registry/v2/blobs/data"), "blob");
  auto trailing = withRoot(root_ + "/");
  EXPECT_EQ(trailing->getContent(context_, "/docker/registry/v2/blobs/data"), "blob");
}

TEST_F(S3DriverTest, WriterResumesInAnotherDriverInstance) {
  const std::string path = "/uploads/restart/data";
  const std::string content = bytes(12 * kMiB + 12345, 7);
  auto writer = driver_->writer(context_, path, false);
  writer->write(context_, content.data(), 3 * kMiB + 1); // no part yet: all in the tail
  writer->close(context_);
  writer = driver_->writer(context_, path, true);
  EXPECT_EQ(writer->size(), static_cast<std::int64_t>(3 * kMiB + 1));
  writer->write(context_, content.data() + 3 * kMiB + 1, 4 * kMiB); // a part and a tail
  writer.reset();
  driver_.reset();

  auto restarted = withRoot(root_);
  EXPECT_THROW(restarted->stat(context_, path), pier::PathNotFoundError);
  EXPECT_EQ(restarted->list(context_, "/"), std::vector<std::string>{}) << "the tail is not listed";
  writer = restarted->writer(context_, path, true);
  ASSERT_EQ(writer->size(), static_cast<std::int64_t>(7 * kMiB + 1));
  writer->write(context_, content.data() + 7 * kMiB + 1, content.size() - (7 * kMiB + 1));
  writer->commit(context_);
  EXPECT_EQ(restarted->stat(context_, path).size, static_cast<std::int64_t>(content.size()));
  EXPECT_TRUE(restarted->getContent(context_, path) == content);
  EXPECT_TRUE(readAll(*restarted->reader(context_, path, 5 * kMiB + 3)) == content.substr(5 * kMiB + 3));
  EXPECT_EQ(restarted->list(context_, "/uploads/restart"), std::vector<std::string>{"/uploads/restart/data"});
  driver_ = restarted;
}

TEST_F(S3DriverTest, AppendingToALargeCommittedObjectCopiesItOnTheServer) {
  const std::string content = bytes(6 * kMiB + 5, 3);
  driver_->putContent(context_, "/big", content);
  auto writer = driver_->writer(context_, "/big", true);
  EXPECT_EQ(writer->size(), static_cast<std::int64_t>(content.size()));
  writer->write(context_, "tail", 4);
  EXPECT_EQ(driver_->stat(context_, "/big").size, static_cast<std::int64_t>(content.size()));
  writer->commit(context_);
  EXPECT_TRUE(driver_->getContent(context_, "/big") == content + "tail");
}

TEST_F(S3DriverTest, RemovingADirectoryDiscardsItsUploadsInProgress) {
  driver_->putContent(context_, "/u/1/startedat", "now");
  auto writer = driver_->writer(context_, "/u/1/data", false);
  const std::string content = bytes(6 * kMiB, 1);
  writer->write(context_, content.data(), content.size());
  writer->close(context_);
  driver_->remove(context_, "/u");
  writer = driver_->writer(context_, "/u/1/data", true);
  EXPECT_EQ(writer->size(), 0);
  writer->cancel(context_);
}

TEST_F(S3DriverTest, MovesLargeObjectsByMultipartCopy) {
  const std::string content = bytes(11 * kMiB + 7, 9); // three parts of 5 MiB, in parallel
  driver_->putContent(context_, "/from/large", content);
  driver_->move(context_, "/from/large", "/to/large");
  EXPECT_THROW(driver_->stat(context_, "/from/large"), pier::PathNotFoundError);
  EXPECT_TRUE(driver_->getContent(context_, "/to/large") == content);
}

TEST_F(S3DriverTest, ListingsWalksAndRemovesGoPastOnePage) {
  constexpr int kFiles = 1001; // S3 answers 1,000 keys a page and deletes 1,000 at a time
  std::vector<std::thread> threads;
  std::atomic<int> next{0}, failures{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = next++; i < kFiles; i = next++) {
        try {
          driver_->putContent(context_, "/many/" + std::to_string(10000 + i), "x");
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(failures, 0);
  std::vector<std::string> listed = driver_->list(context_, "/many");
  ASSERT_EQ(listed.size(), static_cast<std::size_t>(kFiles));
  EXPECT_EQ(listed.front(), "/many/10000");
  EXPECT_EQ(listed.back(), "/many/11000");
  int walked = 0;
  driver_->walk(context_, "/", [&](const pier::FileInfo& info) {
    walked += info.isDirectory ? 0 : 1;
    return pier::WalkControl::proceed;
  });
  EXPECT_EQ(walked, kFiles);
  driver_->remove(context_, "/many");
  EXPECT_THROW(driver_->list(context_, "/many"), pier::PathNotFoundError);
}

TEST_F(S3DriverTest, RedirectsArePresignedURLsForReads) {
  driver_->putContent(context_, "/blob/data", "redirected content");
  EXPECT_EQ(driver_->redirectURL(context_, {"PUT", "/blob/data", std::chrono::seconds(1200), {}}),
            std::nullopt);
  EXPECT_TRUE(driver_->capabilities().redirects);
  std::optional<std::string> url = driver_->redirectURL(
      context_, {"GET", "/blob/data", std::chrono::seconds(1200), {{"Range", "bytes=0-3"}}});
  ASSERT_TRUE(url);
  EXPECT_NE(url->find("X-Amz-Signature="), std::string::npos);
  EXPECT_NE(url->find("X-Amz-Expires=1200"), std::string::npos) << "the server's expiry: " << *url;
  // The server asks for longer than the driver's redirectlifetime allows: the driver's bound wins.
  auto capped = driver_->redirectURL(context_, {"GET", "/blob/data", std::chrono::hours(24 * 30), {}});
  ASSERT_TRUE(capped);
  EXPECT_NE(capped->find("X-Amz-Expires=1200"), std::string::npos) << "redirectlifetime (20m): " << *capped;
  auto shorter = driver_->redirectURL(context_, {"GET", "/blob/data", std::chrono::seconds(60), {}});
  ASSERT_TRUE(shorter);
  EXPECT_NE(shorter->find("X-Amz-Expires=60"), std::string::npos) << *shorter;
  Poco::URI uri(*url);
  ASSERT_EQ(uri.getHost(), "127.0.0.1") << "tests talk to 127.0.0.1 only";
  Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
  Poco::Net::HTTPRequest request("GET", uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  EXPECT_EQ(response.getStatus(), 200) << body;
  EXPECT_EQ(body, "redirected content");
}

} // namespace
