#pragma once

// The scopes access controller of the tests (tests/plugins/ScopeAccessController.cpp):
// a config that loads it with every plugin of the build, and its credentials.
#include <map>
#include <string>

#include "PierProcess.hpp"

namespace pier::test {

// A config for filesystem storage under root (logging at debug, so events
// show) with `auth: {scopes: {}}` and a plugin directory made in pluginDir.
std::string scopesConfig(const TempDir& root, const TempDir& pluginDir, const std::string& extra = {});

// The Authorization header granting user the scopes ("repository:a/b:pull ...").
std::map<std::string, std::string> scopes(const std::string& user, const std::string& list);

// The same config logging at debug level, so that events show in the log.
std::string withDebugLog(const std::string& config);

} // namespace pier::test
