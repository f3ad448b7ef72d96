#include "config/Config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "config/ConfigSchema.hpp"
#include "pier/config.hpp"
#include "pier/errors.hpp"

extern char** environ;

namespace pier {

namespace {

using configschema::joinPath;
using configschema::Kind;
using configschema::Node;
using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr const char* kPrefix = "REGISTRY_";
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxNodes = 100000; // anchors and aliases must not blow a config up

Object::Ptr newObject() {
  return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
}
Array::Ptr newArray() {
  return new Array();
}

bool isObject(const Var& value) {
  return value.type() == typeid(Object::Ptr);
}
bool isArray(const Var& value) {
  return value.type() == typeid(Array::Ptr);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

bool equalsIgnoringCase(const std::string& a, const std::string& b) {
  return lower(a) == lower(b);
}

bool isScalarKind(Kind kind) {
  return kind == Kind::String || kind == Kind::Bool || kind == Kind::Int || kind == Kind::Duration;
}

// --- YAML scalars ------------------------------------------------------------

// A plain (unquoted, untagged) scalar typed as the YAML 1.2 core schema types it.
Var resolvePlainScalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return Var();
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;

  static const std::regex decimal("[-+]?[0-9]+");
  static const std::regex octal("0o[0-7]+");
  static const std::regex hexadecimal("0x[0-9a-fA-F]+");
  static const std::regex real("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex infinity("[-+]?\\.(inf|Inf|INF)");
  static const std::regex notANumber("\\.(nan|NaN|NAN)");

  auto integer = [&](std::size_t skip, int base) -> Var {
    const char* begin = text.data() + skip;
    const char* end = text.data() + text.size();
    if (*begin == '+') ++begin;
    Poco::Int64 value = 0;
    auto [ptr, error] = std::from_chars(begin, end, value, base);
    if (error == std::errc() && ptr == end) return value;
    return std::strtod(text.c_str(), nullptr); // out of range: a float, as YAML has no bound
  };
  if (std::regex_match(text, decimal)) return integer(0, 10);
  if (std::regex_match(text, octal)) return integer(2, 8);
  if (std::regex_match(text, hexadecimal)) return integer(2, 16);
  if (std::regex_match(text, real)) return std::strtod(text.c_str(), nullptr);
  if (std::regex_match(text, infinity))
    return text[0] == '-' ? -std::numeric_limits<double>::infinity()
                          : std::numeric_limits<double>::infinity();
  if (std::regex_match(text, notANumber)) return std::numeric_limits<double>::quiet_NaN();
  return text;
}

// Converts a YAML document into a JSON tree. Where the schema expects a string,
// a plain scalar keeps its text; elsewhere it is typed as YAML types it.
class YamlConverter {
public:
  explicit YamlConverter(std::string source) : source_(std::move(source)) {}

  Var convert(const YAML::Node& node, const Node* schema, const std::string& path, int depth = 0) {
    if (++nodes_ > kMaxNodes) throw ConfigError(source_ + ": the configuration is too large");
    if (depth > kMaxDepth) fail(path, "is nested too deeply", node);
    switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Var();
    case YAML::NodeType::Scalar:
      return scalar(node, schema, path);
    case YAML::NodeType::Sequence: {
      Array::Ptr array = newArray();
      const Node* element = configschema::childSchema(schema, "");
      std::size_t index = 0;
      for (const YAML::Node& item : node)
        array->add(convert(item, element, configschema::indexPath(path, index++), depth + 1));
      return array;
    }
    case YAML::NodeType::Map:
      return map(node, schema, path, depth);
    }
    return Var();
  }

private:
  Var scalar(const YAML::Node& node, const Node* schema, const std::string& path) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!") return text; // quoted
    if (tag == "?" || tag.empty()) {
      Var value = resolvePlainScalar(text);
      // As a Go string field would: "version: 0.1" is the string "0.1".
      if (schema != nullptr && schema->kind == Kind::String && !value.isEmpty()) return text;
      return value;
    }
    static const std::string core = "tag:yaml.org,2002:";
    if (tag == core + "str" || tag == core + "binary") return text;
    Var value = resolvePlainScalar(text);
    if (tag == core + "null" && value.isEmpty()) return value;
    if (tag == core + "bool" && value.isBoolean()) return value;
    if (tag == core + "int" && value.isInteger() && !value.isBoolean()) return value;
    if (tag == core + "float" && value.isNumeric() && !value.isBoolean()) return value.convert<double>();
    if (tag.rfind(core, 0) == 0)
      fail(path, "\"" + text + "\" is not a valid !!" + tag.substr(core.size()), node);
    fail(path, "unsupported YAML tag " + tag, node);
  }

  Var map(const YAML::Node& node, const Node* schema, const std::string& path, int depth) {
    Object::Ptr object = newObject();
    std::vector<YAML::Node> merges;
    for (const auto& entry : node) {
      const YAML::Node keyNode = entry.first;
      const YAML::Node valueNode = entry.second;
      if (!keyNode.IsScalar()) fail(path, "map keys must be strings", keyNode);
      const std::string key = keyNode.Scalar();
      if (key == "<<" && keyNode.Tag() == "?") { // a merge key: <<: *anchor
        merges.push_back(valueNode);
        continue;
      }
      std::string keyPath = joinPath(path, key);
      if (object->has(key)) fail(keyPath, "duplicate key", keyNode);
      object->set(key, convert(valueNode, configschema::childSchema(schema, key), keyPath, depth + 1));
    }
    for (const YAML::Node& merge : merges) {
      std::vector<YAML::Node> sources;
      if (merge.IsMap())
        sources.push_back(merge);
      else if (merge.IsSequence())
        for (const YAML::Node& item : merge) sources.push_back(item);
      for (const YAML::Node& source : sources) {
        if (!source.IsMap()) fail(joinPath(path, "<<"), "a merge key must name a map", source);
        for (const auto& entry : source) {
          const YAML::Node keyNode = entry.first;
          const YAML::Node valueNode = entry.second;
          if (!keyNode.IsScalar()) continue;
          const std::string key = keyNode.Scalar();
          if (object->has(key)) continue; // keys given explicitly win
          object->set(key, convert(valueNode, configschema::childSchema(schema, key), joinPath(path, key),
                                   depth + 1));
        }
      }
    }
    return object;
  }

  // "http.addr: duplicate key (config.yml, line 7)"; "config.yml, line 3: ..." where there is no key yet.
  [[noreturn]] void fail(const std::string& path, const std::string& message, const YAML::Node& node) const {
    std::string where = source_;
    if (node.Mark().line >= 0) where += ", line " + std::to_string(node.Mark().line + 1);
    if (path.empty()) throw ConfigError(where + ": " + message);
    throw ConfigError(path + ": " + message + " (" + where + ")");
  }

  std::string source_;
  std::size_t nodes_ = 0;
};

// Records where each YAML document of a stream starts; builds nothing.
class DocumentStarts : public YAML::EventHandler {
public:
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
  }
  void OnMapEnd() override {}

  std::vector<YAML::Mark> marks;
};

[[noreturn]] void invalidYaml(const std::string& source, const YAML::Mark& mark, const std::string& message) {
  throw ConfigError(source + ", line " + std::to_string(mark.line + 1) + ", column " +
                    std::to_string(mark.column + 1) + ": invalid YAML: " + message);
}

// How many documents `yaml` holds. Not YAML::LoadAll: yaml-cpp 0.7 loops
// forever, allocating, on some invalid input (a stream starting with ",",
// jbeder/yaml-cpp#1040); a parser that stops advancing is a syntax error here.
std::size_t countDocuments(const std::string& yaml, const std::string& source) {
  std::istringstream stream(yaml);
  YAML::Parser parser(stream);
  DocumentStarts starts;
  while (parser.HandleNextDocument(starts)) {
    std::size_t count = starts.marks.size();
    if (count >= 2 && starts.marks[count - 1].pos == starts.marks[count - 2].pos)
      invalidYaml(source, starts.marks.back(), "unexpected character");
    if (count > 1) return count;
  }
  return starts.marks.size();
}

Object::Ptr parseYamlDocument(const std::string& yaml, const std::string& source) {
  YAML::Node document;
  try {
    if (countDocuments(yaml, source) > 1)
      throw ConfigError(source + ": holds more than one YAML document; a configuration is one document");
    document = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    invalidYaml(source, e.mark, e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": invalid YAML: " + e.msg);
  }
  if (document.IsNull()) return newObject();
  if (!document.IsMap()) throw ConfigError(source + ": the configuration must be a YAML map of sections");
  YamlConverter converter(source);
  try {
    return converter.convert(document, &configschema::registrySchema(), "").extract<Object::Ptr>();
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": invalid YAML: " + e.msg);
  }
}

// --- REGISTRY_* environment overrides ------------------------------------------

struct AppliedOverride {
  std::string path; // dotted path set
  std::string variable;
};

class OverrideApplier {
public:
  OverrideApplier(Object::Ptr root, std::vector<AppliedOverride>& applied)
      : root_(std::move(root)), applied_(applied) {}

  // REGISTRY_HTTP_ADDR=:5001 sets http.addr. Segments match keys case-insensitively;
  // inside free-form maps an unknown segment becomes a lower-case key; a number
  // indexes a list (one past its end appends).
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
      Object::Ptr section = newObject();
      section->set(current.extract<std::string>(), newObject());
      return section;
    }
    if (!current.isEmpty()) throw ConfigError(variable_ + ": " + path + " is a single value, not a map");
    if (schema->kind == Kind::List) return newArray();
    return newObject();
  }

  // The variable's text as the value at `path`: text for a string key, else a YAML value.
  Var value(const std::string& text, const Node* schema, const std::string& path) const {
    if (schema->kind == Kind::String) return text;
    try {
      YAML::Node node = YAML::Load(text);
      YamlConverter converter(variable_);
      Var parsed = converter.convert(node, schema, path);
      // Text yaml-cpp reads as nothing (",") is kept for validation to judge.
      if (parsed.isEmpty() && !resolvePlainScalar(trim(text)).isEmpty()) return text;
      return parsed;
    } catch (const YAML::Exception&) {
      return text; // not YAML: the text itself, which validation judges
    }
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
    if (!name.empty() && (!section.has(name) || !isObject(section.get(name)))) section.set(name, newObject());
    parent.set(key, current);
  }

  Object::Ptr root_;
  std::vector<AppliedOverride>& applied_;
  std::string variable_;
};

// Names the variable behind a validation error about a key it set, or behind
// a plugin section it added (a second storage driver).
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

// --- the typed Config ------------------------------------------------------------

Object::Ptr sectionOf(const Object& parent, const std::string& key) {
  Object::Ptr section = parent.getObject(key);
  return section ? section : newObject();
}

std::string getText(const Object& object, const std::string& key) {
  return config::getString(object, key, "");
}

std::vector<std::string> stringList(const Object& object, const std::string& key) {
  std::vector<std::string> values;
  if (Array::Ptr array = object.getArray(key)) {
    for (std::size_t i = 0; i < array->size(); ++i)
      values.push_back(array->get(static_cast<unsigned int>(i)).extract<std::string>());
  }
  return values;
}

NamedPlugin namedPlugin(const Object& section, const std::string& name) {
  Object::Ptr parameters = section.getObject(name);
  return NamedPlugin{name, parameters ? parameters : newObject()};
}

Config buildConfig(const Object::Ptr& document, std::vector<std::string> warnings) {
  using std::chrono::milliseconds;
  const Node& schema = configschema::registrySchema();
  Config config;
  config.document = document;
  config.warnings = std::move(warnings);
  config.version = getText(*document, "version");
  if (config.version != "0.1")
    throw ConfigError("version: \"" + config.version +
                      "\" is not supported; the configuration version is \"0.1\"");

  Object::Ptr log = sectionOf(*document, "log");
  config.log.level = getText(*log, "level");
  if (config.log.level.empty()) config.log.level = getText(*document, "loglevel");
  if (config.log.level.empty()) config.log.level = "info";
  config.log.formatter = config::getString(*log, "formatter", "log", "text");
  config.log.accessLogDisabled = config::getBool(*sectionOf(*log, "accesslog"), "disabled", "", false);
  config.log.fields = sectionOf(*log, "fields");

  Object::Ptr storage = sectionOf(*document, "storage");
  const Node& storageSchema = *schema.field("storage");
  config.storage.driver = namedPlugin(*storage, configschema::pluginNames(*storage, storageSchema).at(0));
  Object::Ptr cache = sectionOf(*storage, "cache");
  std::string blobDescriptor = getText(*cache, "blobdescriptor");
  std::string layerInfo = getText(*cache, "layerinfo");
  if (!blobDescriptor.empty() && !layerInfo.empty() && blobDescriptor != layerInfo)
    throw ConfigError("storage.cache.layerinfo: \"" + layerInfo +
                      "\" contradicts storage.cache.blobdescriptor \"" + blobDescriptor +
                      "\" (layerinfo is its deprecated name; give only blobdescriptor)");
  config.storage.blobDescriptorCache = blobDescriptor.empty() ? layerInfo : blobDescriptor;
  if (lower(config.storage.blobDescriptorCache) == "none") config.storage.blobDescriptorCache.clear();
  config.storage.cacheParameters = newObject();
  for (const std::string& key : cache->getNames()) {
    if (key != "blobdescriptor" && key != "layerinfo")
      config.storage.cacheParameters->set(key, cache->get(key));
  }
  config.storage.deleteEnabled = config::getBool(*sectionOf(*storage, "delete"), "enabled", "", false);
  config.storage.redirectDisabled = config::getBool(*sectionOf(*storage, "redirect"), "disable", "", false);
  config.storage.automaticMount = config::getBool(*sectionOf(*storage, "mount"), "automatic", "", false);
  Object::Ptr maintenance = sectionOf(*storage, "maintenance");
  config.storage.readOnly = config::getBool(*sectionOf(*maintenance, "readonly"), "enabled", "", false);
  Object::Ptr purging = sectionOf(*maintenance, "uploadpurging");
  auto& uploadPurging = config.storage.uploadPurging;
  const std::string purgingPath = "storage.maintenance.uploadpurging";
  uploadPurging.enabled = config::getBool(*purging, "enabled", purgingPath, uploadPurging.enabled);
  uploadPurging.age = config::getDuration(*purging, "age", purgingPath, uploadPurging.age);
  uploadPurging.interval = config::getDuration(*purging, "interval", purgingPath, uploadPurging.interval);
  uploadPurging.dryRun = config::getBool(*purging, "dryrun", purgingPath, uploadPurging.dryRun);

  Object::Ptr http = sectionOf(*document, "http");
  auto& h = config.http;
  h.addr = config::getString(*http, "addr", "http", h.addr);
  h.net = config::getString(*http, "net", "http", h.net);
  h.prefix = getText(*http, "prefix");
  h.host = getText(*http, "host");
  h.secret = getText(*http, "secret");
  h.relativeUrls = config::getBool(*http, "relativeurls", "http", false);
  h.drainTimeout = config::getDuration(*http, "draintimeout", "http", h.drainTimeout);
  Object::Ptr headers = sectionOf(*http, "headers");
  for (const std::string& name : headers->getNames())
    h.headers.emplace_back(name, stringList(*headers, name));
  Object::Ptr tls = sectionOf(*http, "tls");
  h.tls.certificate = getText(*tls, "certificate");
  h.tls.key = getText(*tls, "key");
  h.tls.clientCAs = stringList(*tls, "clientcas");
  h.tls.minimumTls = getText(*tls, "minimumtls");
  Object::Ptr debug = sectionOf(*http, "debug");
  h.debug.addr = getText(*debug, "addr");
  Object::Ptr prometheus = sectionOf(*debug, "prometheus");
  h.debug.prometheusEnabled = config::getBool(*prometheus, "enabled", "", false);
  h.debug.prometheusPath = config::getString(*prometheus, "path", "", h.debug.prometheusPath);
  h.threads = static_cast<int>(config::getInt(*http, "threads", "http", 0));
  h.queue = static_cast<int>(config::getInt(*http, "queue", "http", 0));

  Object::Ptr auth = sectionOf(*document, "auth");
  std::vector<std::string> controllers = configschema::pluginNames(*auth, *schema.field("auth"));
  if (!controllers.empty()) config.auth = namedPlugin(*auth, controllers[0]);

  Object::Ptr notifications = sectionOf(*document, "notifications");
  config.notifications.includeReferences =
      config::getBool(*sectionOf(*notifications, "events"), "includereferences", "", false);
  if (Array::Ptr endpoints = notifications->getArray("endpoints")) {
    for (std::size_t i = 0; i < endpoints->size(); ++i)
      config.notifications.endpoints.push_back(endpoints->getObject(static_cast<unsigned int>(i)));
  }

  config.redis = sectionOf(*document, "redis");

  Object::Ptr storageDriverCheck = sectionOf(*sectionOf(*document, "health"), "storagedriver");
  auto& health = config.health;
  health.storageDriverEnabled =
      config::getBool(*storageDriverCheck, "enabled", "", health.storageDriverEnabled);
  health.storageDriverInterval = config::getDuration(*storageDriverCheck, "interval", "health.storagedriver",
                                                     health.storageDriverInterval);
  health.storageDriverThreshold = static_cast<int>(config::getInt(
      *storageDriverCheck, "threshold", "health.storagedriver", health.storageDriverThreshold));

  config.proxy = sectionOf(*document, "proxy");
  config.validation = sectionOf(*document, "validation");
  config.plugins.directory = getText(*sectionOf(*document, "plugins"), "directory");
  return config;
}

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

Config parseConfig(const std::string& yaml, const Environment& overrides, const std::string& source) {
  Object::Ptr document = parseYamlDocument(yaml, source);

  // Sorted by name, so REGISTRY_STORAGE applies before REGISTRY_STORAGE_S3_REGION.
  std::vector<AppliedOverride> applied;
  OverrideApplier applier(document, applied);
  for (const auto& [name, value] : overrides) {
    if (name.rfind(kPrefix, 0) == 0) applier.apply(name, value);
  }

  std::vector<std::string> warnings;
  try {
    configschema::validateDocument(document, warnings);
    return buildConfig(document, std::move(warnings));
  } catch (const ConfigError& e) {
    throw ConfigError(withOverrideHint(e.what(), applied));
  }
}

Config loadConfigFile(const std::string& path, const Environment& overrides) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw ConfigError(path + ": cannot read the configuration file: it is a directory");
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  return parseConfig(text.str(), overrides, path);
}

} // namespace pier
