#pragma once

// A Logger for in-process tests: keeps every line ("warn: ..." or
// "info: ...") so that a test can count the ones holding a text.
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <pier/context.hpp>

namespace pier::test {

class RecordingLogger final : public Logger {
public:
  void log(LogLevel level, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::string(level == LogLevel::warn ? "warn: " : "info: ") + std::string(message));
  }
  bool enabled(LogLevel) const override { return true; }
  std::size_t count(const std::string& text) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& line : lines_) n += line.find(text) != std::string::npos;
    return n;
  }

private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

} // namespace pier::test
