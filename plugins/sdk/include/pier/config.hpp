#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <Poco/JSON/Object.h>

#include "pier/errors.hpp"

// Helpers for factories reading their parameters: each throws ConfigError
// naming the key when the value has the wrong type or is missing.
namespace pier::config {

inline std::string keyPath(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

inline std::string getString(const Poco::JSON::Object& params, const std::string& key,
                             const std::string& prefix, const std::string& fallback = {}) {
  if (!params.has(key) || params.isNull(key)) return fallback;
  Poco::Dynamic::Var value = params.get(key);
  if (!value.isString()) throw ConfigError(keyPath(prefix, key) + ": must be a string");
  return value.extract<std::string>();
}

inline std::string requireString(const Poco::JSON::Object& params, const std::string& key,
                                 const std::string& prefix) {
  std::string value = getString(params, key, prefix);
  if (value.empty()) throw ConfigError(keyPath(prefix, key) + ": is required");
  return value;
}

inline std::int64_t getInt(const Poco::JSON::Object& params, const std::string& key,
                           const std::string& prefix, std::int64_t fallback) {
  if (!params.has(key) || params.isNull(key)) return fallback;
  Poco::Dynamic::Var value = params.get(key);
  // A Var holding a bool also reports isInteger(): refuse it first.
  if (value.isBoolean() || !value.isInteger())
    throw ConfigError(keyPath(prefix, key) + ": must be an integer");
  return value.convert<std::int64_t>();
}

inline bool getBool(const Poco::JSON::Object& params, const std::string& key, const std::string& prefix,
                    bool fallback) {
  if (!params.has(key) || params.isNull(key)) return fallback;
  Poco::Dynamic::Var value = params.get(key);
  if (!value.isBoolean()) throw ConfigError(keyPath(prefix, key) + ": must be true or false");
  return value.convert<bool>();
}

// getBool that also takes the strings "true" and "false", as environment
// overrides of plugin parameters arrive.
inline bool getFlag(const Poco::JSON::Object& params, const std::string& key, const std::string& prefix,
                    bool fallback) {
  if (!params.has(key) || params.isNull(key)) return fallback;
  Poco::Dynamic::Var value = params.get(key);
  if (value.isString()) {
    std::string text = value.extract<std::string>();
    if (text == "true") return true;
    if (text == "false") return false;
    throw ConfigError(keyPath(prefix, key) + ": must be true or false, not \"" + text + "\"");
  }
  return getBool(params, key, prefix, fallback);
}

// Parses a Go-style duration such as "300ms", "10s", "1m30s", "2h" or a bare
// integer of seconds. Throws std::invalid_argument when it is not one.
inline std::chrono::milliseconds parseDuration(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty duration");
  bool allDigits = text.find_first_not_of("0123456789") == std::string::npos;
  if (allDigits) return std::chrono::seconds(std::stoll(text));
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (start == i) throw std::invalid_argument("invalid duration \"" + text + "\"");
    double number = std::stod(text.substr(start, i - start));
    std::size_t unitStart = i;
    while (i < text.size() && !((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    std::string unit = text.substr(unitStart, i - unitStart);
    double scale;
    if (unit == "ns")
      scale = 1e-6;
    else if (unit == "us" || unit == "\u00b5s")
      scale = 1e-3;
    else if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1e3;
    else if (unit == "m")
      scale = 60e3;
    else if (unit == "h")
      scale = 3600e3;
    else
      throw std::invalid_argument("invalid duration \"" + text + "\"");
    total += number * scale;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(total));
}

// A duration parameter: a duration string or an integer of seconds.
inline std::chrono::milliseconds getDuration(const Poco::JSON::Object& params, const std::string& key,
                                             const std::string& prefix, std::chrono::milliseconds fallback) {
  if (!params.has(key) || params.isNull(key)) return fallback;
  Poco::Dynamic::Var value = params.get(key);
  if (value.isInteger() && !value.isBoolean()) return std::chrono::seconds(value.convert<std::int64_t>());
  if (!value.isString()) throw ConfigError(keyPath(prefix, key) + ": must be a duration such as \"10s\"");
  try {
    return parseDuration(value.extract<std::string>());
  } catch (const std::exception&) {
    throw ConfigError(keyPath(prefix, key) + ": \"" + value.extract<std::string>() +
                      "\" is not a duration such as \"10s\"");
  }
}

} // namespace pier::config
