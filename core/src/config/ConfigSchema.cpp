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

// --- building the schema -----------------------------------------------------

NodePtr make(Node node) {
  return std::make_shared<const Node>(std::move(node));
}

NodePtr any() {
  return make(Node{});
}

NodePtr string(std::vector<std::string> choices = {}) {
  Node node;
  node.kind = Kind::String;
  node.choices = std::move(choices);
  return make(std::move(node));
}

NodePtr boolean() {
  Node node;
  node.kind = Kind::Bool;
  return make(std::move(node));
}

NodePtr integer(long long minimum = 0, long long maximum = 2147483647) {
  Node node;
  node.kind = Kind::Int;
  node.minimum = minimum;
  node.maximum = maximum;
  return make(std::move(node));
}

NodePtr duration() {
  Node node;
  node.kind = Kind::Duration;
  return make(std::move(node));
}

NodePtr list(NodePtr element) {
  Node node;
  node.kind = Kind::List;
  node.element = std::move(element);
  return make(std::move(node));
}

NodePtr stringList() {
  return list(string());
}

NodePtr map(NodePtr element) {
  Node node;
  node.kind = Kind::Map;
  node.element = std::move(element);
  return make(std::move(node));
}

// HTTP headers, as http.Header: each name maps to a list of values.
NodePtr headers() {
  return map(stringList());
}

NodePtr section(Fields fields, std::vector<std::string> required = {}) {
  Node node;
  node.kind = Kind::Section;
  node.fields = std::move(fields);
  node.required = std::move(required);
  return make(std::move(node));
}

// A section whose other keys go, unchecked, to a plugin.
NodePtr openSection(Fields fields) {
  Node node;
  node.kind = Kind::Section;
  node.fields = std::move(fields);
  node.openKeys = true;
  return make(std::move(node));
}

NodePtr plugins(std::string pluginKind, bool required, Fields fields) {
  Node node;
  node.kind = Kind::Plugins;
  node.pluginKind = std::move(pluginKind);
  node.pluginRequired = required;
  node.fields = std::move(fields);
  return make(std::move(node));
}

NodePtr withWarning(const NodePtr& base, std::string warning) {
  Node node = *base;
  node.warning = std::move(warning);
  return make(std::move(node));
}

NodePtr withDefault(const NodePtr& base, std::string value) {
  Node node = *base;
  node.defaultString = std::move(value);
  return make(std::move(node));
}

const std::vector<std::string> kLogLevels = {"error", "warn", "info", "debug"};

NodePtr buildSchema() {
  NodePtr log = section({
      {"level", string(kLogLevels)},
      {"formatter", string({"text", "json", "logstash"})},
      {"fields", map(any())},
      {"accesslog", section({{"disabled", boolean()}})},
      {"reportcaller", boolean()},
      {"hooks", withWarning(list(any()), "log hooks are not supported by Pier; ignored")},
  });

  NodePtr storage = plugins(
      "storage driver", true,
      {
          {"cache", openSection({
                        {"blobdescriptor", string()},
                        {"blobdescriptorsize", integer()},
                        {"layerinfo", withWarning(string(), "deprecated, use storage.cache.blobdescriptor")},
                    })},
          {"delete", section({{"enabled", boolean()}})},
          {"redirect", section({{"disable", boolean()}, {"expiry", duration()}})},
          {"mount", section({{"automatic", boolean()}})}, // Pier extension
          {"maintenance", section({
                              {"uploadpurging", section({
                                                    {"enabled", boolean()},
                                                    {"age", duration()},
                                                    {"interval", duration()},
                                                    {"dryrun", boolean()},
                                                })},
                              {"readonly", section({{"enabled", boolean()}})},
                              {"gc", section({{"enabled", boolean()}, // Pier extension
                                              {"interval", duration()},
                                              {"grace", duration()},
                                              {"deleteuntagged", boolean()},
                                              {"dryrun", boolean()}})},
                          })},
          {"tag", section({{"concurrencylimit", integer()}})},
      });

  NodePtr middlewareEntry = section(
      {
          {"name", string()},
          {"disabled", boolean()},
          {"options", map(any())},
      },
      {"name"});
  NodePtr middleware = withWarning(section({
                                       {"registry", list(middlewareEntry)},
                                       {"repository", list(middlewareEntry)},
                                       {"storage", list(middlewareEntry)},
                                   }),
                                   "middleware is not supported by Pier; ignored");

  NodePtr tls = section({
      {"certificate", string()},
      {"key", string()},
      {"clientcas", stringList()},
      {"clientauth", string({"request-client-cert", "require-any-client-cert", "verify-client-cert-if-given",
                             "require-and-verify-client-cert"})},
      {"minimumtls", string({"tls1.0", "tls1.1", "tls1.2", "tls1.3"})},
      {"ciphersuites", stringList()},
      {"letsencrypt", section({
                          {"cachefile", string()},
                          {"email", string()},
                          {"hosts", stringList()},
                          {"directoryurl", string()},
                      })},
  });

  NodePtr http = section({
      {"addr", string()},
      {"net", string({"tcp", "unix"})},
      {"prefix", string()},
      {"host", string()},
      {"secret", string()},
      {"relativeurls", boolean()},
      {"draintimeout", duration()},
      {"headers", headers()},
      {"tls", tls},
      {"debug", section({
                    {"addr", string()},
                    {"prometheus", section({{"enabled", boolean()}, {"path", string()}})},
                })},
      {"http2", section({{"disabled", boolean()}})},
      {"h2c", section({{"enabled", boolean()}})},
      {"threads", integer(0, 4096)},
      {"queue", integer()},
      // Pier extensions: the connection layer's deadlines and limits.
      {"headtimeout", duration()},
      {"idletimeout", duration()},
      {"bodytimeout", duration()},
      {"sendtimeout", duration()},
      {"minbodyrate", integer()},
      {"maxheadsize", integer(1024, 16 * 1024 * 1024)},
      {"maxconnections", integer()},
      {"maxconnectionsperclient", integer()},
      {"maxuploads", integer()},
  });

  NodePtr endpoint = section(
      {
          {"name", string()},
          {"disabled", boolean()},
          {"url", string()},
          {"headers", headers()},
          {"timeout", duration()},
          {"threshold", integer(0, 1000000)},
          {"backoff", duration()},
          {"ignoredmediatypes", stringList()},
          {"ignore", section({{"mediatypes", stringList()}, {"actions", stringList()}})},
          {"type", withDefault(string(), "webhook")},
          // Pier extension: a sink plugin's own settings, free-form.
          {"parameters", map(any())},
      },
      {"name", "url"});
  NodePtr notifications = section({
      {"events", section({{"includereferences", boolean()}})},
      {"endpoints", list(endpoint)},
      // Pier extension: the durable queue of every endpoint.
      {"queue", section({{"directory", string()},
                         {"maxbytes", integer(4096, std::int64_t(1) << 50)},
                         {"full", string({"dropoldest", "refuse"})}})},
  });

  // Both the Distribution 2.x keys (addr, pool) and the 3.x ones (addrs, go-redis options).
  NodePtr redis = section({
      {"addr", string()},
      {"addrs", stringList()},
      {"username", string()},
      {"password", string()},
      {"db", integer()},
      {"dialtimeout", duration()},
      {"readtimeout", duration()},
      {"writetimeout", duration()},
      {"pool", section({{"maxidle", integer()}, {"maxactive", integer()}, {"idletimeout", duration()}})},
      {"maxidleconns", integer()},
      {"minidleconns", integer()},
      {"maxactiveconns", integer()},
      {"poolsize", integer()},
      {"pooltimeout", duration()},
      {"connmaxidletime", duration()},
      {"connmaxlifetime", duration()},
      {"maxretries", integer()},
      {"mastername", string()},
      {"clientname", string()},
      {"tls", section({
                  {"enabled", boolean()},
                  {"certificate", string()},
                  {"key", string()},
                  {"clientcas", stringList()},
              })},
  });

  NodePtr health = section({
      {"storagedriver",
       section({{"enabled", boolean()}, {"interval", duration()}, {"threshold", integer()}})},
      {"file",
       list(section({{"file", string()}, {"interval", duration()}, {"threshold", integer()}}, {"file"}))},
      {"http", list(section(
                   {
                       {"uri", string()},
                       {"headers", headers()},
                       {"statuscode", integer(100, 599)},
                       {"timeout", duration()},
                       {"interval", duration()},
                       {"threshold", integer()},
                   },
                   {"uri"}))},
      {"tcp",
       list(section(
           {{"addr", string()}, {"timeout", duration()}, {"interval", duration()}, {"threshold", integer()}},
           {"addr"}))},
  });

  // proxy.upstreams (Pier extension): the same keys per prefix; exec and remotenamespace are refused.
  Fields upstream{{"remoteurl", string()}, {"username", string()}, {"password", string()}};
  upstream.insert(upstream.end(), {{"ttl", duration()}, {"cafile", string()}});
  Fields proxy = upstream;
  proxy.insert(proxy.end(), {{"exec", any()}, {"remotenamespace", any()}});
  upstream.push_back({"prefix", string()});
  proxy.push_back({"upstreams", list(section(upstream, {"prefix", "remoteurl"}))});

  NodePtr validation = section({
      {"disabled", boolean()},
      {"enabled", withWarning(boolean(), "deprecated, use validation.disabled")},
      {"manifests", section({
                        {"urls", section({{"allow", stringList()}, {"deny", stringList()}})},
                        {"indexes", section({
                                        {"platforms", string({"all", "none", "list"})},
                                        {"platformlist", list(section({
                                                             {"architecture", string()},
                                                             {"os", string()},
                                                         }))},
                                    })},
                    })},
  });

  return section(
      {
          {"version", string()},
          {"log", log},
          {"loglevel", withWarning(string(kLogLevels), "deprecated, use log.level")},
          {"storage", storage},
          {"auth", plugins("access controller", false, {})},
          {"middleware", middleware},
          {"reporting", withWarning(any(), "error reporting is not supported by Pier; ignored")},
          {"http", http},
          {"notifications", notifications},
          {"redis", redis},
          {"health", health},
          {"catalog", section({{"maxentries", integer()}, {"rescaninterval", duration()}})},
          {"proxy", section(proxy)},
          {"validation", validation},
          {"compatibility",
           section({{"schema1", section({{"signingkeyfile", string()}, {"enabled", boolean()}})}})},
          {"policy", section({{"repository", section({{"classes", stringList()}})}})},
          {"plugins", section({{"directory", string()}})},
      },
      {"version"});
}

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
