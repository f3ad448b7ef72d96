#pragma once

// What the conformance suites of <pier/testing/...> share, and what a plugin
// author's factories may use: a logger that keeps lines, a scratch directory,
// a way to tie cleanup to the instance a factory returns, and the exception
// a factory throws when the service its instance needs is not there.
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <pier/context.hpp>

namespace pier::testing {

// Keeps every line a plugin logs; prints warnings and errors to stderr so that
// a failing test shows them.
class TestLogger final : public Logger {
public:
  void log(LogLevel level, std::string_view message) override;
  bool enabled(LogLevel /*level*/) const override { return true; }
  std::vector<std::string> lines() const;

private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// A new directory under the system's temporary directory, removed with
// everything in it.
class ScratchDirectory {
public:
  ScratchDirectory();
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  ~ScratchDirectory();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

// Thrown by a factory when what its instance needs (a server, a bucket) is
// missing: the test is skipped with the message instead of failing.
class Unavailable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The instance, whose last release first runs `release` on it (e.g. to
// remove a bucket's objects) and then lets go of what `release` captured
// (e.g. a ScratchDirectory): the suites drop an instance at the end of each
// test, and this is how a factory cleans up after it. Exceptions of
// `release` are swallowed: cleanup must not fail a test.
template <class T>
std::shared_ptr<T> onRelease(std::shared_ptr<T> instance, std::function<void(T&)> release) {
  T* raw = instance.get();
  return std::shared_ptr<T>(
      raw, [instance = std::move(instance), release = std::move(release)](T* object) mutable {
        try {
          if (release && object) release(*object);
        } catch (...) {
        }
        instance.reset();
        release = nullptr;
      });
}

// Names test instances after the target's name, as gtest wants them ([A-Za-z0-9_]).
struct ByName {
  template <class Target> std::string operator()(const ::testing::TestParamInfo<Target>& info) const {
    std::string name = info.param.name;
    for (char& c : name)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
    return name.empty() ? "unnamed" : name;
  }
};

} // namespace pier::testing
