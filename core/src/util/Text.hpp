#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

// Small text helpers shared by the config and storage code.
namespace pier {

// ASCII lower case (config keys, media types): no locale.
inline std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Without leading and trailing spaces, tabs and line ends (link files end in a newline).
inline std::string trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return std::string(text.substr(begin, text.find_last_not_of(kSpace) - begin + 1));
}

} // namespace pier
