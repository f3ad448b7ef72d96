#include "storage/Reference.hpp"

#include <pier/blob_descriptor_cache.hpp>

namespace pier {

namespace {

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool isValidComponent(std::string_view component) {
  if (component.empty() || !isLowerAlnum(component.front()) || !isLowerAlnum(component.back())) return false;
  std::size_t i = 0;
  while (i < component.size()) {
    if (isLowerAlnum(component[i])) {
      ++i;
      continue;
    }
    // A separator: ".", "_", "__" or one or more "-", always between alphanumerics.
    std::size_t start = i;
    if (component[i] == '.')
      ++i;
    else if (component[i] == '_') {
      ++i;
      if (i < component.size() && component[i] == '_') ++i;
    } else if (component[i] == '-') {
      while (i < component.size() && component[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == start || i >= component.size() || !isLowerAlnum(component[i])) return false;
  }
  return true;
}

} // namespace

bool isValidRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRepositoryNameLength) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = name.find('/', start);
    std::string_view component =
        name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
    if (!isValidComponent(component)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool isValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  for (std::size_t i = 0; i < tag.size(); ++i) {
    char c = tag[i];
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

bool looksLikeDigest(std::string_view text) {
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  std::string_view algorithm = text.substr(0, colon), encoded = text.substr(colon + 1);
  // algorithm: [a-z0-9]+([+._-][a-z0-9]+)*
  bool previousSeparator = true;
  for (char c : algorithm) {
    bool separator = c == '+' || c == '.' || c == '_' || c == '-';
    if (separator ? previousSeparator : !isLowerAlnum(c)) return false;
    previousSeparator = separator;
  }
  if (previousSeparator) return false;
  for (char c : encoded) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '=' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<Digest> Digest::parse(std::string_view text) {
  // The SDK's grammar of registered digests, of the algorithms Pier hashes.
  if (!isValidDigest(text)) return std::nullopt;
  std::size_t colon = text.find(':');
  std::string_view algorithm = text.substr(0, colon);
  if (algorithm != "sha256" && algorithm != "sha512") return std::nullopt;
  return Digest(std::string(algorithm), std::string(text.substr(colon + 1)));
}

} // namespace pier
