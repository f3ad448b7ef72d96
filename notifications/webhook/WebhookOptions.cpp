#include "WebhookOptions.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string_view>

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <pier/config.hpp>
#include <pier/errors.hpp>

namespace pier::webhook {

namespace {

// The sink frames the request itself; a configured value would contradict it.
const std::vector<std::string> kReservedHeaders = {"Host", "Content-Length", "Content-Type",
                                                   "Transfer-Encoding", "Connection"};

bool isTokenCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isHeaderName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), isTokenCharacter);
}

// A value must not end the header line early (CR, LF) or carry NUL.
bool isHeaderValue(const std::string& value) {
  return value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos;
}

void parseUrl(const std::string& text, const std::string& key, WebhookOptions& options) {
  auto invalid = [&](const std::string& why) { return ConfigError(key + ": \"" + text + "\" " + why); };
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
    throw invalid("contains spaces or control characters");
  Poco::URI uri;
  try {
    uri = Poco::URI(text);
  } catch (const Poco::Exception& e) {
    throw invalid("is not a url: " + e.message());
  }
  if (uri.getScheme() != "http" && uri.getScheme() != "https") throw invalid("is not an http or https url");
  if (uri.getHost().empty()) throw invalid("names no host");
  options.https = uri.getScheme() == "https";
  options.host = uri.getHost();
  options.port = uri.getPort();

  // The target is taken from the text as written: Poco::URI decodes the path
  // and would send %2F as a slash.
  std::size_t authorityStart = text.find("://") + 3;
  std::size_t pathStart = text.find_first_of("/?#", authorityStart);
  std::string authority = text.substr(authorityStart, pathStart - authorityStart);
  if (std::size_t at = authority.rfind('@'); at != std::string::npos) {
    Poco::URI::decode(authority.substr(0, at), options.userInfo);
    authority = authority.substr(at + 1);
  }
  std::string target = pathStart == std::string::npos ? "" : text.substr(pathStart);
  target = target.substr(0, target.find('#'));
  if (target.empty() || target.front() != '/') target = "/" + target;
  options.target = target;
  options.displayUrl = uri.getScheme() + "://" + authority + target;
}

void parseHeaders(const Poco::JSON::Object& endpoint, const std::string& prefix, WebhookOptions& options) {
  if (!endpoint.has("headers") || endpoint.isNull("headers")) return;
  const std::string key = prefix + ".headers";
  Poco::JSON::Object::Ptr headers = endpoint.getObject("headers");
  if (!headers) throw ConfigError(key + ": must be a map of header names to lists of values");
  for (const auto& member : *headers) {
    const std::string& name = member.first;
    const std::string headerKey = key + "." + name;
    if (!isHeaderName(name)) throw ConfigError(headerKey + ": is not a valid header name");
    for (const auto& reserved : kReservedHeaders)
      if (Poco::icompare(name, reserved) == 0)
        throw ConfigError(headerKey + ": is set by the webhook sink and cannot be configured");
    Poco::JSON::Array::Ptr values = headers->getArray(name);
    if (!values) throw ConfigError(headerKey + ": must be a list of strings (Distribution's format)");
    for (std::size_t i = 0; i < values->size(); ++i) {
      const Poco::Dynamic::Var& item = values->get(static_cast<unsigned>(i));
      if (!item.isString()) throw ConfigError(headerKey + ": must be a list of strings");
      std::string text = item.extract<std::string>();
      if (!isHeaderValue(text)) throw ConfigError(headerKey + ": a value holds a line break or NUL");
      options.headers.emplace_back(name, text);
    }
  }
}

void parseCaFile(const Poco::JSON::Object& endpoint, const std::string& prefix, WebhookOptions& options) {
  Poco::JSON::Object::Ptr parameters =
      endpoint.has("parameters") ? endpoint.getObject("parameters") : nullptr;
  if (endpoint.has("parameters") && !endpoint.isNull("parameters") && !parameters)
    throw ConfigError(prefix + ".parameters: must be a map");
  if (!parameters) return;
  const std::string key = prefix + ".parameters.cafile";
  options.caFile = config::getString(*parameters, "cafile", prefix + ".parameters");
  if (options.caFile.empty()) return;
  if (!options.https) throw ConfigError(key + ": applies to an https url only");
  std::error_code error;
  if (!std::filesystem::is_regular_file(options.caFile, error) || !std::ifstream(options.caFile))
    throw ConfigError(key + ": cannot read " + options.caFile);
}

} // namespace

WebhookOptions parseWebhookOptions(const Poco::JSON::Object& endpoint) {
  WebhookOptions options;
  options.name = config::getString(endpoint, "name", "notifications.endpoints", "");
  const std::string prefix = "notifications.endpoints[" + options.name + "]";
  parseUrl(config::requireString(endpoint, "url", prefix), prefix + ".url", options);
  parseHeaders(endpoint, prefix, options);
  // 0 or absent: Distribution's default of one second.
  auto timeout = config::getDuration(endpoint, "timeout", prefix, options.timeout);
  if (timeout.count() < 0) throw ConfigError(prefix + ".timeout: must not be negative");
  if (timeout.count() > 0) options.timeout = timeout;
  parseCaFile(endpoint, prefix, options);
  return options;
}

} // namespace pier::webhook
