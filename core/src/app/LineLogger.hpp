#pragma once

#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pier/context.hpp>

namespace pier {

// Structured logging: one line per entry, "text" (time=… level=… msg=… k=v),
// "json" ({"time","level","msg",…}) or "logstash" (Logstash's JSON event:
// "@timestamp", "@version", "level", "message", …), to a FILE (stderr by
// default). Thread safe.
class LineLogger final : public Logger {
public:
  using Field = std::pair<std::string_view, std::string>;

  enum class Format { text, json, logstash };

  explicit LineLogger(LogLevel level = LogLevel::info, Format format = Format::text, std::FILE* out = stderr);

  // Fields added to every line (config log.fields).
  void addStaticField(std::string key, std::string value);

  void log(LogLevel level, std::string_view message) override { write(level, message, {}); }
  bool enabled(LogLevel level) const override { return level >= level_; }
  void write(LogLevel level, std::string_view message, std::initializer_list<Field> fields);

  // "error", "warn", "info", "debug"; throws std::invalid_argument otherwise.
  static LogLevel parseLevel(const std::string& name);
  // "text", "json", "logstash" (log.formatter); throws std::invalid_argument otherwise.
  static Format parseFormat(const std::string& name);

private:
  LogLevel level_;
  Format format_;
  std::FILE* out_;
  std::vector<std::pair<std::string, std::string>> staticFields_;
  std::mutex mutex_;
};

} // namespace pier
