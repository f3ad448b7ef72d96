#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>
#include <Poco/URI.h>

#include "pier/errors.hpp"
#include "util/Text.hpp"

// The schema of the registry configuration (Distribution config format,
// version 0.1, plus Pier's extensions), and validation of a parsed document
// against it. The schema also guides parsing: a plain YAML scalar given for a
// key the schema declares a string keeps its text ("version: 0.1" is "0.1",
// "secret: 0123" is "0123"), as a Go string field of Distribution would.
namespace pier::configschema {

enum class Kind {
  Any,      // any value, not checked (free-form plugin parameters)
  String,   // a string; `choices` restricts it (matched case-insensitively)
  Bool,     // true or false
  Int,      // an integer in [minimum, maximum]
  Duration, // a duration string such as "10s", or an integer of seconds
  Section,  // a map with the keys in `fields`; other keys are errors unless `openKeys`
  Map,      // a map with keys of the user's choosing; each value follows `element`
  List,     // a list; each item follows `element`
  Plugins,  // `fields` plus plugin sections chosen by name: storage, auth
};

struct Node {
  Kind kind = Kind::Any;
  std::vector<std::pair<std::string, std::shared_ptr<const Node>>> fields; // Section, Plugins
  std::vector<std::string> required;                                       // Section: required keys
  bool openKeys = false;               // Section: keys not in `fields` are passed through
  std::shared_ptr<const Node> element; // Map, List
  std::vector<std::string> choices;    // String
  long long minimum = 0;               // Int
  long long maximum = 2147483647;      // Int
  std::string pluginKind;              // Plugins: "storage driver", "access controller"
  bool pluginRequired = false;         // Plugins: exactly one (else at most one)
  std::string warning;                 // added to the warnings when the key is used
  std::string defaultString;           // String: set in the document when absent

  // The field's node (Section, Plugins), or nullptr.
  const Node* field(const std::string& name) const;
};

// The whole document's schema.
const Node& registrySchema();
// Builds it (RegistrySchema.cpp); registrySchema() does once.
std::shared_ptr<const Node> buildSchema();

// The free-form node plugin parameter sections follow.
const Node& anyNode();

// The schema node of `key` under a value that follows `parent`: a field, a
// map's or list's element, a plugin's parameters (Any), or anyNode() below a
// free-form value. nullptr when `parent` does not know the key.
const Node* childSchema(const Node* parent, const std::string& key);

// A section of a validated document, or an empty one when it is absent: the
// parsers read every key of a section with its default either way.
inline Poco::JSON::Object::Ptr sectionOf(const Poco::JSON::Object& parent, const std::string& key) {
  Poco::JSON::Object::Ptr section = parent.getObject(key);
  return section ? section : Poco::JSON::Object::Ptr(new Poco::JSON::Object);
}

// Throws ConfigError naming `path` unless url is http(s) with a host.
inline void requireHttpUrl(const std::string& url, const std::string& path) {
  std::string scheme;
  std::string host;
  try {
    Poco::URI uri(url);
    scheme = lower(uri.getScheme());
    host = uri.getHost();
  } catch (const Poco::Exception&) {
  }
  if ((scheme != "http" && scheme != "https") || host.empty())
    throw ConfigError(path + ": \"" + url + "\" is not an http or https URL");
}

// "a.b" / "a[3]" for error messages.
std::string joinPath(const std::string& prefix, const std::string& key);
std::string indexPath(const std::string& prefix, std::size_t index);

// Validates `document` against registrySchema() and normalises it in place:
// null sections become empty maps, `storage: inmemory` becomes
// `storage: {inmemory: {}}`, choices are lower-cased, notification endpoints
// get their default `type`. Throws pier::ConfigError whose message starts with
// the offending key's dotted path. Uses of deprecated or ignored keys are
// appended to `warnings`.
void validateDocument(const Poco::JSON::Object::Ptr& document, std::vector<std::string>& warnings);

// The plugin sections of a validated Plugins section (storage, auth): its keys
// that are not fields, in document order.
std::vector<std::string> pluginNames(const Poco::JSON::Object& section, const Node& schema);

} // namespace pier::configschema
