#include "app/LineLogger.hpp"

#include <chrono>
#include <ctime>
#include <stdexcept>

namespace pier {

namespace {

const char* levelName(LogLevel level) {
  switch (level) {
  case LogLevel::debug:
    return "debug";
  case LogLevel::info:
    return "info";
  case LogLevel::warn:
    return "warn";
  case LogLevel::error:
    return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + n, sizeof buffer - n, ".%06lldZ", static_cast<long long>(micros));
  return buffer;
}

void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char escape[8];
        std::snprintf(escape, sizeof escape, "\\u%04x", c);
        out += escape;
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

// Text values are quoted when they hold spaces, quotes or '=' so a line stays parseable.
void appendTextValue(std::string& out, std::string_view text) {
  bool plain = !text.empty() && text.find_first_of(" \"=\t\n\\") == std::string_view::npos;
  if (plain)
    out += text;
  else
    appendJsonString(out, text);
}

} // namespace

LineLogger::LineLogger(LogLevel level, Format format, std::FILE* out)
    : level_(level), format_(format), out_(out) {}

void LineLogger::addStaticField(std::string key, std::string value) {
  staticFields_.emplace_back(std::move(key), std::move(value));
}

void LineLogger::write(LogLevel level, std::string_view message, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line;
  line.reserve(256);
  const bool json = format_ != Format::text;
  const bool logstash = format_ == Format::logstash;
  auto add = [&](std::string_view key, std::string_view value) {
    if (json) {
      line += line.size() > 1 ? "," : "";
      appendJsonString(line, key);
      line += ':';
      appendJsonString(line, value);
    } else {
      if (!line.empty()) line += ' ';
      line += key;
      line += '=';
      appendTextValue(line, value);
    }
  };
  if (json) line += '{';
  add(logstash ? "@timestamp" : "time", timestamp());
  if (logstash) add("@version", "1");
  add("level", levelName(level));
  add(logstash ? "message" : "msg", message);
  for (const auto& [key, value] : fields) add(key, value);
  for (const auto& [key, value] : staticFields_) add(key, value);
  if (json) line += '}';
  line += '\n';
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

LogLevel LineLogger::parseLevel(const std::string& name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  if (name == "warn" || name == "warning") return LogLevel::warn;
  if (name == "error" || name == "fatal" || name == "panic") return LogLevel::error;
  throw std::invalid_argument("unknown log level \"" + name + "\"");
}

LineLogger::Format LineLogger::parseFormat(const std::string& name) {
  if (name == "text") return Format::text;
  if (name == "json") return Format::json;
  if (name == "logstash") return Format::logstash;
  throw std::invalid_argument("unknown log format \"" + name + "\"");
}

} // namespace pier
