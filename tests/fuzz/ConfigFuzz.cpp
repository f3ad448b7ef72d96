// The config file and its REGISTRY_* overrides (core/src/config). The input
// is the YAML text, then optionally a NUL byte and NAME=value lines: the
// environment. Parsing gives a validated version 0.1 config or a ConfigError
// with a message, never another exception.
#include <pier/errors.hpp>

#include "config/Config.hpp"

#include "FuzzContract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = pier::fuzz::bytesOf(data, size);
  std::size_t nul = input.find('\0');
  std::string yaml(input.substr(0, nul));
  pier::Environment environment;
  if (nul != std::string_view::npos) {
    std::string_view lines = input.substr(nul + 1);
    while (!lines.empty()) {
      std::string_view line = lines.substr(0, lines.find('\n'));
      lines.remove_prefix(std::min(lines.size(), line.size() + 1));
      std::size_t equals = line.find('=');
      if (equals != std::string_view::npos)
        environment[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
    }
  }
  try {
    pier::Config config = pier::parseConfig(yaml, environment, "fuzz.yml");
    PIER_FUZZ_REQUIRE(config.version == "0.1");
    PIER_FUZZ_REQUIRE(config.document && !config.storage.driver.name.empty());
    PIER_FUZZ_REQUIRE(config.storage.driver.parameters && config.redis && config.validation);
  } catch (const pier::ConfigError& error) {
    PIER_FUZZ_REQUIRE(*error.what() != '\0');
  }
  return 0;
}
