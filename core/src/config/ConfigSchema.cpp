#include "config/ConfigSchema.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include <Poco/JSON/Array.h>

#include "pier/config.hpp"
#include "pier/errors.hpp"
#include "util/Json.hpp"
#include "util/Text.hpp"

namespace pier::configschema {

namespace {

using NodePtr = std::shared_ptr<const Node>;
using Fields = std::vector<std::pair<std::string, NodePtr>>;
using json::isArray;
using json::isObject;
using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

// --- validation --------------------------------------------------------------

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// ` (did you mean "addr"?)` when a field's name is close to `key`.
std::string suggestion(const Node& node, const std::string& key) {
  std::string best;
  std::size_t bestDistance = 3;
  for (const auto& [name, field] : node.fields) {
    std::size_t distance = editDistance(lower(key), name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best.empty() ? std::string() : " (did you mean \"" + best + "\"?)";
}

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw ConfigError(path + ": " + message);
}

std::string quoted(const std::string& text) {
  return "\"" + text + "\"";
}

class Validator {
public:
  explicit Validator(std::vector<std::string>& warnings) : warnings_(warnings) {}

  void validate(Var& value, const Node& node, const std::string& path) {
    if (value.isEmpty()) {
      // An empty section is a section without keys; an empty value is an absent one.
      if (node.kind != Kind::Section && node.kind != Kind::Plugins && node.kind != Kind::Map) return;
      value = Object::Ptr(new Object(Poco::JSON_PRESERVE_KEY_ORDER));
    }
    switch (node.kind) {
    case Kind::Any:
      return;
    case Kind::String:
      return validateString(value, node, path);
    case Kind::Bool:
      if (!value.isBoolean()) fail(path, "must be true or false");
      return;
    case Kind::Int:
      return validateInt(value, node, path);
    case Kind::Duration:
      return validateDuration(value, path);
    case Kind::Section:
      return validateSection(value, node, path);
    case Kind::Map:
      return validateMap(value, node, path);
    case Kind::List:
      return validateList(value, node, path);
    case Kind::Plugins:
      return validatePlugins(value, node, path);
    }
  }

private:
  void validateString(Var& value, const Node& node, const std::string& path) {
    if (!value.isString()) fail(path, "must be a string");
    if (node.choices.empty()) return;
    std::string text = lower(value.extract<std::string>());
    if (std::find(node.choices.begin(), node.choices.end(), text) == node.choices.end())
      fail(path,
           "must be one of " + join(node.choices, ", ") + ", not " + quoted(value.extract<std::string>()));
    value = text;
  }

  void validateInt(const Var& value, const Node& node, const std::string& path) {
    // A Poco Var holding a bool claims to be an integer too.
    if (!value.isInteger() || value.isBoolean()) fail(path, "must be an integer");
    long long number = 0;
    try {
      number = value.convert<long long>();
    } catch (const std::exception&) {
      fail(path, "is too large");
    }
    if (number < node.minimum || number > node.maximum) {
      if (node.minimum == 0 && number < 0) fail(path, "must not be negative");
      fail(path, "must be between " + std::to_string(node.minimum) + " and " + std::to_string(node.maximum));
    }
  }

  void validateDuration(const Var& value, const std::string& path) {
    if (value.isInteger() && !value.isBoolean()) {
      if (value.convert<long long>() < 0) fail(path, "must not be negative");
      return;
    }
    if (!value.isString()) fail(path, "must be a duration such as \"10s\"");
    const std::string& text = value.extract<std::string>();
    try {
      config::parseDuration(text);
    } catch (const std::exception&) {
      fail(path, quoted(text) + " is not a duration such as \"10s\"");
    }
  }

  void validateSection(const Var& value, const Node& node, const std::string& path) {
    if (!isObject(value)) fail(path, "must be a map");
    Object::Ptr objectPtr = value.extract<Object::Ptr>();
    Object& object = *objectPtr;
    for (const std::string& key : object.getNames()) {
      const Node* field = node.field(key);
      if (field == nullptr) {
        if (node.openKeys) continue;
        fail(joinPath(path, key), "unknown key" + suggestion(node, key));
      }
      validateField(object, key, *field, joinPath(path, key));
    }
    for (const std::string& key : node.required) {
      if (!object.has(key) || object.isNull(key)) fail(joinPath(path, key), "is required");
    }
    for (const auto& [key, field] : node.fields) {
      if (object.has(key) && !object.isNull(key)) continue;
      if (!field->defaultString.empty()) object.set(key, field->defaultString);
      // An absent storage section fails as an empty one does: no driver.
      if (field->kind == Kind::Plugins && field->pluginRequired)
        validateField(object, key, *field, joinPath(path, key));
    }
  }

  void validateField(Object& object, const std::string& key, const Node& field, const std::string& path) {
    if (!field.warning.empty()) warnings_.push_back(path + ": " + field.warning);
    Var child = object.get(key);
    validate(child, field, path);
    object.set(key, child);
  }

  void validateMap(const Var& value, const Node& node, const std::string& path) {
    if (!isObject(value)) fail(path, "must be a map");
    Object::Ptr objectPtr = value.extract<Object::Ptr>();
    Object& object = *objectPtr;
    for (const std::string& key : object.getNames()) {
      Var child = object.get(key);
      if (node.element->kind == Kind::List && child.isEmpty())
        fail(joinPath(path, key), "must be a list"); // a header without values
      validate(child, *node.element, joinPath(path, key));
      object.set(key, child);
    }
  }

  void validateList(const Var& value, const Node& node, const std::string& path) {
    if (!isArray(value)) fail(path, "must be a list");
    Array::Ptr arrayPtr = value.extract<Array::Ptr>();
    Array& array = *arrayPtr;
    for (std::size_t i = 0; i < array.size(); ++i) {
      Var item = array.get(static_cast<unsigned int>(i));
      std::string itemPath = indexPath(path, i);
      if (item.isEmpty() && node.element->kind != Kind::Any) fail(itemPath, "must not be empty");
      validate(item, *node.element, itemPath);
      array.set(static_cast<unsigned int>(i), item);
    }
  }

  void validatePlugins(Var& value, const Node& node, const std::string& path) {
    if (value.isString()) {
      // `storage: inmemory` names a plugin without parameters.
      Object::Ptr object(new Object(Poco::JSON_PRESERVE_KEY_ORDER));
      std::string name = value.extract<std::string>();
      if (!name.empty()) object->set(name, Object::Ptr(new Object(Poco::JSON_PRESERVE_KEY_ORDER)));
      value = object;
    }
    if (!isObject(value)) fail(path, "must be a map");
    Object::Ptr objectPtr = value.extract<Object::Ptr>();
    Object& object = *objectPtr;
    std::vector<std::string> names;
    for (const std::string& key : object.getNames()) {
      if (const Node* field = node.field(key)) {
        validateField(object, key, *field, joinPath(path, key));
        continue;
      }
      names.push_back(key);
      Var parameters = object.get(key);
      if (parameters.isEmpty())
        object.set(key, Object::Ptr(new Object(Poco::JSON_PRESERVE_KEY_ORDER)));
      else if (!isObject(parameters))
        fail(joinPath(path, key), "must be a map of " + node.pluginKind + " parameters");
    }
    if (names.size() > 1) {
      std::string hint;
      for (const std::string& name : names) {
        hint = suggestion(node, name);
        if (!hint.empty()) break;
      }
      fail(path, "only one " + node.pluginKind + " may be configured, found " + join(names, ", ") + hint);
    }
    if (names.empty() && node.pluginRequired)
      fail(path,
           "a " + node.pluginKind + " section is required, e.g. filesystem: {rootdirectory: /var/lib/pier}");
  }

  std::vector<std::string>& warnings_;
};

} // namespace

const Node* Node::field(const std::string& name) const {
  for (const auto& [key, node] : fields) {
    if (key == name) return node.get();
  }
  return nullptr;
}

const Node& registrySchema() {
  static const NodePtr schema = buildSchema();
  return *schema;
}

const Node& anyNode() {
  static const Node node;
  return node;
}

const Node* childSchema(const Node* parent, const std::string& key) {
  if (parent == nullptr) return nullptr;
  switch (parent->kind) {
  case Kind::Any:
    return &anyNode();
  case Kind::Section:
    if (const Node* field = parent->field(key)) return field;
    return parent->openKeys ? &anyNode() : nullptr;
  case Kind::Plugins:
    if (const Node* field = parent->field(key)) return field;
    return &anyNode(); // a plugin's parameters
  case Kind::Map:
  case Kind::List:
    return parent->element.get();
  default:
    return nullptr;
  }
}

std::string joinPath(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string indexPath(const std::string& prefix, std::size_t index) {
  return prefix + "[" + std::to_string(index) + "]";
}

void validateDocument(const Object::Ptr& document, std::vector<std::string>& warnings) {
  Validator validator(warnings);
  Var root = document;
  validator.validate(root, registrySchema(), "");
}

std::vector<std::string> pluginNames(const Object& section, const Node& schema) {
  std::vector<std::string> names;
  for (const std::string& key : section.getNames()) {
    if (schema.field(key) == nullptr) names.push_back(key);
  }
  return names;
}

} // namespace pier::configschema
