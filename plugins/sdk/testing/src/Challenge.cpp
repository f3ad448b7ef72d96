// Parsing WWW-Authenticate challenges and judging refusals (access_controller_suite.hpp).
#include <algorithm>
#include <set>
#include <sstream>

#include "pier/testing/access_controller_suite.hpp"

namespace pier::testing {
namespace {

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void skipBlanks(std::string_view text, std::size_t& at) {
  while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
}

std::string token(std::string_view text, std::size_t& at) {
  std::size_t start = at;
  while (at < text.size() && isTokenChar(text[at])) ++at;
  return std::string(text.substr(start, at - start));
}

std::string lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

// Whether the scope parameter ("type:name:action,action type:name:action")
// asks for the access; an action of "*" covers every action.
bool scopeCovers(const std::string& scope, const Access& access) {
  for (const std::string& entry : split(scope, ' ')) {
    std::size_t first = entry.find(':'), last = entry.rfind(':');
    if (first == std::string::npos || first == last) continue;
    if (entry.substr(0, first) != access.type || entry.substr(first + 1, last - first - 1) != access.name)
      continue;
    for (const std::string& action : split(entry.substr(last + 1), ','))
      if (action == access.action || action == "*") return true;
  }
  return false;
}

} // namespace

std::optional<Challenge> parseChallenge(std::string_view text) {
  std::size_t at = 0;
  skipBlanks(text, at);
  Challenge challenge;
  challenge.scheme = token(text, at);
  if (challenge.scheme.empty()) return std::nullopt;
  if (at < text.size() && text[at] != ' ') return std::nullopt;
  skipBlanks(text, at);
  while (at < text.size()) {
    std::string name = lower(token(text, at));
    if (name.empty()) return std::nullopt;
    skipBlanks(text, at);
    if (at >= text.size() || text[at] != '=') return std::nullopt;
    ++at;
    skipBlanks(text, at);
    std::string value;
    if (at < text.size() && text[at] == '"') {
      ++at;
      bool closed = false;
      while (at < text.size()) {
        char c = text[at++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (at >= text.size()) return std::nullopt;
          c = text[at++];
        }
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return std::nullopt;
        value.push_back(c);
      }
      if (!closed) return std::nullopt;
    } else {
      value = token(text, at);
      if (value.empty()) return std::nullopt;
    }
    if (challenge.parameters.count(name)) return std::nullopt; // a parameter is named once
    challenge.parameters[name] = value;
    skipBlanks(text, at);
    if (at == text.size()) break;
    if (text[at] != ',') return std::nullopt;
    ++at;
    skipBlanks(text, at);
  }
  return challenge;
}

::testing::AssertionResult isWellFormedRefusal(const AuthResult& result, const std::vector<Access>& wanted) {
  if (result.granted) return ::testing::AssertionFailure() << "granted as \"" << result.user << "\"";
  if (result.errorCode == "DENIED") return ::testing::AssertionSuccess();
  if (result.errorCode != "UNAUTHORIZED")
    return ::testing::AssertionFailure()
           << "refused with the code \"" << result.errorCode << "\", neither UNAUTHORIZED nor DENIED";
  std::size_t challenges = 0;
  for (const auto& [name, value] : result.headers) {
    if (!equalsIgnoringCase(name, "WWW-Authenticate")) continue;
    ++challenges;
    auto challenge = parseChallenge(value);
    if (!challenge) return ::testing::AssertionFailure() << "WWW-Authenticate does not parse: " << value;
    bool basic = equalsIgnoringCase(challenge->scheme, "Basic");
    bool bearer = equalsIgnoringCase(challenge->scheme, "Bearer");
    if (!basic && !bearer)
      return ::testing::AssertionFailure() << "the scheme is neither Basic nor Bearer: " << value;
    const auto& parameters = challenge->parameters;
    if (!parameters.count("realm") || parameters.at("realm").empty())
      return ::testing::AssertionFailure() << "no realm=\"…\": " << value;
    if (!bearer) continue;
    if (!parameters.count("service") || parameters.at("service").empty())
      return ::testing::AssertionFailure() << "a Bearer challenge without service: " << value;
    if (parameters.count("error")) {
      static const std::set<std::string> errors{"invalid_request", "invalid_token", "insufficient_scope"};
      if (!errors.count(parameters.at("error")))
        return ::testing::AssertionFailure() << "error is none of RFC 6750's: " << value;
    }
    for (const Access& access : wanted) {
      std::string scope = parameters.count("scope") ? parameters.at("scope") : "";
      if (!scopeCovers(scope, access))
        return ::testing::AssertionFailure() << "the scope does not ask for " << access.type << ":"
                                             << access.name << ":" << access.action << ": " << value;
    }
  }
  if (challenges == 0)
    return ::testing::AssertionFailure() << "UNAUTHORIZED without a WWW-Authenticate challenge";
  return ::testing::AssertionSuccess();
}

} // namespace pier::testing
