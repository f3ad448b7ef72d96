#include "Base64.hpp"

#include <array>
#include <cstdint>

namespace pier::token {

namespace {

constexpr std::string_view kUrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::array<int, 256> reverse(std::string_view alphabet) {
  std::array<int, 256> values{};
  values.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i) values[static_cast<unsigned char>(alphabet[i])] = int(i);
  return values;
}

std::optional<std::string> decode(std::string_view text, const std::array<int, 256>& values) {
  std::size_t end = text.size();
  for (int pad = 0; pad < 2 && end > 0 && text[end - 1] == '='; ++pad) --end;
  // With padding, the whole text comes in groups of four.
  if (end != text.size() && text.size() % 4 != 0) return std::nullopt;
  // One character left over in a group carries only 6 bits: no whole byte.
  if (end % 4 == 1) return std::nullopt;
  std::string bytes;
  bytes.reserve(end * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < end; ++i) {
    int value = values[static_cast<unsigned char>(text[i])];
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | std::uint32_t(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += char((buffer >> bits) & 0xff);
    }
  }
  return bytes;
}

// Each character carries bitsPerCharacter bits, most significant first; the last is padded with zero bits.
std::string encode(std::string_view bytes, std::string_view alphabet, int bitsPerCharacter) {
  const std::uint32_t mask = (1u << bitsPerCharacter) - 1;
  std::string text;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= bitsPerCharacter) {
      bits -= bitsPerCharacter;
      text += alphabet[(buffer >> bits) & mask];
    }
  }
  if (bits > 0) text += alphabet[(buffer << (bitsPerCharacter - bits)) & mask];
  return text;
}

} // namespace

std::optional<std::string> decodeBase64Url(std::string_view text) {
  static const std::array<int, 256> values = reverse(kUrlAlphabet);
  return decode(text, values);
}

std::optional<std::string> decodeBase64(std::string_view text) {
  static const std::array<int, 256> values = reverse(kStandardAlphabet);
  return decode(text, values);
}

std::string encodeBase64Url(std::string_view bytes) {
  return encode(bytes, kUrlAlphabet, 6);
}

std::string encodeBase32(std::string_view bytes) {
  return encode(bytes, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 5);
}

} // namespace pier::token
