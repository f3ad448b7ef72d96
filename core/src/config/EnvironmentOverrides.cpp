#include "config/EnvironmentOverrides.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <sstream>

#include <Poco/JSON/Array.h>

#include "config/ConfigSchema.hpp"
#include "config/YamlToJson.hpp"
#include "pier/access_controller.hpp"
#include "pier/errors.hpp"
#include "util/Json.hpp"
#include "util/Text.hpp"

extern char** environ;

namespace pier {

namespace {

using configschema::joinPath;
using configschema::Kind;
using configschema::Node;
using json::isArray;
using json::isObject;
using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr const char* kPrefix = "REGISTRY_";

bool isScalarKind(Kind kind) {
  return kind == Kind::String || kind == Kind::Bool || kind == Kind::Int || kind == Kind::Duration;
}

class OverrideApplier {
public:
  OverrideApplier(Object::Ptr root, std::vector<AppliedOverride>& applied)
      : root_(std::move(root)), applied_(applied) {}

  // Sets the key `variable` names (see applyEnvironmentOverrides).
  void apply(const std::string& variable, const std::string& text) {
    variable_ = variable;
    std::vector<std::string> segments;
    std::stringstream stream(variable.substr(std::strlen(kPrefix)));
    for (std::string segment; std::getline(stream, segment, '_');) segments.push_back(segment);
    if (segments.empty() || variable.back() == '_' ||
        std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); }))
      throw ConfigError(variable + ": is not a configuration key (empty segment between underscores)");

    const Node* schema = &configschema::registrySchema();
    Var container = root_;
    std::string path;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const std::string& segment = segments[i];
      bool last = i + 1 == segments.size();
      if (isScalarKind(schema->kind))
        throw ConfigError(variable + ": " + path + " is a single value, it has no key " + lower(segment));

      if (isArray(container)) {
        Array::Ptr arrayPtr = container.extract<Array::Ptr>();
        Array& array = *arrayPtr;
        std::size_t index = listIndex(segment, array.size(), path);
        const Node* element = configschema::childSchema(schema, "");
        std::string itemPath = configschema::indexPath(path, index);
        if (last) {
          array.set(static_cast<unsigned int>(index), value(text, element, itemPath));
          applied_.push_back({itemPath, variable});
          return;
        }
        Var child = index < array.size() ? array.get(static_cast<unsigned int>(index)) : Var();
        child = descendInto(child, element, itemPath);
        array.set(static_cast<unsigned int>(index), child);
        container = child;
        schema = element;
        path = itemPath;
        continue;
      }

      Object::Ptr objectPtr = container.extract<Object::Ptr>();
      Object& object = *objectPtr;
      std::string key = resolveKey(object, *schema, segment, path);
      const Node* child = configschema::childSchema(schema, key);
      std::string keyPath = joinPath(path, key);
      if (last) {
        if (child->kind == Kind::Plugins)
          choosePlugin(object, key, *child, text, keyPath);
        else
          object.set(key, value(text, child, keyPath));
        applied_.push_back({keyPath, variable});
        return;
      }
      Var next = descendInto(object.get(key), child, keyPath);
      object.set(key, next);
      container = next;
      schema = child;
      path = keyPath;
    }
  }

private:
  std::string resolveKey(const Object& object, const Node& schema, const std::string& segment,
                         const std::string& path) const {
    for (const auto& [name, field] : schema.fields) {
      if (equalsIgnoringCase(name, segment)) return name;
    }
    if (schema.kind == Kind::Section && !schema.openKeys)
      throw ConfigError(variable_ + ": there is no configuration key " + joinPath(path, lower(segment)));
    // A free-form map: an existing key in any case, else the lower-cased segment.
    for (const std::string& name : object.getNames()) {
      if (equalsIgnoringCase(name, segment)) return name;
    }
    return lower(segment);
  }

  std::size_t listIndex(const std::string& segment, std::size_t size, const std::string& path) const {
    std::size_t index = 0;
    auto [ptr, error] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
    if (error != std::errc() || ptr != segment.data() + segment.size())
      throw ConfigError(variable_ + ": " + path + " is a list; " + segment + " is not an index");
    if (index > size)
      throw ConfigError(variable_ + ": " + path + " has " + std::to_string(size) + " items; index " +
                        segment + " would leave a gap");
    return index;
  }

  // The container at `path` to descend into, created when absent.
  Var descendInto(const Var& current, const Node* schema, const std::string& path) const {
    if (isObject(current)) {
      if (schema->kind == Kind::List)
        throw ConfigError(variable_ + ": " + path + " is a map in the configuration where a list belongs");
      return current;
    }
    if (isArray(current)) {
      if (schema->kind != Kind::List && schema->kind != Kind::Any)
        throw ConfigError(variable_ + ": " + path + " is a list in the configuration where a map belongs");
      return current;
    }
    if (current.isString() && schema->kind == Kind::Plugins) { // storage: inmemory
      Object::Ptr section = json::newObject();
      section->set(current.extract<std::string>(), json::newObject());
      return section;
    }
    if (!current.isEmpty()) throw ConfigError(variable_ + ": " + path + " is a single value, not a map");
    if (schema->kind == Kind::List) return Array::Ptr(new Array());
    return json::newObject();
  }

  // The variable's text as the value at `path`: text for a string key, else a YAML value.
  Var value(const std::string& text, const Node* schema, const std::string& path) const {
    if (schema->kind == Kind::String) return text;
    return parseYamlValue(text, schema, variable_, path).value_or(Var(text));
  }

  // REGISTRY_STORAGE=inmemory: the plugin sections are replaced by one named
  // section (keeping its parameters when it was already the one configured);
  // the section's own keys (cache, delete, ...) stay.
  void choosePlugin(Object& parent, const std::string& key, const Node& schema, const std::string& text,
                    const std::string& path) const {
    Var current = descendInto(parent.get(key), &schema, path);
    Object::Ptr sectionPtr = current.extract<Object::Ptr>();
    Object& section = *sectionPtr;
    std::string name = trim(text);
    if (name.empty() && schema.pluginRequired)
      throw ConfigError(variable_ + ": must name a " + schema.pluginKind);
    if (schema.field(name) != nullptr)
      throw ConfigError(variable_ + ": \"" + name + "\" is not a " + schema.pluginKind + " name");
    for (const std::string& existing : configschema::pluginNames(section, schema)) {
      if (existing != name) section.remove(existing);
    }
    if (!name.empty() && (!section.has(name) || !isObject(section.get(name))))
      section.set(name, json::newObject());
    parent.set(key, current);
  }

  Object::Ptr root_;
  std::vector<AppliedOverride>& applied_;
  std::string variable_;
};

// Kubernetes service links (a Service named "registry" gives REGISTRY_PORT,
// REGISTRY_SERVICE_HOST, ...) and the variable naming the config file of
// Distribution's image are no configuration keys.
bool isConfigurationVariable(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return false;
  std::string rest = name.substr(std::strlen(kPrefix));
  if (rest == "CONFIGURATION_PATH") return false;
  std::string first = rest.substr(0, rest.find('_'));
  return first != "PORT" && first != "SERVICE";
}

} // namespace

Environment registryEnvironment() {
  Environment environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text = *entry;
    std::size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    std::string name = text.substr(0, equals);
    if (isConfigurationVariable(name)) environment[name] = text.substr(equals + 1);
  }
  return environment;
}

std::vector<AppliedOverride> applyEnvironmentOverrides(const Object::Ptr& document,
                                                       const Environment& overrides) {
  std::vector<AppliedOverride> applied;
  OverrideApplier applier(document, applied);
  for (const auto& [name, value] : overrides) { // a std::map: sorted by name
    if (name.rfind(kPrefix, 0) == 0) applier.apply(name, value);
  }
  return applied;
}

std::string withOverrideHint(const std::string& message, const std::vector<AppliedOverride>& applied) {
  std::string path = message.substr(0, message.find(": "));
  auto within = [](const std::string& inner, const std::string& outer) {
    return inner == outer || (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
                              (inner[outer.size()] == '.' || inner[outer.size()] == '['));
  };
  const Node* section = configschema::registrySchema().field(path);
  auto addsPlugin = [&](const std::string& overridePath) {
    if (section == nullptr || section->kind != Kind::Plugins || !within(overridePath, path)) return false;
    std::string rest = overridePath.substr(std::min(overridePath.size(), path.size() + 1));
    return rest.empty() || section->field(rest.substr(0, rest.find('.'))) == nullptr;
  };
  std::vector<std::string> variables;
  for (const AppliedOverride& override : applied) {
    if (within(path, override.path) || addsPlugin(override.path)) variables.push_back(override.variable);
  }
  if (variables.empty()) return message;
  std::string hint;
  for (const std::string& variable : variables) hint += (hint.empty() ? "" : ", ") + variable;
  return message + " (set by " + hint + ")";
}

} // namespace pier
