// JWKS files (auth.token.jwks) as an operator or a key rotation writes them:
// loading gives a key set or a ConfigError naming auth.token.jwks, never
// another exception. KeySet reads a path, so each input goes through a file.
#include <fstream>
#include <string>

#include <unistd.h>

#include <pier/errors.hpp>

#include "KeySet.hpp"

#include "FuzzContract.hpp"

namespace {

const std::string& scratchFile() {
  static const std::string path = "/tmp/pier-fuzz-jwks-" + std::to_string(getpid()) + ".json";
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(scratchFile(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    PIER_FUZZ_REQUIRE(out.good());
  }
  try {
    auto keys = pier::token::KeySet::load("", scratchFile());
    PIER_FUZZ_REQUIRE(keys);
  } catch (const pier::ConfigError& error) {
    PIER_FUZZ_REQUIRE(std::string_view(error.what()).find("auth.token.jwks") != std::string_view::npos);
  }
  return 0;
}
