#pragma once

#include <Poco/JSON/Object.h>

#include "config/Config.hpp"

namespace pier {

// The health section of a document the schema validated, typed; throws
// ConfigError naming the key (e.g. health.tcp[0].addr).
Config::Health parseHealth(const Poco::JSON::Object& health);

} // namespace pier
