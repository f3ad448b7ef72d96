#pragma once

#include <Poco/JSON/Object.h>

#include "config/Config.hpp"

namespace pier {

// The proxy section of a document the schema validated, typed, with what the
// schema cannot say checked: remoteurl http or https, prefixes that are whole
// repository name components ending in '/', each prefix once. Throws
// ConfigError naming the key (e.g. proxy.upstreams[1].prefix).
Config::Proxy parseProxy(const Poco::JSON::Object& proxy);

} // namespace pier
