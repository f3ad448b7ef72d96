#pragma once

#include <Poco/JSON/Object.h>

#include "config/Config.hpp"

namespace pier {

// The notifications section of a document the schema validated, typed, with
// what the schema cannot say checked: endpoint names unique and not empty, a
// webhook's url http or https. Throws ConfigError naming the key.
Config::Notifications parseNotifications(const Poco::JSON::Object& notifications);

} // namespace pier
