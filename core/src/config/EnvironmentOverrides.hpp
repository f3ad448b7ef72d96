#pragma once

#include <map>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>

// REGISTRY_* environment variables that override configuration keys, as in
// Distribution: REGISTRY_HTTP_ADDR=:5001 sets http.addr.
namespace pier {

using Environment = std::map<std::string, std::string>;

// The process environment's REGISTRY_* variables.
Environment registryEnvironment();

// A key an override set, for error messages.
struct AppliedOverride {
  std::string path; // dotted path set
  std::string variable;
};

// Applies the REGISTRY_* entries of `overrides` to the parsed document, in
// name order (REGISTRY_STORAGE before REGISTRY_STORAGE_S3_REGION). Segments
// match keys case-insensitively; inside free-form maps an unknown segment
// becomes a lower-case key; a number indexes a list (one past its end
// appends). Values are YAML, or text where the schema expects a string.
// Throws ConfigError naming the variable.
std::vector<AppliedOverride> applyEnvironmentOverrides(const Poco::JSON::Object::Ptr& document,
                                                       const Environment& overrides);

// `message` (a validation error starting with a key's path) naming the
// variables behind it: those that set the key, or added a plugin section (a
// second storage driver) under it.
std::string withOverrideHint(const std::string& message, const std::vector<AppliedOverride>& applied);

} // namespace pier
