// Repository names, tags and digests as they arrive in URLs and manifests:
// whatever the checks accept fits the grammar (checked here independently,
// character by character), and a parsed digest round-trips through toString.
#include "errcode/ErrorCode.hpp"
#include "http/RequestParts.hpp"
#include "storage/Reference.hpp"

#include "FuzzContract.hpp"

namespace {

using namespace pier;

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool isLowerHex(char c) {
  return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

// What an accepted name must look like: lower-case components joined by '/',
// each starting and ending alphanumeric with separators (".", "_", "__", "-"+) between.
bool nameFitsGrammar(std::string_view name) {
  if (name.empty() || name.size() > kMaxRepositoryNameLength) return false;
  char previous = '/';
  std::size_t underscores = 0;
  for (char c : name) {
    if (isLowerAlnum(c)) {
      underscores = 0;
    } else if (c == '/' || c == '.' || c == '_' || c == '-') {
      if (!isLowerAlnum(previous) && !(c == '-' && previous == '-') && !(c == '_' && previous == '_'))
        return false;
      underscores = c == '_' ? underscores + 1 : 0;
      if (underscores > 2) return false;
    } else {
      return false;
    }
    previous = c;
  }
  return isLowerAlnum(previous);
}

bool tagFitsGrammar(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength || tag.front() == '.' || tag.front() == '-') return false;
  for (char c : tag)
    if (!isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '_' && c != '.' && c != '-') return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::bytesOf(data, size);

  if (isValidRepositoryName(input)) PIER_FUZZ_REQUIRE(nameFitsGrammar(input));
  if (isValidTag(input)) PIER_FUZZ_REQUIRE(tagFitsGrammar(input));

  auto digest = Digest::parse(input);
  if (digest) {
    PIER_FUZZ_REQUIRE(digest->toString() == input);
    PIER_FUZZ_REQUIRE(looksLikeDigest(input));
    std::size_t hexLength = digest->algorithm() == "sha256" ? 64 : digest->algorithm() == "sha512" ? 128 : 0;
    PIER_FUZZ_REQUIRE(hexLength != 0 && digest->hex().size() == hexLength);
    for (char c : digest->hex()) PIER_FUZZ_REQUIRE(isLowerHex(c));
  }
  try {
    Digest required = requireDigest(input);
    PIER_FUZZ_REQUIRE(digest && required == *digest);
  } catch (const errcode::Exception& e) {
    PIER_FUZZ_REQUIRE(!digest);
    PIER_FUZZ_REQUIRE(e.errors().list().front().code.value() == "DIGEST_INVALID");
  }
  return 0;
}
