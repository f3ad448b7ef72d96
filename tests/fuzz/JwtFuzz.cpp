// Bearer tokens against the keys of tests/fuzz/keys (a root certificate and a
// JWKS with RSA, EC and Ed25519 keys; the seeds are signed with them): the
// verifier and the claims check refuse with InvalidToken (saying why) and
// nothing else.
#include <chrono>

#include "Claims.hpp"
#include "InvalidToken.hpp"
#include "JwtVerifier.hpp"

#include "FuzzContract.hpp"

namespace {

using namespace pier::token;

const JwtVerifier& verifier() {
  static const JwtVerifier instance(
      KeySet::load(PIER_FUZZ_KEYS_DIR "/root.crt", PIER_FUZZ_KEYS_DIR "/jwks.json"), supportedAlgorithms());
  return instance;
}

// The seeds' issuer, audience and a fixed clock inside their validity, so runs repeat.
const ClaimRules kRules{"pier-fuzz-issuer", "pier.fuzz", std::chrono::seconds(60)};
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1764700000));

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  verifier(); // a key file that does not load fails here, before any input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string jwt(pier::fuzz::bytesOf(data, size));
  Poco::JSON::Object::Ptr claims;
  try {
    claims = verifier().verify(jwt);
  } catch (const InvalidToken& refusal) {
    PIER_FUZZ_REQUIRE(*refusal.what() != '\0');
    return 0;
  }
  PIER_FUZZ_REQUIRE(claims);
  try {
    Claims checked = Claims::check(*claims, kRules, kNow);
    checked.grants(pier::Access{"repository", "library/app", "pull"});
  } catch (const InvalidToken& refusal) {
    PIER_FUZZ_REQUIRE(*refusal.what() != '\0');
  }
  return 0;
}
