#include "BasicCredentials.hpp"

#include <sstream>

#include <Poco/Base64Decoder.h>

#include <pier/access_controller.hpp>

namespace pier::htpasswd {
namespace {

bool isBase64Character(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Poco's decoder skips whitespace and accepts padding in the middle or a
// dangling character; only a token in canonical form reaches it.
bool isCanonicalBase64(std::string_view token) {
  if (token.empty() || token.size() % 4 != 0) return false;
  std::size_t data = token.find_last_not_of('=') + 1;
  if (token.size() - data > 2) return false;
  for (char c : token.substr(0, data))
    if (!isBase64Character(c)) return false;
  return true;
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
