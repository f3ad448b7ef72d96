// htpasswd files (auth.htpasswd.path): every entry that loads is a non-empty
// user with a bcrypt hash crypt accepts; anything else is an HtpasswdError
// naming the file.
#include "HtpasswdFile.hpp"

#include "FuzzContract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pier::htpasswd;
  std::string_view text = pier::fuzz::bytesOf(data, size);
  try {
    Users users = parseHtpasswd(text, "fuzz.htpasswd");
    for (const auto& [user, hash] : users) {
      PIER_FUZZ_REQUIRE(!user.empty() && user.find(':') == std::string::npos);
      PIER_FUZZ_REQUIRE(text.find(user + ":" + hash) != std::string_view::npos);
      PIER_FUZZ_REQUIRE(isBcryptHash(hash));
    }
  } catch (const HtpasswdError& error) {
    PIER_FUZZ_REQUIRE(std::string_view(error.what()).find("fuzz.htpasswd") != std::string_view::npos);
  }
  return 0;
}
