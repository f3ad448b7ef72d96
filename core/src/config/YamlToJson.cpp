#include "config/YamlToJson.hpp"

#include <charconv>
#include <cstdlib>
#include <limits>
#include <regex>
#include <sstream>
#include <vector>

#include <Poco/JSON/Array.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "pier/errors.hpp"
#include "util/Text.hpp"

namespace pier {

namespace {

using configschema::joinPath;
using configschema::Kind;
using configschema::Node;
using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxNodes = 100000; // anchors and aliases must not blow a config up

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
      Array::Ptr array = new Array();
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
    Object::Ptr object = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
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

} // namespace

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
  if (document.IsNull()) return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  if (!document.IsMap()) throw ConfigError(source + ": the configuration must be a YAML map of sections");
  YamlConverter converter(source);
  try {
    return converter.convert(document, &configschema::registrySchema(), "").extract<Object::Ptr>();
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": invalid YAML: " + e.msg);
  }
}

std::optional<Var> parseYamlValue(const std::string& text, const Node* schema, const std::string& source,
                                  const std::string& path) {
  try {
    YAML::Node node = YAML::Load(text);
    Var parsed = YamlConverter(source).convert(node, schema, path);
    // Text yaml-cpp reads as nothing (",") is not YAML for this purpose.
    if (parsed.isEmpty() && !resolvePlainScalar(trim(text)).isEmpty()) return std::nullopt;
    return parsed;
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

} // namespace pier
