#pragma once

#include <optional>
#include <string>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include "config/ConfigSchema.hpp"

// YAML (one configuration document, or an environment override's value) to
// the JSON tree the schema validates. Where the schema expects a string, a
// plain scalar keeps its text; elsewhere it is typed as YAML 1.2's core schema
// types it. Anchors, aliases and merge keys are resolved; the size and depth of
// the result are bounded.
namespace pier {

// The configuration document in `yaml` (source names it in errors): a map of
// sections, or an empty one for an empty document. Throws ConfigError for
// invalid YAML, more than one document, or a document that is not a map.
Poco::JSON::Object::Ptr parseYamlDocument(const std::string& yaml, const std::string& source);

// The value YAML `text` stands for at `path` (schema may be null), or nullopt
// when the text is not YAML, for validation to judge as text. Throws
// ConfigError (naming source) for a YAML tag that does not fit the value.
std::optional<Poco::Dynamic::Var> parseYamlValue(const std::string& text, const configschema::Node* schema,
                                                 const std::string& source, const std::string& path);

} // namespace pier
