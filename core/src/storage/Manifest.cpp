#include "storage/Manifest.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "config/ConfigSchema.hpp"
#include "errcode/ErrorCode.hpp"
#include "util/Json.hpp"
#include "util/Text.hpp"

namespace pier {

namespace {

using configschema::joinPath;
using json::isArray;
using json::isObject;
using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::size_t kMaxValueInError = 256; // client-supplied text quoted in an error is cut to this length

// Throws MANIFEST_INVALID. The message is the reason, followed by the field it concerns; the detail
// repeats both (and the offending value, if any) for machines.
[[noreturn]] void invalid(const std::string& reason, const std::string& field = {}, std::string value = {}) {
  if (value.size() > kMaxValueInError) value = value.substr(0, kMaxValueInError) + "...";
  Object::Ptr detail = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  detail->set("reason", reason);
  std::string message = reason;
  if (!field.empty()) {
    detail->set("field", field);
    message += " (" + field + ")";
  }
  if (!value.empty()) {
    detail->set("value", value);
    message += ": " + value;
  }
  throw errcode::Exception(errcode::ManifestInvalid, message, detail);
}

bool isOneOf(std::string_view value, std::initializer_list<std::string_view> candidates) {
  for (std::string_view candidate : candidates) {
    if (value == candidate) return true;
  }
  return false;
}

bool isSchema1(std::string_view mediaType) {
  return isOneOf(mediaType, {mediatype::kDockerSchema1, mediatype::kDockerSchema1Signed});
}

bool isSupportedManifestType(std::string_view mediaType) {
  return isOneOf(mediaType, {mediatype::kDockerManifest, mediatype::kDockerManifestList,
                             mediatype::kOciManifest, mediatype::kOciIndex});
}

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 6838 section 4.2 restricted-name: a letter or digit, then up to 126 of letters, digits and !#$&-^_.+
bool isRestrictedName(std::string_view name) {
  if (name.empty() || name.size() > 127 || !isAlnum(name.front())) return false;
  for (char c : name) {
    if (!isAlnum(c) && std::string_view("!#$&-^_.+").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// type "/" subtype, without parameters (the descriptor grammar of the image-spec).
bool isValidMediaType(std::string_view text) {
  std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  return isRestrictedName(text.substr(0, slash)) && isRestrictedName(text.substr(slash + 1));
}

// The media type of a Content-Type header: parameters dropped, whitespace trimmed, lowercase.
std::string contentTypeMediaType(std::string_view contentType) {
  return lower(trim(contentType.substr(0, contentType.find(';'))));
}

// A field's value, or nothing when it is absent or null (as Go's encoding/json treats null).
std::optional<Var> optionalField(const Object& object, const std::string& key) {
  if (!object.has(key)) return std::nullopt;
  Var value = object.get(key);
  if (value.isEmpty()) return std::nullopt;
  return value;
}

std::optional<std::string> optionalString(const Object& object, const std::string& key,
                                          const std::string& path) {
  auto value = optionalField(object, key);
  if (!value) return std::nullopt;
  if (!value->isString()) invalid("field must be a string", joinPath(path, key));
  return value->extract<std::string>();
}

std::string requiredString(const Object& object, const std::string& key, const std::string& path) {
  auto value = optionalString(object, key, path);
  if (!value) invalid("required field is missing", joinPath(path, key));
  return *value;
}

// A JSON integer (not a float, not a boolean) that fits an int64.
std::optional<std::int64_t> asInt64(const Var& value) {
  if (!value.isInteger() || value.isBoolean()) return std::nullopt;
  if (value.isSigned()) return value.convert<std::int64_t>();
  auto unsignedValue = value.convert<std::uint64_t>();
  if (unsignedValue > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return std::nullopt;
  return static_cast<std::int64_t>(unsignedValue);
}

// An object whose values are all strings (annotations); null when absent.
Object::Ptr optionalStringMap(const Object& object, const std::string& key, const std::string& path) {
  auto value = optionalField(object, key);
  if (!value) return nullptr;
  std::string field = joinPath(path, key);
  if (!isObject(*value)) invalid("field must be an object of strings", field);
  Object::Ptr map = value->extract<Object::Ptr>();
  for (const auto& [name, entry] : *map) {
    if (!entry.isString()) invalid("field must be an object of strings", field + "." + name);
  }
  return map;
}

ManifestDescriptor parseDescriptor(const Var& value, const std::string& path) {
  if (!isObject(value)) invalid("descriptor must be an object", path);
  const Object& object = *value.extract<Object::Ptr>();

  std::string mediaType = requiredString(object, "mediaType", path);
  if (!isValidMediaType(mediaType)) invalid("invalid media type", joinPath(path, "mediaType"), mediaType);

  std::string digestText = requiredString(object, "digest", path);
  auto digest = Digest::parse(digestText);
  if (!digest) invalid("invalid digest", joinPath(path, "digest"), digestText);

  auto size = optionalField(object, "size");
  if (!size) invalid("required field is missing", joinPath(path, "size"));
  auto sizeValue = asInt64(*size);
  if (!sizeValue || *sizeValue < 0)
    invalid("size must be a non-negative integer", joinPath(path, "size"), size->toString());

  bool foreign = false;
  if (auto urls = optionalField(object, "urls")) {
    std::string field = joinPath(path, "urls");
    if (!isArray(*urls)) invalid("field must be an array of strings", field);
    const Array& list = *urls->extract<Array::Ptr>();
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list.get(static_cast<unsigned>(i)).isString())
        invalid("field must be an array of strings", field + "[" + std::to_string(i) + "]");
    }
    foreign = list.size() > 0;
  }
  Object::Ptr annotations = optionalStringMap(object, "annotations", path);
  std::string artifactType = optionalString(object, "artifactType", path).value_or("");
  // "data" (embedded base64 content) is optional and not needed here: ignored.
  return ManifestDescriptor{
      *digest, *sizeValue, std::move(mediaType), foreign, std::move(artifactType), std::move(annotations)};
}

// How the entries of a descriptor array treat "platform": layers have none; index entries may have
// one (OCI) or must (Docker manifest list).
enum class Platform { Ignored, Optional, Required };

std::vector<ManifestDescriptor> parseDescriptorArray(const Object& object, const std::string& key,
                                                     bool required, Platform platformRule) {
  std::vector<ManifestDescriptor> result;
  auto value = optionalField(object, key);
  if (!value) {
    if (required) invalid(object.has(key) ? "field must be an array" : "required field is missing", key);
    return result;
  }
  if (!isArray(*value)) invalid("field must be an array", key);
  const Array& list = *value->extract<Array::Ptr>();
  result.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string path = key + "[" + std::to_string(i) + "]";
    Var entry = list.get(static_cast<unsigned>(i));
    result.push_back(parseDescriptor(entry, path));
    if (platformRule == Platform::Ignored) continue;
    // A platform names an architecture and an os.
    const Object& entryObject = *entry.extract<Object::Ptr>();
    auto platform = optionalField(entryObject, "platform");
    if (!platform) {
      if (platformRule == Platform::Required) invalid("required field is missing", path + ".platform");
      continue;
    }
    std::string platformPath = path + ".platform";
    if (!isObject(*platform)) invalid("field must be an object", platformPath);
    const Object& platformObject = *platform->extract<Object::Ptr>();
    for (const char* name : {"architecture", "os"}) {
      if (requiredString(platformObject, name, platformPath).empty())
        invalid("field must not be empty", platformPath + "." + name);
    }
  }
  return result;
}

std::string optionalArtifactType(const Object& object) {
  std::string artifactType = optionalString(object, "artifactType", "").value_or("");
  if (!artifactType.empty() && !isValidMediaType(artifactType))
    invalid("invalid media type", "artifactType", artifactType);
  return artifactType;
}

void parseImageManifest(const Object& object, Manifest& manifest) {
  bool oci = manifest.mediaType == mediatype::kOciManifest;
  auto config = optionalField(object, "config");
  if (!config) invalid("required field is missing", "config");
  manifest.blobs.push_back(parseDescriptor(*config, "config"));
  for (ManifestDescriptor& layer : parseDescriptorArray(object, "layers", false, Platform::Ignored))
    manifest.blobs.push_back(std::move(layer));

  const std::string& configType = manifest.blobs.front().mediaType;
  std::string artifactType = optionalArtifactType(object);
  if (oci && artifactType.empty() && configType == mediatype::kOciEmpty)
    invalid("artifactType is required when config.mediaType is " + std::string(mediatype::kOciEmpty),
            "artifactType");
  manifest.artifactType = artifactType.empty() ? configType : artifactType;
}

void parseIndex(const Object& object, Manifest& manifest) {
  bool docker = manifest.mediaType == mediatype::kDockerManifestList;
  manifest.isIndex = true;
  manifest.manifests =
      parseDescriptorArray(object, "manifests", true, docker ? Platform::Required : Platform::Optional);
  manifest.artifactType = optionalArtifactType(object);
}

// What the structure says a document without a mediaType field is: an OCI index when it has a
// "manifests" array, an OCI manifest when it has a "config" object.
std::optional<std::string_view> inferMediaType(bool hasManifestsArray, bool hasConfigObject) {
  if (hasManifestsArray) return mediatype::kOciIndex;
  if (hasConfigObject) return mediatype::kOciManifest;
  return std::nullopt;
}

// ---- detectManifestMediaType: a scan of the top-level keys, no tree built ----

class TopLevelScanner {
public:
  explicit TopLevelScanner(std::string_view text) : text_(text) {}

  enum class Kind { String, Object, Array, Other };

  // Walks the top-level object; false when the text is not one.
  bool scan() {
    skipSpace();
    if (!consume('{')) return false;
    skipSpace();
    if (consume('}')) return true;
    while (true) {
      skipSpace();
      std::string key;
      if (!readString(&key)) return false;
      skipSpace();
      if (!consume(':')) return false;
      skipSpace();
      std::string value;
      bool wanted = key == "mediaType";
      Kind kind;
      if (!skipValue(kind, wanted ? &value : nullptr)) return false;
      // Later duplicates win, as in the parser.
      if (wanted) mediaType_ = kind == Kind::String ? std::optional<std::string>(value) : std::nullopt;
      if (key == "manifests") manifestsArray_ = kind == Kind::Array;
      if (key == "config") configObject_ = kind == Kind::Object;
      skipSpace();
      if (consume(',')) continue;
      return consume('}');
    }
  }

  const std::optional<std::string>& mediaType() const { return mediaType_; }
  bool manifestsArray() const { return manifestsArray_; }
  bool configObject() const { return configObject_; }

private:
  bool atEnd() const { return pos_ >= text_.size(); }
  bool consume(char c) {
    if (atEnd() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void skipSpace() {
    while (!atEnd() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  static int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool readHex4(std::uint32_t& out) {
    if (text_.size() - pos_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      int v = hexValue(text_[pos_++]);
      if (v < 0) return false;
      out = out * 16 + static_cast<std::uint32_t>(v);
    }
    return true;
  }

  static void appendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // A string at the cursor, decoded into out when out is given.
  bool readString(std::string* out) {
    if (!consume('"')) return false;
    while (!atEnd()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        if (out) *out += c;
        continue;
      }
      if (atEnd()) return false;
      char e = text_[pos_++];
      if (e == 'u') {
        std::uint32_t cp;
        if (!readHex4(cp)) return false;
        if (cp >= 0xD800 && cp < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
          std::size_t save = pos_;
          pos_ += 2;
          std::uint32_t low;
          if (readHex4(low) && low >= 0xDC00 && low < 0xE000)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          else
            pos_ = save;
        }
        if (out) appendUtf8(*out, cp);
        continue;
      }
      char decoded;
      switch (e) {
      case '"':
        decoded = '"';
        break;
      case '\\':
        decoded = '\\';
        break;
      case '/':
        decoded = '/';
        break;
      case 'b':
        decoded = '\b';
        break;
      case 'f':
        decoded = '\f';
        break;
      case 'n':
        decoded = '\n';
        break;
      case 'r':
        decoded = '\r';
        break;
      case 't':
        decoded = '\t';
        break;
      default:
        return false;
      }
      if (out) *out += decoded;
    }
    return false;
  }

  // Skips one value (without validating nested structure), reporting its kind.
  bool skipValue(Kind& kind, std::string* stringValue) {
    if (atEnd()) return false;
    char c = text_[pos_];
    if (c == '"') {
      kind = Kind::String;
      return readString(stringValue);
    }
    if (c == '{' || c == '[') {
      kind = c == '{' ? Kind::Object : Kind::Array;
      std::size_t depth = 0;
      while (!atEnd()) {
        char d = text_[pos_];
        if (d == '"') {
          if (!readString(nullptr)) return false;
          continue;
        }
        ++pos_;
        if (d == '{' || d == '[')
          ++depth;
        else if ((d == '}' || d == ']') && --depth == 0)
          return true;
      }
      return false;
    }
    kind = Kind::Other; // number, true, false, null
    std::size_t start = pos_;
    while (!atEnd() && std::string_view(",}] \t\n\r").find(text_[pos_]) == std::string_view::npos) ++pos_;
    return pos_ > start;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::optional<std::string> mediaType_;
  bool manifestsArray_ = false;
  bool configObject_ = false;
};

} // namespace

Manifest parseManifest(std::string_view bytes, std::string_view contentType) {
  if (bytes.size() > kMaxManifestSize)
    invalid("manifest is larger than " + std::to_string(kMaxManifestSize) + " bytes");

  std::string requestType = contentTypeMediaType(contentType);
  if (isSchema1(requestType)) invalid("schema1 manifests are not supported");
  bool requestTypeIsManifest = isSupportedManifestType(requestType);

  // The parser takes only objects and arrays at the top: a scalar is named as what it is.
  std::string_view start = bytes.substr(std::min(bytes.size(), bytes.find_first_not_of(" \t\r\n")));
  if ((!start.empty() && std::string_view("\"-0123456789").find(start.front()) != std::string_view::npos) ||
      start.starts_with("true") || start.starts_with("false") || start.starts_with("null"))
    invalid("manifest is not a JSON object");

  Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(bytes));
  } catch (const Poco::Exception& e) {
    invalid("manifest is not valid JSON", {}, e.displayText());
  } catch (const std::exception& e) {
    invalid("manifest is not valid JSON", {}, e.what());
  }
  if (!isObject(root)) invalid("manifest is not a JSON object");
  const Object& object = *root.extract<Object::Ptr>();

  // The mediaType field, when there is one, says what the document is.
  std::optional<std::string> fieldType = optionalString(object, "mediaType", "");
  if (fieldType && isSchema1(*fieldType)) invalid("schema1 manifests are not supported");

  auto schemaVersion = optionalField(object, "schemaVersion");
  if (!schemaVersion) invalid("schemaVersion must be 2", "schemaVersion");
  auto version = asInt64(*schemaVersion);
  if (version == 1) invalid("schema1 manifests are not supported");
  if (version != 2) invalid("schemaVersion must be 2", "schemaVersion", schemaVersion->toString());

  Manifest manifest;
  if (fieldType) {
    if (!isSupportedManifestType(*fieldType))
      invalid("unsupported manifest media type", "mediaType", *fieldType);
    if (requestTypeIsManifest && requestType != *fieldType)
      invalid("mediaType does not match Content-Type", "mediaType", *fieldType + " != " + requestType);
    manifest.mediaType = *fieldType;
  } else {
    auto inferred = inferMediaType(isArray(object.get("manifests")), isObject(object.get("config")));
    if (requestTypeIsManifest) {
      // Docker formats always carry their mediaType; stored bytes are later typed from their content
      // alone, so a document without the field must also look like what the Content-Type says.
      if (requestType == mediatype::kDockerManifest || requestType == mediatype::kDockerManifestList)
        invalid("mediaType field is required for docker manifests", "mediaType");
      if (inferred && *inferred != requestType)
        invalid("mediaType field is required: structure does not match Content-Type", "mediaType",
                requestType);
      manifest.mediaType = requestType;
    } else if (inferred) {
      manifest.mediaType = *inferred;
    } else {
      invalid("cannot determine manifest media type", "mediaType");
    }
  }

  if (manifest.mediaType == mediatype::kDockerManifest || manifest.mediaType == mediatype::kOciManifest)
    parseImageManifest(object, manifest);
  else
    parseIndex(object, manifest);

  if (manifest.mediaType == mediatype::kOciManifest || manifest.mediaType == mediatype::kOciIndex) {
    if (auto subject = optionalField(object, "subject"))
      manifest.subject = parseDescriptor(*subject, "subject");
    manifest.annotations = optionalStringMap(object, "annotations", "");
  }
  return manifest;
}

std::vector<Descriptor> manifestReferences(const Manifest& manifest) {
  std::vector<Descriptor> references;
  for (const auto* list : {&manifest.blobs, &manifest.manifests}) {
    for (const ManifestDescriptor& item : *list)
      references.push_back(Descriptor{item.digest.toString(), item.size, item.mediaType});
  }
  return references;
}

std::string detectManifestMediaType(std::string_view bytes) {
  TopLevelScanner scanner(bytes);
  if (!scanner.scan()) return std::string(mediatype::kOciManifest);
  // Stored bytes may come from any registry, and the type becomes a Content-Type header: a field
  // that is not type/subtype (empty, or with a CR LF) says nothing, so the structure decides.
  if (scanner.mediaType() && isValidMediaType(*scanner.mediaType())) return *scanner.mediaType();
  return std::string(
      inferMediaType(scanner.manifestsArray(), scanner.configObject()).value_or(mediatype::kOciManifest));
}

} // namespace pier
