#include "config/Config.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include <Poco/JSON/Array.h>
#include <gtest/gtest.h>

#include "pier/errors.hpp"

#include "ConfigTestSupport.hpp"

using namespace std::chrono_literals;
using namespace pier::config_test;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

} // namespace

// --- the embedded default ----------------------------------------------------------

TEST(ConfigDefault, EmbeddedDefaultParses) {
  Config config = parse(pier::defaultConfigText());
  EXPECT_EQ(config.version, "0.1");
  EXPECT_EQ(config.storage.driver.name, "filesystem");
  ASSERT_TRUE(config.storage.driver.parameters);
  EXPECT_EQ(config.storage.driver.parameters->getValue<std::string>("rootdirectory"), "./data");
  EXPECT_EQ(config.storage.blobDescriptorCache, "inmemory");
  EXPECT_TRUE(config.storage.deleteEnabled);
  EXPECT_EQ(config.http.addr, ":5000");
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.log.formatter, "text");
  ASSERT_EQ(config.http.headers.size(), 1u);
  EXPECT_EQ(config.http.headers[0].first, "X-Content-Type-Options");
  EXPECT_EQ(config.http.headers[0].second, std::vector<std::string>{"nosniff"});
  EXPECT_TRUE(config.health.storageDriverEnabled);
  EXPECT_EQ(config.health.storageDriverInterval, 10s);
  EXPECT_EQ(config.health.storageDriverThreshold, 3);
  EXPECT_FALSE(config.auth.has_value());
  EXPECT_TRUE(config.warnings.empty());
}

TEST(ConfigDefault, EmbeddedDefaultIsConfYml) {
  std::string path = std::string(PIER_SOURCE_DIR) + "/conf/config.yml";
  EXPECT_EQ(pier::defaultConfigText(), readFile(path));
  Config config = pier::loadConfigFile(path, {});
  EXPECT_EQ(config.storage.driver.name, "filesystem");
  EXPECT_EQ(config.http.addr, ":5000");
}

TEST(ConfigDefault, PointerFieldsAreNeverNull) {
  Config config = parse(kMinimal);
  EXPECT_EQ(config.storage.driver.name, "inmemory");
  ASSERT_TRUE(config.storage.driver.parameters);
  EXPECT_EQ(config.storage.driver.parameters->size(), 0u);
  ASSERT_TRUE(config.storage.cacheParameters);
  ASSERT_TRUE(config.log.fields);
  ASSERT_TRUE(config.redis);
  EXPECT_TRUE(config.proxy.upstreams.empty());
  ASSERT_TRUE(config.validation);
  ASSERT_TRUE(config.document);
  // Defaults of the struct stand when the file says nothing.
  EXPECT_EQ(config.storage.blobDescriptorCache, "");
  EXPECT_FALSE(config.storage.deleteEnabled);
  EXPECT_TRUE(config.storage.uploadPurging.enabled);
  EXPECT_EQ(config.storage.uploadPurging.age, 168h);
  EXPECT_EQ(config.storage.uploadPurging.interval, 24h);
  EXPECT_EQ(config.http.addr, ":5000");
  EXPECT_EQ(config.http.net, "tcp");
  EXPECT_EQ(config.http.debug.prometheusPath, "/metrics");
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.plugins.directory, "");
}

// --- YAML scalars ------------------------------------------------------------------

TEST(ConfigYaml, PlainScalarsAreTypedQuotedOnesStayStrings) {
  Config config = parse("version: 0.1\n"
                        "storage:\n"
                        "  s3:\n"
                        "    secure: true\n"
                        "    port: 5000\n"
                        "    ratio: 1.5\n"
                        "    nothing: ~\n"
                        "    empty:\n"
                        "    quotedport: \"5000\"\n"
                        "    quotedbool: 'true'\n"
                        "    name: bucket\n"
                        "    hex: 0x1F\n"
                        "    tagged: !!str 12\n");
  const auto& p = *config.storage.driver.parameters;
  EXPECT_TRUE(p.get("secure").isBoolean());
  EXPECT_TRUE(p.getValue<bool>("secure"));
  EXPECT_TRUE(p.get("port").isInteger());
  EXPECT_FALSE(p.get("port").isBoolean());
  EXPECT_EQ(p.getValue<long long>("port"), 5000);
  EXPECT_FALSE(p.get("ratio").isInteger());
  EXPECT_DOUBLE_EQ(p.getValue<double>("ratio"), 1.5);
  EXPECT_TRUE(p.has("nothing"));
  EXPECT_TRUE(p.isNull("nothing"));
  EXPECT_TRUE(p.isNull("empty"));
  EXPECT_TRUE(p.get("quotedport").isString());
  EXPECT_EQ(p.getValue<std::string>("quotedport"), "5000");
  EXPECT_TRUE(p.get("quotedbool").isString());
  EXPECT_EQ(p.getValue<std::string>("quotedbool"), "true");
  EXPECT_EQ(p.getValue<std::string>("name"), "bucket");
  EXPECT_EQ(p.getValue<long long>("hex"), 31);
  EXPECT_TRUE(p.get("tagged").isString());
}

TEST(ConfigYaml, VersionFloatIsTheString01) {
  Config config = parse(kMinimal);
  EXPECT_EQ(config.version, "0.1");
  EXPECT_EQ(config.document->getValue<std::string>("version"), "0.1");
  EXPECT_EQ(parse("version: \"0.1\"\nstorage: {inmemory: {}}\n").version, "0.1");
}

TEST(ConfigYaml, StringKeysKeepTheScalarText) {
  // A Go string field keeps the text; "0123" must not become 123, nor 1e5 100000.
  Config config = parse(kMinimal + "http:\n  secret: 0123\n  host: 1e5\n  prefix: true\n");
  EXPECT_EQ(config.http.secret, "0123");
  EXPECT_EQ(config.http.host, "1e5");
  EXPECT_EQ(config.http.prefix, "true");
}

TEST(ConfigYaml, AnchorsAndMergeKeys) {
  Config config = parse("version: 0.1\n"
                        "storage:\n"
                        "  s3: &common\n"
                        "    region: eu-west-1\n"
                        "    bucket: a\n"
                        "proxy:\n"
                        "  remoteurl: https://registry-1.docker.io\n"
                        "log:\n"
                        "  fields:\n"
                        "    <<: *common\n"
                        "    bucket: b\n");
  EXPECT_EQ(config.log.fields->getValue<std::string>("region"), "eu-west-1");
  EXPECT_EQ(config.log.fields->getValue<std::string>("bucket"), "b");
}

TEST(ConfigYaml, StorageMayNameTheDriverAlone) {
  Config config = parse("version: 0.1\nstorage: inmemory\n");
  EXPECT_EQ(config.storage.driver.name, "inmemory");
  EXPECT_EQ(config.storage.driver.parameters->size(), 0u);
}

TEST(ConfigYaml, EmptyDocumentNeedsAVersion) {
  EXPECT_STARTS_WITH(errorOf(""), "version: is required");
  EXPECT_STARTS_WITH(errorOf("# only a comment\n"), "version: is required");
}

TEST(ConfigYaml, SyntaxErrorNamesSourceAndLine) {
  std::string message = errorOf("version: 0.1\nstorage:\n  inmemory: {\nhttp: [\n");
  EXPECT_STARTS_WITH(message, "test.yml, line ");
  EXPECT_CONTAINS(message, "invalid YAML");

  message = errorOf("version: 0.1\nhttp:\n  addr: :5000\n   bad: indentation\n");
  EXPECT_STARTS_WITH(message, "test.yml, line 4");
}

TEST(ConfigYaml, StreamStartingWithACommaIsASyntaxError) {
  // yaml-cpp 0.7's LoadAll loops forever, allocating, on this (jbeder/yaml-cpp#1040).
  EXPECT_STARTS_WITH(errorOf(",\nversion: 0.1\n"), "test.yml, line 1");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\n,\n"), "test.yml, line 2");
}

TEST(ConfigYaml, Tags) {
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  addr: !custom x\n"), "http.addr: unsupported YAML tag");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  threads: !!int many\n"), "http.threads: ");
  EXPECT_EQ(parse(kMinimal + "http:\n  threads: !!int 4\n").http.threads, 4);
}

TEST(ConfigYaml, DuplicateKeyIsAnError) {
  std::string message = errorOf(kMinimal + "http:\n  addr: :1\n  addr: :2\n");
  EXPECT_STARTS_WITH(message, "http.addr: duplicate key");
  EXPECT_CONTAINS(message, "test.yml, line 6");
}

TEST(ConfigYaml, DocumentMustBeAMap) {
  EXPECT_STARTS_WITH(errorOf("- a\n- b\n"), "test.yml: ");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\n---\nversion: 0.1\n"), "test.yml: ");
}

// --- environment overrides ---------------------------------------------------------

TEST(ConfigEnvironment, RootDirectory) {
  Config config = parse(pier::defaultConfigText(), {{"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/x"}});
  EXPECT_EQ(config.storage.driver.name, "filesystem");
  EXPECT_EQ(config.storage.driver.parameters->getValue<std::string>("rootdirectory"), "/x");
}

TEST(ConfigEnvironment, HttpAddrAndLogLevel) {
  Config config = parse(pier::defaultConfigText(),
                        {{"REGISTRY_HTTP_ADDR", "127.0.0.1:5001"}, {"REGISTRY_LOG_LEVEL", "debug"}});
  EXPECT_EQ(config.http.addr, "127.0.0.1:5001");
  EXPECT_EQ(config.log.level, "debug");
}

TEST(ConfigEnvironment, CreatesMissingSections) {
  Config config = parse(kMinimal, {{"REGISTRY_HTTP_ADDR", ":6000"}, {"REGISTRY_HTTP_SECRET", "0123"}});
  EXPECT_EQ(config.http.addr, ":6000");
  EXPECT_EQ(config.http.secret, "0123"); // a string key keeps the variable's text
}

TEST(ConfigEnvironment, ValueIsParsedAsYamlScalar) {
  Config config = parse(kMinimal, {{"REGISTRY_STORAGE_DELETE_ENABLED", "true"},
                                   {"REGISTRY_STORAGE_INMEMORY_LIMIT", "42"},
                                   {"REGISTRY_HTTP_TLS_CLIENTCAS", "[/a.pem, /b.pem]"}});
  EXPECT_TRUE(config.storage.deleteEnabled);
  EXPECT_TRUE(config.document->getObject("storage")->getObject("delete")->get("enabled").isBoolean());
  EXPECT_TRUE(config.storage.driver.parameters->get("limit").isInteger());
  EXPECT_EQ(config.storage.driver.parameters->getValue<long long>("limit"), 42);
  EXPECT_EQ(config.http.tls.clientCAs, (std::vector<std::string>{"/a.pem", "/b.pem"}));

  config = parse(pier::defaultConfigText(), {{"REGISTRY_STORAGE_DELETE_ENABLED", "false"}});
  EXPECT_FALSE(config.storage.deleteEnabled);
}

TEST(ConfigEnvironment, RedisPoolMaxIdle) {
  Config config =
      parse(kMinimal, {{"REGISTRY_REDIS_POOL_MAXIDLE", "16"}, {"REGISTRY_REDIS_ADDR", "localhost:6379"}});
  EXPECT_EQ(config.redis->getObject("pool")->getValue<int>("maxidle"), 16);
  EXPECT_EQ(config.redis->getValue<std::string>("addr"), "localhost:6379");
}

TEST(ConfigEnvironment, StorageSwitchesTheDriverAndKeepsTheRest) {
  Config config = parse(pier::defaultConfigText(), {{"REGISTRY_STORAGE", "inmemory"}});
  EXPECT_EQ(config.storage.driver.name, "inmemory");
  EXPECT_EQ(config.storage.driver.parameters->size(), 0u);
  EXPECT_FALSE(config.document->getObject("storage")->has("filesystem"));
  EXPECT_EQ(config.storage.blobDescriptorCache, "inmemory");
  EXPECT_TRUE(config.storage.deleteEnabled);
}

TEST(ConfigEnvironment, StorageAppliesBeforeItsParameters) {
  // Sorted by name, as Distribution does: REGISTRY_STORAGE first.
  Config config = parse(pier::defaultConfigText(),
                        {{"REGISTRY_STORAGE_S3_REGION", "eu-west-1"}, {"REGISTRY_STORAGE", "s3"}});
  EXPECT_EQ(config.storage.driver.name, "s3");
  EXPECT_EQ(config.storage.driver.parameters->getValue<std::string>("region"), "eu-west-1");
}

TEST(ConfigEnvironment, StorageNamingTheSameDriverKeepsItsParameters) {
  Config config = parse(pier::defaultConfigText(), {{"REGISTRY_STORAGE", "filesystem"}});
  EXPECT_EQ(config.storage.driver.parameters->getValue<std::string>("rootdirectory"), "./data");
}

TEST(ConfigEnvironment, AuthChoosesTheController) {
  Config config =
      parse(kMinimal + "auth:\n  silly:\n    realm: r\n", {{"REGISTRY_AUTH", "htpasswd"},
                                                           {"REGISTRY_AUTH_HTPASSWD_PATH", "/etc/htpasswd"},
                                                           {"REGISTRY_AUTH_HTPASSWD_REALM", "basic-realm"}});
  ASSERT_TRUE(config.auth.has_value());
  EXPECT_EQ(config.auth->name, "htpasswd");
  EXPECT_EQ(config.auth->parameters->getValue<std::string>("path"), "/etc/htpasswd");
  EXPECT_EQ(config.auth->parameters->getValue<std::string>("realm"), "basic-realm");
  EXPECT_FALSE(config.document->getObject("auth")->has("silly"));
}

TEST(ConfigEnvironment, EmptyAuthRemovesTheController) {
  Config config = parse(kMinimal + "auth:\n  silly:\n    realm: r\n", {{"REGISTRY_AUTH", ""}});
  EXPECT_FALSE(config.auth.has_value());
  EXPECT_STARTS_WITH(errorOf(kMinimal, {{"REGISTRY_STORAGE", ""}}), "REGISTRY_STORAGE: ");
  EXPECT_STARTS_WITH(errorOf(kMinimal, {{"REGISTRY_STORAGE", "cache"}}), "REGISTRY_STORAGE: ");
}

TEST(ConfigEnvironment, SegmentsMatchKeysCaseInsensitively) {
  // Plugin parameters keep the case the file gave them; new ones are lower case.
  Config config =
      parse("version: 0.1\nstorage:\n  s3:\n    RegionEndpoint: http://a\n",
            {{"REGISTRY_STORAGE_S3_REGIONENDPOINT", "http://b"}, {"REGISTRY_STORAGE_S3_BUCKET", "x"}});
  const auto& p = *config.storage.driver.parameters;
  EXPECT_EQ(p.getValue<std::string>("RegionEndpoint"), "http://b");
  EXPECT_FALSE(p.has("regionendpoint"));
  EXPECT_EQ(p.getValue<std::string>("bucket"), "x");
}

TEST(ConfigEnvironment, ListItems) {
  std::string yaml = kMinimal + "notifications:\n  endpoints:\n    - name: a\n      url: http://a\n";
  Config config = parse(yaml, {{"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL", "http://changed"},
                               {"REGISTRY_NOTIFICATIONS_ENDPOINTS_1_NAME", "b"},
                               {"REGISTRY_NOTIFICATIONS_ENDPOINTS_1_URL", "http://b"}});
  ASSERT_EQ(config.notifications.endpoints.size(), 2u);
  EXPECT_EQ(config.notifications.endpoints[0].url, "http://changed");
  EXPECT_EQ(config.notifications.endpoints[1].name, "b");

  std::string message = errorOf(yaml, {{"REGISTRY_NOTIFICATIONS_ENDPOINTS_5_URL", "http://x"}});
  EXPECT_STARTS_WITH(message, "REGISTRY_NOTIFICATIONS_ENDPOINTS_5_URL: ");
}

TEST(ConfigEnvironment, UnknownKeyNamesTheVariable) {
  std::string message = errorOf(kMinimal, {{"REGISTRY_HTTP_BOGUS", "1"}});
  EXPECT_STARTS_WITH(message, "REGISTRY_HTTP_BOGUS: ");
  EXPECT_CONTAINS(message, "http.bogus");

  EXPECT_STARTS_WITH(errorOf(kMinimal, {{"REGISTRY_NOPE", "1"}}), "REGISTRY_NOPE: ");
  EXPECT_STARTS_WITH(errorOf(kMinimal, {{"REGISTRY_HTTP_ADDR_PORT", "1"}}), "REGISTRY_HTTP_ADDR_PORT: ");
  EXPECT_STARTS_WITH(errorOf(kMinimal, {{"REGISTRY_HTTP__ADDR", "1"}}), "REGISTRY_HTTP__ADDR: ");
}

TEST(ConfigEnvironment, BadValueNamesKeyAndVariable) {
  std::string message = errorOf(kMinimal, {{"REGISTRY_STORAGE_DELETE_ENABLED", "maybe"}});
  EXPECT_STARTS_WITH(message, "storage.delete.enabled: must be true or false");
  EXPECT_CONTAINS(message, "REGISTRY_STORAGE_DELETE_ENABLED");
}

TEST(ConfigEnvironment, SecondDriverFromTheEnvironmentIsAnError) {
  std::string message = errorOf(pier::defaultConfigText(), {{"REGISTRY_STORAGE_S3_REGION", "x"}});
  EXPECT_STARTS_WITH(message, "storage: ");
  EXPECT_CONTAINS(message, "filesystem");
  EXPECT_CONTAINS(message, "s3");
  EXPECT_CONTAINS(message, "REGISTRY_STORAGE_S3_REGION");

  // A variable that set another key of the section is not blamed.
  message = errorOf("version: 0.1\nstorage:\n  filesystem:\n  inmemory:\n",
                    {{"REGISTRY_STORAGE_DELETE_ENABLED", "true"}});
  EXPECT_STARTS_WITH(message, "storage: ");
  EXPECT_EQ(message.find("REGISTRY_STORAGE_DELETE_ENABLED"), std::string::npos) << message;
}

TEST(ConfigEnvironment, OverridesApplyBeforeValidation) {
  // The file alone is invalid (no version, no storage); the environment completes it.
  Config config =
      parse("http:\n  addr: :1\n", {{"REGISTRY_VERSION", "0.1"}, {"REGISTRY_STORAGE", "inmemory"}});
  EXPECT_EQ(config.storage.driver.name, "inmemory");
  EXPECT_EQ(config.http.addr, ":1");
}

TEST(ConfigEnvironment, OtherVariablesAreIgnoredByParse) {
  Config config = parse(kMinimal, {{"HOME", "/root"}, {"PATH", "/bin"}});
  EXPECT_EQ(config.storage.driver.name, "inmemory");
}

TEST(ConfigEnvironment, RegistryEnvironmentReadsTheProcessEnvironment) {
  ::setenv("REGISTRY_HTTP_ADDR", ":7777", 1);
  ::setenv("REGISTRY_PORT_5000_TCP_ADDR", "10.0.0.1", 1); // a Kubernetes service link
  ::setenv("REGISTRY_CONFIGURATION_PATH", "/etc/x.yml", 1);
  Environment env = pier::registryEnvironment();
  ::unsetenv("REGISTRY_HTTP_ADDR");
  ::unsetenv("REGISTRY_PORT_5000_TCP_ADDR");
  ::unsetenv("REGISTRY_CONFIGURATION_PATH");
  ASSERT_EQ(env.count("REGISTRY_HTTP_ADDR"), 1u);
  EXPECT_EQ(env.at("REGISTRY_HTTP_ADDR"), ":7777");
  EXPECT_EQ(env.count("REGISTRY_PORT_5000_TCP_ADDR"), 0u);
  EXPECT_EQ(env.count("REGISTRY_CONFIGURATION_PATH"), 0u);
  for (const auto& [name, value] : env) EXPECT_STARTS_WITH(name, "REGISTRY_");
  EXPECT_EQ(parse(kMinimal, env).http.addr, ":7777");
}

// --- validation errors --------------------------------------------------------------

TEST(ConfigValidation, UnknownKeys) {
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  bogus: 1\n"), "http.bogus: unknown key");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "bogus: 1\n"), "bogus: unknown key");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  tls:\n    cert: x\n"), "http.tls.cert: unknown key");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\nstorage:\n  inmemory:\n  delete:\n    enable: true\n"),
                     "storage.delete.enable: unknown key");
  EXPECT_STARTS_WITH(
      errorOf(kMinimal + "notifications:\n  endpoints:\n    - {name: a, url: u, colour: red}\n"),
      "notifications.endpoints[0].colour: unknown key");
}

TEST(ConfigValidation, UnknownKeySuggestsTheClosestOne) {
  EXPECT_CONTAINS(errorOf(kMinimal + "http:\n  adr: :1\n"), "did you mean \"addr\"");
}

TEST(ConfigValidation, WrongTypes) {
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  addr: [1, 2]\n"), "http.addr: must be a string");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\nstorage:\n  inmemory:\n  delete:\n    enabled: \"maybe\"\n"),
                     "storage.delete.enabled: must be true or false");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\nstorage:\n  inmemory:\n  delete:\n    enabled: 1\n"),
                     "storage.delete.enabled: must be true or false");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  threads: lots\n"), "http.threads: must be an integer");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  threads: true\n"), "http.threads: must be an integer");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  queue: -1\n"), "http.queue: must not be negative");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http: 5\n"), "http: must be a map");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  tls:\n    clientcas: /a.pem\n"),
                     "http.tls.clientcas: must be a list");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  headers:\n    X-Frame-Options: DENY\n"),
                     "http.headers.X-Frame-Options: must be a list");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\nstorage:\n  inmemory:\n  cache:\n    blobdescriptorsize: big\n"),
                     "storage.cache.blobdescriptorsize: must be an integer");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\nstorage:\n  filesystem: /data\n"),
                     "storage.filesystem: must be a map");
}

TEST(ConfigValidation, Choices) {
  EXPECT_STARTS_WITH(errorOf(kMinimal + "log:\n  level: verbose\n"), "log.level: must be one of");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "log:\n  formatter: xml\n"), "log.formatter: must be one of");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  tls:\n    minimumtls: ssl3\n"),
                     "http.tls.minimumtls: must be one of");
  // Matched case-insensitively and normalised, as Distribution lower-cases levels.
  Config config = parse(kMinimal + "log:\n  level: DEBUG\n  formatter: json\n");
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.log.formatter, "json");
}

TEST(ConfigValidation, BadDurations) {
  EXPECT_STARTS_WITH(errorOf(kMinimal + "http:\n  draintimeout: soon\n"),
                     "http.draintimeout: \"soon\" is not a duration");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\nstorage:\n  inmemory:\n  maintenance:\n    uploadpurging:\n"
                             "      age: 10 parsecs\n"),
                     "storage.maintenance.uploadpurging.age: ");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "health:\n  storagedriver:\n    interval: [1]\n"),
                     "health.storagedriver.interval: must be a duration");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "health:\n  storagedriver:\n    interval: true\n"),
                     "health.storagedriver.interval: must be a duration");
}

TEST(ConfigValidation, MissingRequiredValues) {
  EXPECT_STARTS_WITH(errorOf("storage:\n  inmemory:\n"), "version: is required");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\n"), "storage: ");
  EXPECT_STARTS_WITH(errorOf("version: 0.1\nstorage:\n  delete:\n    enabled: true\n"), "storage: ");
  EXPECT_CONTAINS(errorOf("version: 0.1\nstorage:\n  cache:\n    blobdescriptor: inmemory\n"),
                  "storage driver");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "notifications:\n  endpoints:\n    - name: a\n"),
                     "notifications.endpoints[0].url: is required");
  EXPECT_STARTS_WITH(errorOf(kMinimal + "notifications:\n  endpoints:\n    - url: http://a\n"),
                     "notifications.endpoints[0].name: is required");
}

TEST(ConfigValidation, UnsupportedVersion) {
  EXPECT_STARTS_WITH(errorOf("version: 0.2\nstorage: {inmemory: {}}\n"), "version: ");
  EXPECT_STARTS_WITH(errorOf("version: 1\nstorage: {inmemory: {}}\n"), "version: ");
}

TEST(ConfigValidation, TwoStorageDriversAreAnError) {
  std::string message =
      errorOf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /a\n  inmemory:\n");
  EXPECT_STARTS_WITH(message, "storage: ");
  EXPECT_CONTAINS(message, "filesystem");
  EXPECT_CONTAINS(message, "inmemory");
}

TEST(ConfigValidation, TwoAccessControllersAreAnError) {
  std::string message = errorOf(kMinimal + "auth:\n  silly: {realm: a}\n  htpasswd: {path: /p}\n");
  EXPECT_STARTS_WITH(message, "auth: ");
  EXPECT_CONTAINS(message, "silly");
  EXPECT_CONTAINS(message, "htpasswd");
}

// --- files ---------------------------------------------------------------------------

TEST(ConfigFile, LoadsAFileAndNamesItInErrors) {
  TempFile good(kMinimal);
  EXPECT_EQ(pier::loadConfigFile(good.path(), {}).storage.driver.name, "inmemory");

  TempFile bad("version: 0.1\nstorage: [\n");
  try {
    pier::loadConfigFile(bad.path(), {});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STARTS_WITH(std::string(e.what()), bad.path() + ", line ");
  }
}

TEST(ConfigFile, UnreadableFileNamesThePath) {
  const std::string missing = "/nonexistent/pier/config.yml";
  try {
    pier::loadConfigFile(missing, {});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STARTS_WITH(std::string(e.what()), missing + ": ");
  }
  std::string directory = std::filesystem::temp_directory_path().string();
  try {
    pier::loadConfigFile(directory, {});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STARTS_WITH(std::string(e.what()), directory + ": ");
  }
}

TEST(ConfigFile, ConfigErrorIsAPierError) {
  try {
    parse("version: 0.1\n");
    FAIL() << "no error";
  } catch (const pier::Error& e) {
    EXPECT_NE(dynamic_cast<const ConfigError*>(&e), nullptr);
  }
}
