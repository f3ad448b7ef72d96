// The Prometheus text exposition (metrics/TextExposition) and the Metrics
// object: escaping of label values and help texts, name checks, number
// forms, cumulative histograms, status slots and the garbage collection
// counters; the escaping also round-trips through the real Python parser.
#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "PierProcess.hpp"
#include "metrics/Metrics.hpp"
#include "metrics/TextExposition.hpp"

namespace pier {
namespace {

using metrics::MetricType;
using metrics::TextExposition;

TEST(TextExposition, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(metrics::escapeLabelValue(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(metrics::escapeLabelValue("back\\slash"), "back\\\\slash");
  EXPECT_EQ(metrics::escapeLabelValue("two\nlines"), "two\\nlines");
  EXPECT_EQ(metrics::escapeLabelValue("trailing\\"), "trailing\\\\");
  EXPECT_EQ(metrics::escapeLabelValue("ünïcode stays"), "ünïcode stays");
  // Help escapes backslash and line feed only: a quote is plain text there.
  EXPECT_EQ(metrics::escapeHelp("a \"b\" c\\d\ne"), "a \"b\" c\\\\d\\ne");

  TextExposition out;
  out.family("demo_total", MetricType::counter, "Help with \\ and\na second line.");
  out.sample({{"name", "a\"b\\c\nd"}}, std::uint64_t{7});
  EXPECT_EQ(out.text(), "# HELP demo_total Help with \\\\ and\\na second line.\n"
                        "# TYPE demo_total counter\n"
                        "demo_total{name=\"a\\\"b\\\\c\\nd\"} 7\n");
}

TEST(TextExposition, RefusesInvalidNames) {
  EXPECT_TRUE(metrics::isValidMetricName("pier_http_requests_total"));
  EXPECT_TRUE(metrics::isValidMetricName("ns:sub_total"));
  EXPECT_FALSE(metrics::isValidMetricName(""));
  EXPECT_FALSE(metrics::isValidMetricName("1abc"));
  EXPECT_FALSE(metrics::isValidMetricName("with-dash"));
  EXPECT_FALSE(metrics::isValidMetricName("with space"));
  EXPECT_TRUE(metrics::isValidLabelName("route"));
  EXPECT_FALSE(metrics::isValidLabelName("__reserved"));
  EXPECT_FALSE(metrics::isValidLabelName("a:b"));
  EXPECT_FALSE(metrics::isValidLabelName("0a"));

  TextExposition out;
  EXPECT_THROW(out.family("bad name", MetricType::gauge, ""), std::invalid_argument);
  EXPECT_THROW(out.sample({}, std::int64_t{1}), std::logic_error); // no family yet
  out.family("good", MetricType::gauge, "");
  EXPECT_THROW(out.sample({{"bad-label", "x"}}, std::int64_t{1}), std::invalid_argument);
}

TEST(TextExposition, FormatsNumbers) {
  EXPECT_EQ(metrics::formatValue(0), "0");
  EXPECT_EQ(metrics::formatValue(1), "1");
  EXPECT_EQ(metrics::formatValue(0.0001), "0.0001");
  EXPECT_EQ(metrics::formatValue(0.00025), "0.00025");
  EXPECT_EQ(metrics::formatValue(2.5), "2.5");
  EXPECT_EQ(metrics::formatValue(1e-7), "1e-07");
  EXPECT_EQ(metrics::formatValue(-3.0), "-3");
  EXPECT_EQ(metrics::formatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(metrics::formatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(metrics::formatValue(std::nan("")), "NaN");
  // Shortest form that reads back exactly.
  EXPECT_EQ(std::stod(metrics::formatValue(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(TextExposition, HistogramBucketsAreCumulativeWithInfEqualToCount) {
  TextExposition out;
  out.family("latency_seconds", MetricType::histogram, "h");
  const double bounds[] = {0.1, 1};
  const std::uint64_t counts[] = {2, 0, 3};
  out.histogram({{"route", "blob"}}, bounds, counts, 7.5);
  EXPECT_EQ(out.text(), "# HELP latency_seconds h\n# TYPE latency_seconds histogram\n"
                        "latency_seconds_bucket{route=\"blob\",le=\"0.1\"} 2\n"
                        "latency_seconds_bucket{route=\"blob\",le=\"1\"} 2\n"
                        "latency_seconds_bucket{route=\"blob\",le=\"+Inf\"} 5\n"
                        "latency_seconds_sum{route=\"blob\"} 7.5\n"
                        "latency_seconds_count{route=\"blob\"} 5\n");
  const std::uint64_t tooFew[] = {1};
  EXPECT_THROW(out.histogram({}, bounds, tooFew, 0), std::logic_error);
}

// What the escaping writes, the real parser reads back unchanged.
TEST(TextExposition, LabelValuesRoundTripThroughThePrometheusParser) {
  const std::vector<std::string> values = {
      "plain",         "say \"hi\"", "back\\slash", "two\nlines",     "trailing\\",
      "\\n literally", "\"\\\n\"",   "ünïcode",     "{braces},comma", ""};
  TextExposition out;
  out.family("roundtrip", MetricType::gauge, "Help \\ with\nescapes.");
  for (std::size_t i = 0; i < values.size(); ++i)
    out.sample({{"index", std::to_string(i)}, {"value", values[i]}}, static_cast<std::int64_t>(i));
  test::TempDir dir;
  test::writeFile(dir / "metrics.txt", out.text());
  auto parsed = test::runCommand("/usr/bin/python3",
                                 {"-c",
                                  "import json, sys\n"
                                  "from prometheus_client.parser import text_string_to_metric_families\n"
                                  "f = list(text_string_to_metric_families(open(sys.argv[1]).read()))\n"
                                  "print(json.dumps({'help': f[0].documentation,\n"
                                  "  'values': [s.labels['value'] for s in f[0].samples]}))\n",
                                  (dir / "metrics.txt").string()});
  ASSERT_EQ(parsed.exitCode, 0) << parsed.output << out.text();
  Poco::JSON::Parser parser;
  auto result = parser.parse(parsed.output).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(result->getValue<std::string>("help"), "Help \\ with\nescapes.");
  auto parsedValues = result->getArray("values");
  ASSERT_EQ(parsedValues->size(), values.size()) << parsed.output;
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(parsedValues->getElement<std::string>(static_cast<unsigned>(i)), values[i]) << i;
}

TEST(MetricsSeries, StatusSlotsAreDistinctForKnownCodesAndSharedByClass) {
  EXPECT_NE(Metrics::statusSlot(200), Metrics::statusSlot(201));
  EXPECT_NE(Metrics::statusSlot(404), Metrics::statusSlot(405));
  EXPECT_EQ(Metrics::statusSlot(418), Metrics::statusSlot(451)); // both "4xx"
  EXPECT_NE(Metrics::statusSlot(418), Metrics::statusSlot(518));
  EXPECT_EQ(Metrics::statusSlot(0), Metrics::statusSlot(999)); // "none"
  EXPECT_NE(Metrics::statusSlot(0), Metrics::statusSlot(599));
}

TEST(MetricsSeries, RendersRequestsPerRouteNameAndGarbageCollections) {
  // Two rows of one endpoint share a series; index 9 matches no route.
  Metrics metrics({"blob", "blob", "base"}, "inmemory", "");
  metrics.requestServed(0, "HEAD", 200, std::chrono::microseconds(50), 0, 0);
  metrics.requestServed(1, "DELETE", 202, std::chrono::milliseconds(3), 0, 0);
  metrics.requestServed(9, "BREW", 418, std::chrono::seconds(100), 5, 6);
  metrics.garbageCollected(true, 3, 3000);
  metrics.garbageCollected(false, 0, 0);
  metrics.garbageCollected(true, 1, 24);
  std::string text = metrics.render();
  auto has = [&](const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; };
  EXPECT_TRUE(has(R"(pier_http_requests_total{method="HEAD",route="blob",status="200"} 1)")) << text;
  EXPECT_TRUE(has(R"(pier_http_requests_total{method="DELETE",route="blob",status="202"} 1)")) << text;
  EXPECT_TRUE(has(R"(pier_http_requests_total{method="other",route="unmatched",status="4xx"} 1)")) << text;
  EXPECT_TRUE(has(R"(pier_http_request_duration_seconds_count{route="blob"} 2)")) << text;
  EXPECT_TRUE(has(R"(pier_http_request_duration_seconds_bucket{route="blob",le="0.0001"} 1)")) << text;
  EXPECT_TRUE(has(R"(pier_http_request_duration_seconds_bucket{route="unmatched",le="60"} 0)")) << text;
  EXPECT_TRUE(has(R"(pier_http_request_duration_seconds_bucket{route="unmatched",le="+Inf"} 1)")) << text;
  EXPECT_TRUE(has(R"(pier_http_request_body_bytes_total{route="unmatched"} 5)")) << text;
  EXPECT_TRUE(has(R"(pier_http_response_body_bytes_total{route="unmatched"} 6)")) << text;
  EXPECT_EQ(text.find("route=\"base\""), std::string::npos) << "a route without requests is left out";
  EXPECT_EQ(text.find("pier_blob_descriptor_cache"), std::string::npos) << "no cache configured";
  EXPECT_TRUE(has(R"(pier_gc_runs_total{result="ok"} 2)")) << text;
  EXPECT_TRUE(has(R"(pier_gc_runs_total{result="failed"} 1)")) << text;
  EXPECT_TRUE(has("pier_gc_blobs_deleted_total 4")) << text;
  EXPECT_TRUE(has("pier_gc_bytes_freed_total 3024")) << text;
}

} // namespace
} // namespace pier
