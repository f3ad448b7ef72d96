// The pier command line: serve, garbage-collect, verify, plugins, version.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include <pier/config.hpp>

#include "app/App.hpp"
#include "app/DebugServer.hpp"
#include "http/HttpServer.hpp"
#include "plugin/PluginListing.hpp"
#include "storage/GarbageCollector.hpp"
#include "storage/StorageVerifier.hpp"

namespace {

constexpr const char* kUsage = R"(usage: pier <command> [arguments]

commands:
  serve [CONFIG]     run the registry on CONFIG (the embedded conf/config.yml when omitted)
  garbage-collect CONFIG [--dry-run] [--delete-untagged] [--grace DURATION]
                     delete the blobs no manifest references from the storage CONFIG names;
                     safe while registries serve it when --grace covers the longest push
                     -d, --dry-run          only print what would be deleted
                     -m, --delete-untagged  also delete manifests no tag, index or subject holds
                     -g, --grace DURATION   keep what was written this recently (e.g. 1h; default 0)
  verify CONFIG [--repair] [--json]
                     recompute every blob's digest and check every link, manifest and tag in the
                     storage CONFIG names; exit 0 when all is sound, 1 when something is corrupt
                     or dangling (and not repaired), 2 when it cannot verify
                     -r, --repair  remove the links that point at nothing (never a blob)
                     -j, --json    print the report as JSON
  plugins [CONFIG] [--json]
                     list the plugins in the plugin directory: what each provides (kind, name),
                     its name, version, ABI version and file, and the server's build
                     -j, --json  print the list as JSON
  version            print the version
  help               print this text

REGISTRY_* environment variables override config keys, as in Distribution,
e.g. REGISTRY_HTTP_ADDR=127.0.0.1:5000.
)";

// CONFIG, or the embedded conf/config.yml when none is given.
pier::Config loadConfig(const std::string& configPath) {
  pier::Environment overrides = pier::registryEnvironment();
  if (!configPath.empty()) return pier::loadConfigFile(configPath, overrides);
  return pier::parseConfig(pier::defaultConfigText(), overrides, "embedded conf/config.yml");
}

// A logger as the config says, that has logged the config's warnings.
std::unique_ptr<pier::LineLogger> makeLogger(const pier::Config& config) {
  auto logger = std::make_unique<pier::LineLogger>(pier::LineLogger::parseLevel(config.log.level),
                                                   pier::LineLogger::parseFormat(config.log.formatter));
  for (const auto& [key, value] : *config.log.fields) logger->addStaticField(key, value.toString());
  for (const auto& warning : config.warnings)
    logger->write(pier::LogLevel::warn, "configuration", {{"warning", warning}});
  return logger;
}

int serve(int argc, char** argv) {
  // SIGINT and SIGTERM (stop) and SIGHUP (reload the TLS certificate) are
  // taken by sigwait below; every thread started from here on inherits the
  // mask. A client that hangs up must not kill the server.
  sigset_t handledSignals;
  sigemptyset(&handledSignals);
  sigaddset(&handledSignals, SIGINT);
  sigaddset(&handledSignals, SIGTERM);
  sigaddset(&handledSignals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &handledSignals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  pier::Config config = loadConfig(argc >= 3 ? argv[2] : "");
  auto logger = makeLogger(config);
  pier::App app(std::move(config), *logger);
  pier::HttpServer server(app);
  std::unique_ptr<pier::DebugServer> debug;
  if (!app.config().http.debug.addr.empty()) {
    debug = std::make_unique<pier::DebugServer>(app.config().http.debug.addr, *logger);
    debug->addPage("/debug/notifications", [&app] {
      return pier::figuresJson(app.notifier() ? app.notifier()->figures()
                                              : std::vector<pier::EndpointFigures>{});
    });
    if (pier::Metrics* metrics = app.metrics())
      debug->addPage(
          app.config().http.debug.prometheusPath, [metrics] { return metrics->render(); },
          std::string(pier::metrics::kTextContentType));
    debug->start();
  }
  server.start();
  logger->write(pier::LogLevel::info, "listening",
                {{"addr", server.address()},
                 {"version", PIER_VERSION},
                 {"storage", app.driver().name()},
                 {"plugins", std::to_string(app.plugins().plugins().size())}});

  int signal = 0;
  while (sigwait(&handledSignals, &signal) == 0 && signal == SIGHUP) {
    logger->write(pier::LogLevel::info, "reloading", {{"signal", "SIGHUP"}});
    server.reloadTls();
  }
  logger->write(pier::LogLevel::info, "stopping", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.stop();
  if (debug) debug->stop();
  bool notificationsStopped = app.stopNotifications();
  logger->write(pier::LogLevel::info, "stopped", {});
  if (!notificationsStopped) {
    // A sink still runs in a plugin's code: exit without unloading it (what it carried stays queued).
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}

// The one positional argument, CONFIG, of a maintenance command: false
// (after printing why) for a flag it does not know or a second argument.
bool takeConfigArgument(const char* command, const std::string& argument, std::string& configPath) {
  if (argument.starts_with("-") || !configPath.empty()) {
    std::fprintf(stderr, "pier %s: unexpected argument \"%s\"\n\n%s", command, argument.c_str(), kUsage);
    return false;
  }
  configPath = argument;
  return true;
}

bool hasConfigArgument(const char* command, const std::string& configPath) {
  if (!configPath.empty()) return true;
  std::fprintf(stderr, "pier %s: CONFIG is required\n\n%s", command, kUsage);
  return false;
}

// What a maintenance command works with: CONFIG's storage and cache, opened without serving.
struct MaintenanceRun {
  MaintenanceRun(const char* command, const std::string& configPath)
      : MaintenanceRun(command, pier::loadConfigFile(configPath, pier::registryEnvironment())) {}
  // The logger is made (and logs the config's warnings) before the App takes the config.
  MaintenanceRun(const char* command, pier::Config config)
      : logger(makeLogger(config)), app(std::move(config), *logger, pier::AppMode::maintenance),
        context(command, *logger) {}

  std::unique_ptr<pier::LineLogger> logger;
  pier::App app;
  pier::Context context;
};

int garbageCollect(int argc, char** argv) {
  std::string configPath;
  pier::GarbageCollector::Options options;
  for (int i = 2; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--dry-run" || argument == "-d") {
      options.dryRun = true;
    } else if (argument == "--delete-untagged" || argument == "-m") {
      options.deleteUntagged = true;
    } else if ((argument == "--grace" || argument == "-g") && i + 1 < argc) {
      try {
        options.grace =
            std::chrono::duration_cast<std::chrono::seconds>(pier::config::parseDuration(argv[++i]));
      } catch (const std::exception&) {
        std::fprintf(stderr, "pier garbage-collect: --grace: \"%s\" is not a duration (e.g. 90s, 1h)\n",
                     argv[i]);
        return 2;
      }
    } else if (!takeConfigArgument("garbage-collect", argument, configPath)) {
      return 2;
    }
  }
  if (!hasConfigArgument("garbage-collect", configPath)) return 2;

  MaintenanceRun run("garbage-collect", configPath);
  options.owner = pier::collectorName("garbage-collect");
  pier::GarbageCollector collector(run.app.driver(), run.app.blobDescriptorCache(), std::cout, std::cerr);
  try {
    collector.run(run.context, options);
  } catch (const std::exception& e) {
    std::cout << std::flush;
    std::fprintf(stderr, "pier: garbage-collect failed: %s\n", e.what());
    return 1;
  }
  return 0;
}

// Exit codes: 0 sound, 1 problems left, 2 could not verify (usage, config, plugins, storage: main).
int verify(int argc, char** argv) {
  std::string configPath;
  pier::StorageVerifier::Options options;
  bool json = false;
  for (int i = 2; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--repair" || argument == "-r") {
      options.repair = true;
    } else if (argument == "--json" || argument == "-j") {
      json = true;
    } else if (!takeConfigArgument("verify", argument, configPath)) {
      return 2;
    }
  }
  if (!hasConfigArgument("verify", configPath)) return 2;
  MaintenanceRun run("verify", configPath);
  pier::StorageVerifier verifier(run.app.driver(), run.app.blobDescriptorCache(), std::cerr,
                                 isatty(STDERR_FILENO));
  auto report = verifier.run(run.context, options);
  std::cout << (json ? pier::verifyReportJson(report) : pier::verifyReportText(report)) << std::flush;
  return report.unrepaired() > 0 ? 1 : 0;
}

int listPlugins(int argc, char** argv) {
  std::string configPath;
  bool json = false;
  for (int i = 2; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--json" || argument == "-j") {
      json = true;
    } else if (!takeConfigArgument("plugins", argument, configPath)) {
      return 2;
    }
  }
  pier::Config config = loadConfig(configPath);
  pier::PluginLoader loader;
  loader.loadDirectory(pier::pluginDirectory(config));
  std::cout << (json ? pier::pluginListingJson(loader) : pier::pluginListingText(loader)) << std::flush;
  return 0;
}

} // namespace

// glibc raises its mmap threshold each time a large mmapped block is freed (up
// to 32 MiB), after which every worker's 1 MiB body buffer comes from that
// thread's arena and stays resident once freed: with a hundred workers, over
// 100 MiB of idle memory. A fixed threshold keeps such buffers mmapped, so
// they go back to the kernel when freed.
void keepLargeBuffersReturnable() {
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

int main(int argc, char** argv) {
  keepLargeBuffersReturnable();
  std::string command = argc >= 2 ? argv[1] : "help";
  // verify's 1 means "problems found": that it could not run is 2.
  const int failed = command == "verify" ? 2 : 1;
  try {
    if (command == "serve") return serve(argc, argv);
    if (command == "garbage-collect") return garbageCollect(argc, argv);
    if (command == "verify") return verify(argc, argv);
    if (command == "plugins") return listPlugins(argc, argv);
    if (command == "version" || command == "--version") {
      std::printf("pier %s (plugin ABI %d)\n", PIER_VERSION, PIER_PLUGIN_ABI_VERSION);
      return 0;
    }
    if (command == "help" || command == "--help" || command == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "pier: unknown command \"%s\"\n\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const pier::ConfigError& e) {
    std::fprintf(stderr, "pier: configuration error: %s\n", e.what());
  } catch (const pier::PluginError& e) {
    std::fprintf(stderr, "pier: plugin error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pier: %s\n", e.what());
  }
  return failed;
}
