#include "S3Options.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <pier/config.hpp>
#include <pier/errors.hpp>

namespace pier::s3 {
namespace {

// Distribution's keys. Those Pier has no use for (loglevel, usedualstack,
// accelerate) are accepted so that its configs load unchanged.
constexpr std::array<std::string_view, 24> kKnownKeys{"region",
                                                      "regionendpoint",
                                                      "bucket",
                                                      "rootdirectory",
                                                      "accesskey",
                                                      "secretkey",
                                                      "sessiontoken",
                                                      "forcepathstyle",
                                                      "secure",
                                                      "skipverify",
                                                      "v4auth",
                                                      "chunksize",
                                                      "multipartcopychunksize",
                                                      "multipartcopymaxconcurrency",
                                                      "multipartcopythresholdsize",
                                                      "storageclass",
                                                      "encrypt",
                                                      "keyid",
                                                      "objectacl",
                                                      "useragent",
                                                      "loglevel",
                                                      "usedualstack",
                                                      "accelerate",
                                                      "redirectlifetime"};

constexpr std::array<std::string_view, 8> kStorageClasses{
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
    "OUTPOSTS", "GLACIER_IR",         "NONE"};

class Reader {
public:
  Reader(const Poco::JSON::Object& parameters, std::string prefix)
      : parameters_(parameters), prefix_(std::move(prefix)) {}

  bool has(const std::string& key) const { return parameters_.has(key) && !parameters_.isNull(key); }
  std::string name(const std::string& key) const { return config::keyPath(prefix_, key); }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(name(key) + ": " + what);
  }

  std::string string(const std::string& key, const std::string& fallback = {}) const {
    return config::getString(parameters_, key, prefix_, fallback);
  }

  // A boolean, or the strings "true"/"false" (environment overrides are strings).
  bool boolean(const std::string& key, bool fallback) const {
    return config::getFlag(parameters_, key, prefix_, fallback);
  }

  // An integer, or a string of digits; within [minimum, maximum].
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t minimum,
                       std::int64_t maximum) const {
    if (!has(key)) return fallback;
    Poco::Dynamic::Var value = parameters_.get(key);
    std::int64_t result = 0;
    if (value.isInteger() && !value.isBoolean()) {
      result = value.convert<std::int64_t>();
    } else if (value.isString()) {
      std::string text = value.extract<std::string>();
      if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        fail(key, "must be an integer, not \"" + text + "\"");
      result = std::stoll(text);
    } else {
      fail(key, "must be an integer");
    }
    if (result < minimum || result > maximum)
      fail(key, std::to_string(result) + " is out of range [" + std::to_string(minimum) + ", " +
                    std::to_string(maximum) + "]");
    return result;
  }

  std::chrono::milliseconds duration(const std::string& key, std::chrono::milliseconds fallback) const {
    return config::getDuration(parameters_, key, prefix_, fallback);
  }

private:
  const Poco::JSON::Object& parameters_;
  std::string prefix_;
};

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// regionendpoint: "host[:port]" or "http(s)://host[:port][/]"; empty means AWS.
void parseEndpoint(const Reader& reader, S3Options& options, bool secure) {
  std::string endpoint = reader.string("regionendpoint");
  options.scheme = secure ? "https" : "http";
  if (endpoint.empty()) {
    options.host = "s3." + options.region + ".amazonaws.com";
    options.port = secure ? 443 : 80;
    return;
  }
  if (auto colon = endpoint.find("://"); colon != std::string::npos) {
    options.scheme = endpoint.substr(0, colon);
    endpoint = endpoint.substr(colon + 3);
    if (options.scheme != "http" && options.scheme != "https")
      reader.fail("regionendpoint", "scheme must be http or https");
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (endpoint.empty() || endpoint.find('/') != std::string::npos)
    reader.fail("regionendpoint", "must be a URL such as \"http://127.0.0.1:8000\"");
  options.port = options.scheme == "https" ? 443 : 80;
  auto colon = endpoint.rfind(':');
  if (colon != std::string::npos && endpoint.find(']', colon) == std::string::npos) {
    std::string port = endpoint.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) == 0 || std::stoi(port) > 65535)
      reader.fail("regionendpoint", "invalid port \"" + port + "\"");
    options.port = static_cast<unsigned short>(std::stoi(port));
    endpoint = endpoint.substr(0, colon);
  }
  options.host = endpoint;
}

bool isIpAddress(const std::string& host) {
  return host.find_first_not_of("0123456789.") == std::string::npos || host.front() == '[';
}

} // namespace

S3Options parseS3Options(const Poco::JSON::Object& parameters, const std::string& prefix) {
  Reader reader(parameters, prefix);
  std::vector<std::string> names;
  parameters.getNames(names);
  for (const auto& key : names)
    if (std::find(kKnownKeys.begin(), kKnownKeys.end(), key) == kKnownKeys.end())
      reader.fail(key, "unknown parameter");

  S3Options options;
  options.region = reader.string("region");
  if (options.region.empty()) reader.fail("region", "is required");
  options.bucket = reader.string("bucket");
  if (options.bucket.empty()) reader.fail("bucket", "is required");
  options.rootDirectory = reader.string("rootdirectory");
  if (options.rootDirectory.find("//") != std::string::npos)
    reader.fail("rootdirectory", "must not hold \"//\"");

  // The environment's keys come as a set: its session token belongs to its keys only.
  bool fromEnvironment = !reader.has("accesskey") && !reader.has("secretkey");
  options.credentials.accessKey = reader.string("accesskey", environment("AWS_ACCESS_KEY_ID"));
  options.credentials.secretKey = reader.string("secretkey", environment("AWS_SECRET_ACCESS_KEY"));
  options.credentials.sessionToken =
      reader.string("sessiontoken", fromEnvironment ? environment("AWS_SESSION_TOKEN") : "");
  if (options.credentials.accessKey.empty() != options.credentials.secretKey.empty())
    reader.fail(options.credentials.accessKey.empty() ? "accesskey" : "secretkey",
                "accesskey and secretkey go together");
  if (options.credentials.accessKey.empty())
    reader.fail("accesskey", "is required (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");

  parseEndpoint(reader, options, reader.boolean("secure", true));
  // A bucket cannot be a label of an IP address: such endpoints take path style.
  options.pathStyle =
      reader.boolean("forcepathstyle", false) || isIpAddress(options.host) || options.host == "localhost";
  options.skipVerify = reader.boolean("skipverify", false);
  if (!reader.boolean("v4auth", true)) reader.fail("v4auth", "only Signature Version 4 is supported");

  options.chunkSize = reader.integer("chunksize", options.chunkSize, kMinPartSize, kMaxPartSize);
  options.copyChunkSize =
      reader.integer("multipartcopychunksize", options.copyChunkSize, kMinPartSize, kMaxPartSize);
  options.copyMaxConcurrency =
      reader.integer("multipartcopymaxconcurrency", options.copyMaxConcurrency, 1, 10000);
  options.copyThresholdSize =
      reader.integer("multipartcopythresholdsize", options.copyThresholdSize, 0, kMaxPartSize);

  std::string storageClass = reader.string("storageclass", "STANDARD");
  if (std::find(kStorageClasses.begin(), kStorageClasses.end(), storageClass) == kStorageClasses.end())
    reader.fail("storageclass", "\"" + storageClass + "\" is not a storage class");
  options.storageClass = storageClass == "NONE" ? "" : storageClass;
  options.encrypt = reader.boolean("encrypt", false);
  options.keyId = reader.string("keyid");
  options.objectAcl = reader.string("objectacl", "private");
  options.userAgent = reader.string("useragent");
  reader.boolean("usedualstack", false);
  reader.boolean("accelerate", false);

  auto lifetime = reader.duration("redirectlifetime", options.redirectLifetime);
  // SigV4 presigned URLs live at most 7 days.
  if (lifetime < std::chrono::seconds(1) || lifetime > std::chrono::hours(24 * 7))
    reader.fail("redirectlifetime", "must be between 1s and 168h");
  options.redirectLifetime = std::chrono::duration_cast<std::chrono::seconds>(lifetime);
  return options;
}

} // namespace pier::s3
