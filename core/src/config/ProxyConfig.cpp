#include "config/ProxyConfig.hpp"

#include <algorithm>
#include <set>

#include <Poco/JSON/Array.h>

#include "config/ConfigSchema.hpp"
#include "pier/config.hpp"
#include "pier/errors.hpp"
#include "storage/Reference.hpp"

namespace pier {

namespace {

using Poco::JSON::Object;

Config::Proxy::Upstream parseUpstream(const Object& section, const std::string& path) {
  Config::Proxy::Upstream upstream;
  upstream.remoteUrl = config::getString(section, "remoteurl", path);
  configschema::requireHttpUrl(upstream.remoteUrl, configschema::joinPath(path, "remoteurl"));
  while (upstream.remoteUrl.ends_with('/')) upstream.remoteUrl.pop_back();
  upstream.username = config::getString(section, "username", path, "");
  upstream.password = config::getString(section, "password", path, "");
  upstream.ttl = config::getDuration(section, "ttl", path, upstream.ttl);
  upstream.caFile = config::getString(section, "cafile", path, "");
  return upstream;
}

} // namespace

Config::Proxy parseProxy(const Object& proxy) {
  Config::Proxy result;
  // Distribution's keys Pier does not act on: serving without them would surprise.
  for (const std::string key : {"exec", "remotenamespace"})
    if (proxy.has(key)) throw ConfigError("proxy." + key + ": is not supported by Pier");
  if (proxy.has("remoteurl")) {
    result.upstreams.push_back(parseUpstream(proxy, "proxy"));
  } else {
    for (const std::string key : {"username", "password", "ttl", "cafile"})
      if (proxy.has(key)) throw ConfigError("proxy." + key + ": needs proxy.remoteurl");
  }
  std::set<std::string> prefixes;
  Poco::JSON::Array::Ptr upstreams = proxy.getArray("upstreams");
  for (std::size_t i = 0; upstreams && i < upstreams->size(); ++i) {
    const std::string path = configschema::indexPath("proxy.upstreams", i);
    Object::Ptr section = upstreams->getObject(static_cast<unsigned int>(i));
    Config::Proxy::Upstream upstream = parseUpstream(*section, path);
    upstream.prefix = config::getString(*section, "prefix", path);
    const std::string& prefix = upstream.prefix;
    // Whole components only: "docker/" must not catch "dockerhub/...".
    if (!prefix.ends_with('/') || !isValidRepositoryName(prefix.substr(0, prefix.size() - 1)))
      throw ConfigError(path + ".prefix: \"" + prefix +
                        "\" is not a repository name prefix ending in '/' (e.g. \"dockerhub/\")");
    if (!prefixes.insert(prefix).second)
      throw ConfigError(path + ".prefix: \"" + prefix + "\" is given twice");
    result.upstreams.push_back(std::move(upstream));
  }
  // The longest prefix decides; Distribution's single upstream ("") comes last.
  std::stable_sort(result.upstreams.begin(), result.upstreams.end(),
                   [](const auto& a, const auto& b) { return a.prefix.size() > b.prefix.size(); });
  return result;
}

} // namespace pier
