#pragma once

// The encodings tokens and keys use: base64url without padding (JWS segments,
// JWK members, RFC 7638 thumbprints), standard base64 (x5c certificates) and
// base32 (libtrust key ids).
#include <optional>
#include <string>
#include <string_view>

namespace pier::token {

// Decoders refuse any character outside the alphabet; trailing '=' padding is
// optional. nullopt for text that is not the encoding.
std::optional<std::string> decodeBase64Url(std::string_view text);
std::optional<std::string> decodeBase64(std::string_view text);

std::string encodeBase64Url(std::string_view bytes); // without padding
std::string encodeBase32(std::string_view bytes);    // RFC 4648 alphabet, without padding

} // namespace pier::token
