// The notifications section: Distribution's endpoint keys with their
// defaults, Pier's queue keys, and errors that name the key.
#include <gtest/gtest.h>

#include "app/App.hpp"
#include "config/Config.hpp"
#include "pier/errors.hpp"

namespace pier {
namespace {

using namespace std::chrono_literals;

const std::string kFilesystem = "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\n";

Config parse(const std::string& yaml) {
  return parseConfig(yaml, {}, "test.yml");
}

std::string errorOf(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << yaml;
  return {};
}

TEST(NotificationsConfig, EndpointDefaultsAreDistributions) {
  auto config =
      parse(kFilesystem + "notifications:\n  endpoints:\n    - {name: a, url: http://a.example/}\n");
  ASSERT_EQ(config.notifications.endpoints.size(), 1u);
  const auto& endpoint = config.notifications.endpoints[0];
  EXPECT_EQ(endpoint.type, "webhook");
  EXPECT_EQ(endpoint.timeout, 1s);
  EXPECT_EQ(endpoint.threshold, 10);
  EXPECT_EQ(endpoint.backoff, 1s);
  EXPECT_FALSE(endpoint.disabled);
  EXPECT_EQ(config.notifications.queue.maxBytes, std::int64_t(1) << 30);
  EXPECT_FALSE(config.notifications.queue.refuseWhenFull);
  EXPECT_EQ(notificationQueueDirectory(config), "/srv/registry/pier-notifications");
}

TEST(NotificationsConfig, EveryKeyIsRead) {
  auto config = parse(kFilesystem + "notifications:\n"
                                    "  endpoints:\n"
                                    "    - name: b\n"
                                    "      url: https://b.example/events\n"
                                    "      timeout: 500ms\n"
                                    "      threshold: 3\n"
                                    "      backoff: 2s\n"
                                    "      disabled: true\n"
                                    "      ignoredmediatypes: [application/octet-stream]\n"
                                    "      ignore:\n"
                                    "        mediatypes: [application/vnd.oci.image.manifest.v1+json]\n"
                                    "        actions: [pull, mount]\n"
                                    "  queue:\n"
                                    "    directory: /var/spool/pier\n"
                                    "    maxbytes: 1048576\n"
                                    "    full: refuse\n");
  const auto& endpoint = config.notifications.endpoints[0];
  EXPECT_EQ(endpoint.timeout, 500ms);
  EXPECT_EQ(endpoint.threshold, 3);
  EXPECT_EQ(endpoint.backoff, 2s);
  EXPECT_TRUE(endpoint.disabled);
  EXPECT_EQ(
      endpoint.ignoredMediaTypes,
      (std::vector<std::string>{"application/octet-stream", "application/vnd.oci.image.manifest.v1+json"}));
  EXPECT_EQ(endpoint.ignoredActions, (std::vector<std::string>{"pull", "mount"}));
  EXPECT_EQ(config.notifications.queue.maxBytes, 1048576);
  EXPECT_TRUE(config.notifications.queue.refuseWhenFull);
  EXPECT_EQ(notificationQueueDirectory(config), "/var/spool/pier");
}

TEST(NotificationsConfig, ZeroKeepsTheDefaultAsDistributionDoes) {
  auto config =
      parse(kFilesystem +
            "notifications:\n  endpoints:\n    - {name: a, url: http://a/, threshold: 0, backoff: 0}\n");
  EXPECT_EQ(config.notifications.endpoints[0].threshold, 10);
  EXPECT_EQ(config.notifications.endpoints[0].backoff, 1s);
}

TEST(NotificationsConfig, ErrorsNameTheKey) {
  const std::string endpoints = kFilesystem + "notifications:\n  endpoints:\n";
  EXPECT_EQ(errorOf(endpoints + "    - {name: a, url: ftp://a/}\n"),
            "notifications.endpoints[0].url: \"ftp://a/\" is not an http or https URL");
  EXPECT_EQ(errorOf(endpoints + "    - {name: a, url: \"http://\"}\n"),
            "notifications.endpoints[0].url: \"http://\" is not an http or https URL");
  EXPECT_EQ(
      errorOf(endpoints + "    - {name: a, url: http://a/}\n    - {name: a, url: http://b/}\n"),
      "notifications.endpoints[1].name: \"a\" names another endpoint too; endpoint names must be unique");
  EXPECT_EQ(errorOf(endpoints + "    - {name: \" \", url: http://a/}\n"),
            "notifications.endpoints[0].name: must not be empty");
  EXPECT_EQ(errorOf(endpoints + "    - {name: a, url: http://a/, timeout: soon}\n")
                .rfind("notifications.endpoints[0].timeout:", 0),
            0u);
  EXPECT_EQ(errorOf(endpoints + "    - {name: a, url: http://a/, threshold: -1}\n"),
            "notifications.endpoints[0].threshold: must not be negative");
  EXPECT_EQ(errorOf(kFilesystem + "notifications:\n  queue:\n    full: block\n"),
            "notifications.queue.full: must be one of dropoldest, refuse, not \"block\"");
  EXPECT_EQ(errorOf(kFilesystem + "notifications:\n  queue:\n    maxbytes: 100\n")
                .rfind("notifications.queue.maxbytes: must be between 4096", 0),
            0u);
}

TEST(NotificationsConfig, OtherSinkTypesMayUseAnyUrl) {
  auto config =
      parse(kFilesystem + "notifications:\n  endpoints:\n    - {name: a, type: jsonlines, url: file:///x}\n");
  EXPECT_EQ(config.notifications.endpoints[0].url, "file:///x");
}

TEST(NotificationsConfig, StorageWithoutADirectoryNeedsTheQueueDirectory) {
  auto config = parse("version: 0.1\nstorage:\n  inmemory: {}\n");
  try {
    notificationQueueDirectory(config);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("notifications.queue.directory: is required", 0), 0u) << e.what();
  }
}

} // namespace
} // namespace pier
