#include "BasicCredentials.hpp"

#include <sstream>

#include <Poco/Base64Decoder.h>

#include <pier/access_controller.hpp>

namespace pier::htpasswd {
namespace {

// The 6-bit value of a base64 character; -1 outside the alphabet.
int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

// Poco's decoder skips whitespace and accepts padding in the middle, a
// dangling character or set bits after the last byte ("YR==" for "a"); only
// a token in canonical form reaches it, so one header means one password.
bool isCanonicalBase64(std::string_view token) {
  if (token.empty() || token.size() % 4 != 0) return false;
  std::size_t data = token.find_last_not_of('=') + 1;
  std::size_t padding = token.size() - data;
  if (padding > 2 || data == 0) return false;
  for (char c : token.substr(0, data))
    if (base64Value(c) < 0) return false;
  // Before "==" the last character carries 2 bits of data, before "=" 4.
  int unusedBits = padding == 2 ? 0x0f : padding == 1 ? 0x03 : 0;
  return (base64Value(token[data - 1]) & unusedBits) == 0;
}

std::optional<std::string> decodeBase64(std::string_view token) {
  if (!isCanonicalBase64(token)) return std::nullopt;
  std::istringstream input{std::string(token)};
  Poco::Base64Decoder decoder(input);
  std::string decoded;
  try {
    for (char c; decoder.get(c);) decoded.push_back(c);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (decoder.bad()) return std::nullopt;
  return decoded;
}

} // namespace

std::optional<BasicCredentials> parseBasicAuthorization(std::string_view header) {
  constexpr std::string_view kScheme = "basic";
  if (header.size() <= kScheme.size() || !equalsIgnoringCase(header.substr(0, kScheme.size()), kScheme))
    return std::nullopt;
  std::string_view rest = header.substr(kScheme.size());
  std::size_t token = rest.find_first_not_of(' ');
  if (token == 0 || token == std::string_view::npos) return std::nullopt; // "Basicx" or "Basic   "
  std::string_view encoded = rest.substr(token);
  encoded = encoded.substr(0, encoded.find_last_not_of(' ') + 1);

  std::optional<std::string> decoded = decodeBase64(encoded);
  if (!decoded || decoded->find('\0') != std::string::npos) return std::nullopt;
  std::size_t colon = decoded->find(':');
  if (colon == 0 || colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

} // namespace pier::htpasswd
