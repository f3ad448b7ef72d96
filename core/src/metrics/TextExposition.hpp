#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace pier::metrics {

// The Content-Type of the Prometheus text exposition format 0.0.4.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { counter, gauge, histogram };

using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::initializer_list<Label>;

// Writes the Prometheus text exposition format, version 0.0.4: families one
// after the other, each a # HELP and a # TYPE line followed by its samples.
// The only place Pier writes that format (prometheus-cpp is not in Debian).
// Names are checked (std::invalid_argument: a programming error, never
// input); label values and help texts are escaped.
class TextExposition {
public:
  // Starts a family; the samples written next belong to it.
  void family(std::string_view name, MetricType type, std::string_view help);
  // One sample of the current counter or gauge family (a counter's name ends in _total).
  void sample(Labels labels, std::uint64_t value);
  void sample(Labels labels, std::int64_t value);
  void sample(Labels labels, double value);
  // One series of the current histogram family: per bucket (not cumulative)
  // counts, one per upper bound and a last one above them all; the sum of the
  // observations. Writes the cumulative _bucket lines, +Inf equal to _count.
  void histogram(Labels labels, std::span<const double> upperBounds, std::span<const std::uint64_t> counts,
                 double sum);

  const std::string& text() const { return text_; }

private:
  void beginSample(std::string_view suffix, Labels labels, Label extra = {});
  void requireFamily(bool histogram) const;

  std::string text_;
  std::string name_;
  MetricType type_ = MetricType::counter;
};

bool isValidMetricName(std::string_view name);
// Label names of users: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
bool isValidLabelName(std::string_view name);
// A label value between double quotes: backslash, double quote and line feed escaped.
std::string escapeLabelValue(std::string_view value);
// A # HELP text: backslash and line feed escaped.
std::string escapeHelp(std::string_view help);
// A sample value: integers exactly, +Inf, -Inf, NaN, other numbers in their shortest exact form.
std::string formatValue(double value);

} // namespace pier::metrics
