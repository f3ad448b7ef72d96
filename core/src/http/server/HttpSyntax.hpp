#pragma once

#include <string_view>

// Character classes of RFC 9110 section 5.6 shared by the head parser and the
// chunked decoder; no locale, no tables to initialize.
namespace pier::http::syntax {

// tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
constexpr bool isTchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '.':
  case '^':
  case '_':
  case '`':
  case '|':
  case '~':
    return true;
  default:
    return false;
  }
}

constexpr bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text)
    if (!isTchar(c)) return false;
  return true;
}

// field-value bytes: HTAB, SP, VCHAR, obs-text; every other control byte is refused.
constexpr bool isFieldValueChar(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

constexpr bool isOws(char c) {
  return c == ' ' || c == '\t';
}

constexpr std::string_view trimOws(std::string_view text) {
  while (!text.empty() && isOws(text.front())) text.remove_prefix(1);
  while (!text.empty() && isOws(text.back())) text.remove_suffix(1);
  return text;
}

constexpr char asciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  return true;
}

} // namespace pier::http::syntax
