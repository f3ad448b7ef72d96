// Prometheus metrics (http.debug.prometheus) through the real server: what
// /metrics answers on the debug listener is parsed by a real Prometheus text
// parser (Debian's python3-prometheus-client) and its values checked against
// the requests, storage calls, cache lookups and notification deliveries the
// test caused; and the config errors of the section.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "ApiClient.hpp"
#include "EventReceiver.hpp"
#include "PierProcess.hpp"
#include "SlowClient.hpp"

namespace pier::test {
namespace {

// Debian's interpreter: the package installs the parser there (another python3 may come first in PATH).
constexpr const char* kPython = "/usr/bin/python3";

// Prints every sample as JSON: family, type, sample name, labels, value.
constexpr const char* kParse = R"(
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        value = s.value if math.isfinite(s.value) else str(s.value)
        samples.append({"family": family.name, "type": family.type, "name": s.name,
                        "labels": s.labels, "value": value})
print(json.dumps(samples))
)";

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string family, type, name;
  Labels labels;
  double value = 0;
};

struct Scrape {
  std::vector<Sample> samples;

  // The value of the sample with this name and exactly these labels.
  std::optional<double> value(const std::string& name, const Labels& labels = {}) const {
    for (const auto& sample : samples) {
      if (sample.name == name && sample.labels == labels) return sample.value;
    }
    return std::nullopt;
  }
  double valueOr0(const std::string& name, const Labels& labels = {}) const {
    return value(name, labels).value_or(0);
  }
  // The sum over every sample of that name.
  double total(const std::string& name) const {
    double sum = 0;
    for (const auto& sample : samples) {
      if (sample.name == name) sum += sample.value;
    }
    return sum;
  }
};

// GET /metrics on the debug port, checked for the format's Content-Type and
// parsed by the Python client's parser (which fails on malformed text).
Scrape scrape(std::uint16_t debug, const std::string& path = "/metrics") {
  HttpResponse response = httpRequest(debug, "GET", path);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  TempDir dir;
  writeFile(dir / "metrics.txt", response.body);
  CommandResult parsed =
      runCommand(kPython, {"-c", kParse, (dir / "metrics.txt").string()}, {}, {}, std::chrono::seconds(30));
  if (parsed.exitCode != 0)
    throw std::runtime_error("the Prometheus parser refused /metrics:\n" + parsed.output + "\n" +
                             response.body);
  Scrape result;
  Poco::JSON::Parser parser;
  auto array = parser.parse(parsed.output).extract<Poco::JSON::Array::Ptr>();
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto object = array->getObject(static_cast<unsigned>(i));
    Sample sample{object->getValue<std::string>("family"),
                  object->getValue<std::string>("type"),
                  object->getValue<std::string>("name"),
                  {},
                  0};
    auto labels = object->getObject("labels");
    for (const auto& name : labels->getNames()) sample.labels[name] = labels->getValue<std::string>(name);
    Poco::Dynamic::Var value = object->get("value");
    sample.value = value.isString() ? (value.toString() == "inf" ? INFINITY : NAN) : value.convert<double>();
    result.samples.push_back(std::move(sample));
  }
  return result;
}

// Every histogram series: buckets cumulative in the order of their bounds,
// +Inf equal to _count.
::testing::AssertionResult histogramsConsistent(const Scrape& metrics) {
  std::map<std::pair<std::string, Labels>, std::vector<std::pair<double, double>>> buckets; // (le, count)
  for (const auto& sample : metrics.samples) {
    if (sample.type != "histogram" || !sample.name.ends_with("_bucket")) continue;
    Labels series = sample.labels;
    double le = series.at("le") == "+Inf" ? INFINITY : std::stod(series.at("le"));
    series.erase("le");
    buckets[{sample.family, series}].emplace_back(le, sample.value);
  }
  if (buckets.empty()) return ::testing::AssertionFailure() << "no histogram";
  for (auto& [series, list] : buckets) {
    std::sort(list.begin(), list.end());
    for (std::size_t i = 1; i < list.size(); ++i) {
      if (list[i].second < list[i - 1].second)
        return ::testing::AssertionFailure() << series.first << ": bucket le=" << list[i].first
                                             << " holds fewer than le=" << list[i - 1].first;
    }
    if (list.back().first != INFINITY) return ::testing::AssertionFailure() << series.first << ": no +Inf";
    auto count = metrics.value(series.first + "_count", series.second);
    if (!count || *count != list.back().second)
      return ::testing::AssertionFailure()
             << series.first << ": +Inf " << list.back().second << " but _count " << count.value_or(-1);
  }
  return ::testing::AssertionSuccess();
}

const std::string kPrometheus = "  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: true\n";

// Polls until check(scrape) holds or 10 s passed; the last scrape.
template <typename Check> Scrape scrapeUntil(std::uint16_t debug, Check check) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Scrape metrics = scrape(debug);
  while (!check(metrics) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    metrics = scrape(debug);
  }
  return metrics;
}

TEST(Metrics, CountRequestsByRouteMethodAndStatusAndParse) {
  TempDir root;
  PierServer server(filesystemConfig(root.path(), kPrometheus));
  const std::uint16_t debug = debugPort(server);
  api::Client client(server.port());
  const auto blob = api::makeContent(std::string(3000, 'b'));
  const std::string blobPath = "/v2/metrics/test/blobs/" + blob.digest;
  const std::string missing = "/v2/metrics/test/blobs/" + api::sha256Of("never pushed");

  client.pushBlob("metrics/test", blob); // POST blob_upload 201
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client.head(blobPath).status, 200);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(client.get(blobPath).body, blob.bytes);
  ASSERT_EQ(client.head(missing).status, 404);
  ASSERT_EQ(httpRequest(server.port(), "GET", "/no/such/route").status, 404);
  ASSERT_EQ(client.get("/v2/").status, 200);
  ASSERT_EQ(client.request("DELETE", "/v2/").status, 405);

  Scrape metrics = scrape(debug);
  const std::string requests = "pier_http_requests_total";
  EXPECT_EQ(metrics.value(requests, {{"method", "POST"}, {"route", "blob_upload"}, {"status", "201"}}), 1);
  EXPECT_EQ(metrics.value(requests, {{"method", "HEAD"}, {"route", "blob"}, {"status", "200"}}), 3);
  EXPECT_EQ(metrics.value(requests, {{"method", "GET"}, {"route", "blob"}, {"status", "200"}}), 2);
  EXPECT_EQ(metrics.value(requests, {{"method", "HEAD"}, {"route", "blob"}, {"status", "404"}}), 1);
  EXPECT_EQ(metrics.value(requests, {{"method", "GET"}, {"route", "unmatched"}, {"status", "404"}}), 1);
  EXPECT_EQ(metrics.value(requests, {{"method", "GET"}, {"route", "base"}, {"status", "200"}}), 1);
  EXPECT_EQ(metrics.value(requests, {{"method", "DELETE"}, {"route", "unmatched"}, {"status", "405"}}), 1);
  EXPECT_EQ(metrics.total(requests), 10); // the scrapes (another listener) are not counted
  for (const auto& sample : metrics.samples) {
    if (sample.name == requests) {
      EXPECT_EQ(sample.type, "counter");
    }
    // The route label is a route's name, never a path.
    if (sample.labels.count("route")) {
      EXPECT_EQ(sample.labels.at("route").find('/'), std::string::npos);
    }
  }

  EXPECT_TRUE(histogramsConsistent(metrics));
  EXPECT_EQ(metrics.value("pier_http_request_duration_seconds_count", {{"route", "blob"}}), 6);
  EXPECT_GT(metrics.valueOr0("pier_http_request_duration_seconds_sum", {{"route", "blob"}}), 0);
  EXPECT_EQ(metrics.value("pier_http_request_body_bytes_total", {{"route", "blob_upload"}}), blob.size());
  // Two GETs of the blob; HEADs send no body.
  EXPECT_EQ(metrics.value("pier_http_response_body_bytes_total", {{"route", "blob"}}), 2 * blob.size());
  EXPECT_EQ(metrics.value("pier_http_uploads_in_flight"), 0);

  // The driver's calls: a push writes and commits, HEADs read links; a
  // missing blob (its link not found) is an answer, not an error.
  const Labels read{{"driver", "filesystem"}, {"operation", "GetContent"}};
  EXPECT_GE(metrics.valueOr0("pier_storage_driver_calls_total",
                             {{"driver", "filesystem"}, {"operation", "Writer"}}),
            1);
  EXPECT_GE(metrics.valueOr0("pier_storage_driver_calls_total",
                             {{"driver", "filesystem"}, {"operation", "Commit"}}),
            1);
  EXPECT_GE(metrics.valueOr0("pier_storage_driver_calls_total", read), 1);
  EXPECT_EQ(metrics.total("pier_storage_driver_errors_total"), 0);
  EXPECT_EQ(metrics.value("pier_storage_driver_duration_seconds_count", read),
            metrics.value("pier_storage_driver_calls_total", read));
  for (const auto& sample : metrics.samples) {
    if (sample.family.starts_with("pier_gc_")) {
      EXPECT_EQ(sample.value, 0) << sample.name;
    }
  }
}

// Hits and misses of the inmemory cache, and storage errors, as deltas
// between scrapes around single requests.
TEST(Metrics, CountCacheLookupsAndStorageErrors) {
  namespace fs = std::filesystem;
  TempDir dir;
  const fs::path root = dir / "root";
  fs::create_directory(root);
  PierServer server(filesystemConfig(root, kPrometheus));
  const std::uint16_t debug = debugPort(server);
  api::Client client(server.port());
  const auto blob = api::makeContent("cached blob");
  client.pushBlob("cache/test", blob);
  const Labels cache{{"cache", "inmemory"}};

  Scrape before = scrape(debug);
  ASSERT_EQ(client.head("/v2/cache/test/blobs/" + blob.digest).status, 200);
  Scrape afterHit = scrape(debug);
  EXPECT_GE(afterHit.valueOr0("pier_blob_descriptor_cache_hits_total", cache),
            before.valueOr0("pier_blob_descriptor_cache_hits_total", cache) + 1);
  EXPECT_EQ(afterHit.value("pier_blob_descriptor_cache_misses_total", cache),
            before.value("pier_blob_descriptor_cache_misses_total", cache));

  ASSERT_EQ(client.head("/v2/cache/test/blobs/" + api::sha256Of("unknown")).status, 404);
  Scrape afterMiss = scrape(debug);
  EXPECT_GE(afterMiss.valueOr0("pier_blob_descriptor_cache_misses_total", cache),
            afterHit.valueOr0("pier_blob_descriptor_cache_misses_total", cache) + 1);
  EXPECT_EQ(afterMiss.value("pier_blob_descriptor_cache_errors_total", cache), 0);

  // A root that loops (ELOOP) makes the driver's calls fail: the link's read is an error.
  const Labels read{{"driver", "filesystem"}, {"operation", "GetContent"}};
  double errorsBefore = afterMiss.valueOr0("pier_storage_driver_errors_total", read);
  fs::rename(root, dir / "aside");
  fs::create_symlink("root", root);
  EXPECT_EQ(client.head("/v2/cache/test/blobs/" + api::sha256Of("also unknown")).status, 500);
  fs::remove(root);
  fs::rename(dir / "aside", root);
  Scrape afterError = scrape(debug);
  EXPECT_EQ(afterError.valueOr0("pier_storage_driver_errors_total", read), errorsBefore + 1);
  EXPECT_EQ(afterError.value("pier_http_requests_total",
                             {{"method", "HEAD"}, {"route", "blob"}, {"status", "500"}}),
            1);
  EXPECT_TRUE(histogramsConsistent(afterError));
}

// The gauge of uploads streaming in, while one body trickles.
TEST(Metrics, UploadsInFlightWhileABodyStreams) {
  TempDir root;
  PierServer server(filesystemConfig(root.path(), kPrometheus));
  const std::uint16_t debug = debugPort(server);
  api::Client client(server.port());
  std::string location = client.startUpload("slow/upload");
  {
    SlowRequest slow(server.port(), patchHead(location, 40), std::string(40, 'x'),
                     std::chrono::milliseconds(50));
    Scrape during =
        scrapeUntil(debug, [](const Scrape& m) { return m.valueOr0("pier_http_uploads_in_flight") == 1; });
    EXPECT_EQ(during.value("pier_http_uploads_in_flight"), 1);
    EXPECT_EQ(slow.response(std::chrono::seconds(10)).status, 202);
  }
  Scrape after =
      scrapeUntil(debug, [](const Scrape& m) { return m.valueOr0("pier_http_uploads_in_flight") == 0; });
  EXPECT_EQ(after.value("pier_http_uploads_in_flight"), 0);
  EXPECT_EQ(after.value("pier_http_request_body_bytes_total", {{"route", "blob_upload_chunk"}}), 40);
}

// Deliveries per endpoint, delivered and failed, under names that need escaping.
TEST(Metrics, NotificationDeliveriesPerEndpointWithEscapedNames) {
  TempDir root, queue;
  EventReceiver receiver;
  receiver.start();
  EventReceiver gone;
  gone.start();
  const std::string goneUrl = gone.url();
  gone.stop(); // nothing listens there any more: every delivery fails
  const std::string delivered = "say \"hi\" \\ now\nplease";
  const std::string failing = "gone";
  PierServer server(filesystemConfig(
      root.path(), kPrometheus +
                       "notifications:\n  endpoints:\n"
                       "    - name: \"say \\\"hi\\\" \\\\ now\\nplease\"\n      url: " +
                       receiver.url() + "\n    - name: gone\n      url: " + goneUrl +
                       "\n      threshold: 1\n      backoff: 100ms\n  queue:\n    directory: " +
                       queue.path().string() + "\n"));
  api::Client(server.port()).pushBlob("events/test", api::makeContent("an event"));

  Scrape metrics = scrapeUntil(debugPort(server), [&](const Scrape& m) {
    return m.valueOr0("pier_notifications_deliveries_total",
                      {{"endpoint", delivered}, {"result", "delivered"}}) >= 1 &&
           m.valueOr0("pier_notifications_deliveries_total", {{"endpoint", failing}, {"result", "failed"}}) >=
               1;
  });
  EXPECT_GE(metrics.valueOr0("pier_notifications_deliveries_total",
                             {{"endpoint", delivered}, {"result", "delivered"}}),
            1);
  EXPECT_EQ(
      metrics.value("pier_notifications_deliveries_total", {{"endpoint", delivered}, {"result", "failed"}}),
      0);
  EXPECT_GE(
      metrics.valueOr0("pier_notifications_events_total", {{"endpoint", delivered}, {"result", "delivered"}}),
      1);
  EXPECT_GE(
      metrics.valueOr0("pier_notifications_deliveries_total", {{"endpoint", failing}, {"result", "failed"}}),
      1);
  EXPECT_EQ(
      metrics.value("pier_notifications_deliveries_total", {{"endpoint", failing}, {"result", "delivered"}}),
      0);
  EXPECT_GE(metrics.valueOr0("pier_notifications_pending", {{"endpoint", failing}}), 1);
  EXPECT_EQ(metrics.value("pier_notifications_dropped_total", {{"endpoint", failing}}), 0);
}

TEST(Metrics, PathIsConfigurableAndOffByDefault) {
  TempDir root;
  PierServer custom(filesystemConfig(
      root.path(),
      "  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: true\n      path: /internal/m\n"));
  EXPECT_EQ(httpRequest(debugPort(custom), "GET", "/metrics").status, 404);
  EXPECT_EQ(scrape(debugPort(custom), "/internal/m").value("pier_http_uploads_in_flight"), 0);
  TempDir otherRoot;
  PierServer off(filesystemConfig(otherRoot.path(), "  debug:\n    addr: 127.0.0.1:0\n"));
  EXPECT_EQ(httpRequest(debugPort(off), "GET", "/metrics").status, 404);
}

TEST(Metrics, ConfigErrorsNameTheKey) {
  TempDir root;
  struct Case {
    std::string http, message;
  } cases[] = {
      {"  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: true\n      path: metrics\n",
       "http.debug.prometheus.path: must be a path starting with '/'"},
      {"  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: true\n      path: \"/m?x=1\"\n",
       "http.debug.prometheus.path"},
      {"  debug:\n    prometheus:\n      enabled: true\n",
       "http.debug.prometheus.enabled: needs http.debug.addr"},
      {"  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: yes please\n",
       "http.debug.prometheus.enabled"},
  };
  for (const auto& c : cases) {
    writeFile(root / "config.yml", filesystemConfig(root.path(), c.http));
    auto result = runPier({"serve", (root / "config.yml").string()}, {}, {}, std::chrono::seconds(10));
    EXPECT_EQ(result.exitCode, 1) << c.http;
    EXPECT_NE(result.output.find(c.message), std::string::npos) << c.http << result.output;
  }
}

} // namespace
} // namespace pier::test
