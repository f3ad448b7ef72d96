// Authorization headers as the access controllers read them: Basic
// credentials (auth/htpasswd) come out only when the header is exactly their
// canonical encoding, with a user and no NUL; a Bearer token (auth/token) is
// the header's last part, never blank-led.
#include <cctype>

#include "BasicCredentials.hpp"
#include "BearerChallenge.hpp"
#include "PierProcess.hpp" // basicAuthorization

#include "FuzzContract.hpp"

namespace {

bool startsCaseInsensitively(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view header = pier::fuzz::bytesOf(data, size);

  if (auto credentials = pier::htpasswd::parseBasicAuthorization(header)) {
    PIER_FUZZ_REQUIRE(!credentials->user.empty());
    PIER_FUZZ_REQUIRE(credentials->user.find(':') == std::string::npos);
    PIER_FUZZ_REQUIRE(credentials->user.find('\0') == std::string::npos);
    PIER_FUZZ_REQUIRE(credentials->password.find('\0') == std::string::npos);
    // The header held the canonical encoding of what came out.
    std::string canonical = pier::test::basicAuthorization(credentials->user + ":" + credentials->password);
    PIER_FUZZ_REQUIRE(header.find(canonical.substr(6)) != std::string_view::npos);
    auto again = pier::htpasswd::parseBasicAuthorization(canonical);
    PIER_FUZZ_REQUIRE(again && again->user == credentials->user && again->password == credentials->password);
  }

  std::string token = pier::auth::parseBearerAuthorization(header);
  if (!token.empty()) {
    PIER_FUZZ_REQUIRE(token.front() != ' ' && token.front() != '\t');
    PIER_FUZZ_REQUIRE(header.size() >= token.size() && header.substr(header.size() - token.size()) == token);
    PIER_FUZZ_REQUIRE(startsCaseInsensitively(header.substr(header.find_first_not_of(" \t")), "bearer "));
  }
  return 0;
}
