#include "metrics/TextExposition.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace pier::metrics {

namespace {

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool isNameChar(char c) {
  return isNameStart(c) || (c >= '0' && c <= '9');
}

std::string_view typeName(MetricType type) {
  switch (type) {
  case MetricType::counter:
    return "counter";
  case MetricType::gauge:
    return "gauge";
  case MetricType::histogram:
    return "histogram";
  }
  return "untyped";
}

template <typename Integer> void appendInteger(std::string& out, Integer value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// Backslash and line feed escaped, and double quotes when asked (label values).
std::string escaped(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || (quotes && c == '"')) out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

} // namespace

bool isValidMetricName(std::string_view name) {
  if (name.empty() || !(isNameStart(name.front()) || name.front() == ':')) return false;
  for (char c : name) {
    if (!isNameChar(c) && c != ':') return false;
  }
  return true;
}

bool isValidLabelName(std::string_view name) {
  if (name.empty() || !isNameStart(name.front()) || name.starts_with("__")) return false;
  for (char c : name) {
    if (!isNameChar(c)) return false;
  }
  return true;
}

std::string escapeLabelValue(std::string_view value) {
  return escaped(value, true);
}

std::string escapeHelp(std::string_view help) {
  return escaped(help, false);
}

std::string formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Shortest exact digits, in positional notation where Go's clients use it
  // (le="0.0001" rather than "1e-04"), so bucket labels read as theirs do.
  double magnitude = std::fabs(value);
  auto format = magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e21) ? std::chars_format::fixed
                                                                          : std::chars_format::scientific;
  char digits[64];
  auto end = std::to_chars(digits, digits + sizeof digits, value, format).ptr;
  return std::string(digits, end);
}

void TextExposition::family(std::string_view name, MetricType type, std::string_view help) {
  if (!isValidMetricName(name))
    throw std::invalid_argument("invalid metric name \"" + std::string(name) + "\"");
  name_ = name;
  type_ = type;
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += escapeHelp(help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += typeName(type);
  text_ += '\n';
}

void TextExposition::requireFamily(bool histogram) const {
  if (name_.empty() || histogram != (type_ == MetricType::histogram))
    throw std::logic_error("metric sample outside a family of its type");
}

void TextExposition::beginSample(std::string_view suffix, Labels labels, Label extra) {
  text_ += name_;
  text_ += suffix;
  bool first = true;
  auto append = [&](const Label& label) {
    if (!isValidLabelName(label.first))
      throw std::invalid_argument("invalid label name \"" + std::string(label.first) + "\"");
    text_ += first ? '{' : ',';
    first = false;
    text_ += label.first;
    text_ += "=\"";
    text_ += escapeLabelValue(label.second);
    text_ += '"';
  };
  for (const Label& label : labels) append(label);
  if (!extra.first.empty()) append(extra);
  if (!first) text_ += '}';
  text_ += ' ';
}

void TextExposition::sample(Labels labels, std::uint64_t value) {
  requireFamily(false);
  beginSample("", labels);
  appendInteger(text_, value);
  text_ += '\n';
}

void TextExposition::sample(Labels labels, std::int64_t value) {
  requireFamily(false);
  beginSample("", labels);
  appendInteger(text_, value);
  text_ += '\n';
}

void TextExposition::sample(Labels labels, double value) {
  requireFamily(false);
  beginSample("", labels);
  text_ += formatValue(value);
  text_ += '\n';
}

void TextExposition::histogram(Labels labels, std::span<const double> upperBounds,
                               std::span<const std::uint64_t> counts, double sum) {
  requireFamily(true);
  if (counts.size() != upperBounds.size() + 1)
    throw std::logic_error("a histogram needs one count per bound and one above them");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    std::string bound = i < upperBounds.size() ? formatValue(upperBounds[i]) : "+Inf";
    beginSample("_bucket", labels, {"le", bound});
    appendInteger(text_, cumulative);
    text_ += '\n';
  }
  beginSample("_sum", labels);
  text_ += formatValue(sum);
  text_ += "\n";
  beginSample("_count", labels);
  appendInteger(text_, cumulative);
  text_ += '\n';
}

} // namespace pier::metrics
