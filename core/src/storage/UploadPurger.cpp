#include "storage/UploadPurger.hpp"

#include <optional>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>

#include "storage/Paths.hpp"
#include "util/Uuid.hpp"

namespace pier {

namespace {

// startedat holds an RFC 3339 time ("2006-01-02T15:04:05Z", Go also writes
// offsets and fractions).
std::optional<std::chrono::system_clock::time_point> parseStartedAt(const std::string& text) {
  Poco::DateTime parsed;
  int zone = 0;
  for (const std::string& format :
       {Poco::DateTimeFormat::ISO8601_FORMAT, Poco::DateTimeFormat::ISO8601_FRAC_FORMAT}) {
    if (Poco::DateTimeParser::tryParse(format, text, parsed, zone)) {
      parsed.makeUTC(zone);
      auto micros = parsed.timestamp().epochMicroseconds();
      return std::chrono::system_clock::time_point(std::chrono::microseconds(micros));
    }
  }
  return std::nullopt;
}

} // namespace

UploadPurger::UploadPurger(StorageDriver& driver, Logger& logger, Settings settings)
    : driver_(driver), logger_(logger), settings_(settings), task_(settings.interval, [this] { pass(); }) {}

void UploadPurger::pass() {
  Context context("upload-purge-" + newUuid(), logger_);
  try {
    auto cutoff = std::chrono::system_clock::now() - settings_.age;
    std::size_t count = purge(context, driver_, cutoff, settings_.dryRun);
    if (count > 0)
      context.log(LogLevel::info,
                  (settings_.dryRun ? "upload purge (dry run) would remove " : "upload purge removed ") +
                      std::to_string(count) + " abandoned upload(s)");
    // Temporary files of writes a crash cut off, anywhere in storage.
    if (!settings_.dryRun) {
      if (std::size_t leftovers = driver_.purgeLeftovers(context, cutoff))
        context.log(LogLevel::info,
                    "upload purge removed " + std::to_string(leftovers) + " leftover file(s)");
    }
  } catch (const std::exception& e) {
    context.log(LogLevel::warn, std::string("upload purge failed: ") + e.what());
  }
}

std::size_t UploadPurger::purge(const Context& context, StorageDriver& driver,
                                std::chrono::system_clock::time_point startedBefore, bool dryRun) {
  std::size_t count = 0;
  auto consider = [&](const std::string& upload) {
    std::optional<std::chrono::system_clock::time_point> started;
    try {
      started = parseStartedAt(driver.getContent(context, upload + "/startedat"));
    } catch (const PathNotFoundError&) {
    }
    // Without a readable start time, the directory's own age decides.
    if (!started) started = driver.stat(context, upload).modTime;
    if (*started >= startedBefore) return;
    ++count;
    context.log(LogLevel::info, (dryRun ? "would purge upload " : "purging upload ") + upload);
    if (!dryRun) driver.remove(context, upload);
  };
  try {
    driver.walk(context, paths::repositoriesRoot(), [&](const FileInfo& info) {
      if (!info.isDirectory) return WalkControl::proceed;
      std::string base = info.path.substr(info.path.rfind('/') + 1);
      if (base == "_uploads") {
        for (const auto& upload : driver.list(context, info.path)) {
          try {
            consider(upload);
          } catch (const PathNotFoundError&) {
            // Finished or cancelled meanwhile.
          }
        }
        return WalkControl::skipDirectory;
      }
      return base == "_layers" || base == "_manifests" ? WalkControl::skipDirectory : WalkControl::proceed;
    });
  } catch (const PathNotFoundError&) {
  }
  return count;
}

} // namespace pier
