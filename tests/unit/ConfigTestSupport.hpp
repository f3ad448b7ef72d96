#pragma once

// What the config tests share: parsing a YAML text, the ConfigError it throws,
// message assertions and a config file that removes itself.
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

#include "config/Config.hpp"
#include "pier/errors.hpp"

namespace pier::config_test {

using pier::Config;
using pier::ConfigError;
using pier::Environment;

inline const std::string kMinimal = "version: 0.1\n"
                                    "storage:\n"
                                    "  inmemory:\n";

inline Config parse(const std::string& yaml, const Environment& env = {}) {
  return pier::parseConfig(yaml, env, "test.yml");
}

// The ConfigError message parsing `yaml` with `env` throws; fails the test when none is thrown.
inline std::string errorOf(const std::string& yaml, const Environment& env = {}) {
  try {
    parse(yaml, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << yaml;
  return {};
}

inline bool startsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

#define EXPECT_STARTS_WITH(text, prefix)                                                                     \
  EXPECT_TRUE(startsWith((text), (prefix)))                                                                  \
      << "message: \"" << (text) << "\"\nexpected to start with: \"" << (prefix) << "\""

#define EXPECT_CONTAINS(text, part)                                                                          \
  EXPECT_NE((text).find(part), std::string::npos)                                                            \
      << "message: \"" << (text) << "\"\nexpected to contain: \"" << (part) << "\""

class TempFile {
public:
  explicit TempFile(const std::string& content) {
    path_ = std::filesystem::temp_directory_path() /
            ("pier-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".yml");
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

} // namespace pier::config_test
