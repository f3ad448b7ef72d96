#include "S3Xml.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/SAX/InputSource.h>

#include <pier/errors.hpp>

namespace pier::s3 {
namespace {

using Poco::XML::Element;

Poco::AutoPtr<Poco::XML::Document> parse(const std::string& xml) {
  try {
    Poco::XML::DOMParser parser;
    parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, false);
    return parser.parseString(xml);
  } catch (const Poco::Exception& error) {
    throw StorageError("s3: unreadable XML answer: " + error.displayText());
  }
}

std::string childText(const Element* element, const std::string& name) {
  const Element* child = element != nullptr ? element->getChildElement(name) : nullptr;
  return child != nullptr ? child->innerText() : std::string();
}

// The direct children of the document's root with that name.
std::vector<const Element*> rootChildren(const Poco::XML::Document& document, const std::string& name) {
  std::vector<const Element*> result;
  const Element* root = document.documentElement();
  if (root == nullptr) return result;
  for (auto* node = root->firstChild(); node != nullptr; node = node->nextSibling())
    if (node->nodeType() == Poco::XML::Node::ELEMENT_NODE && node->nodeName() == name)
      result.push_back(static_cast<const Element*>(node));
  return result;
}

std::string rootText(const Poco::XML::Document& document, const std::string& name) {
  return childText(document.documentElement(), name);
}

std::int64_t number(const std::string& text) {
  try {
    return text.empty() ? 0 : std::stoll(text);
  } catch (const std::exception&) {
    throw StorageError("s3: \"" + text + "\" is not a number");
  }
}

// Where a truncated listing goes on from (the element `name`); empty when
// the listing is complete.
std::string continuation(const Poco::XML::Document& document, const std::string& name) {
  if (rootText(document, "IsTruncated") != "true") return {};
  std::string marker = rootText(document, name);
  if (marker.empty()) throw StorageError("s3: a truncated listing without " + name);
  return marker;
}

} // namespace

std::chrono::system_clock::time_point parseIsoTime(const std::string& text) {
  int zone = 0;
  Poco::DateTime time;
  if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, text, time, zone) &&
      !Poco::DateTimeParser::tryParse(text, time, zone))
    return {};
  return std::chrono::system_clock::time_point(
      std::chrono::microseconds(time.timestamp().epochMicroseconds() - std::int64_t{zone} * 1000000));
}

std::chrono::system_clock::time_point parseHttpTime(const std::string& text) {
  int zone = 0;
  Poco::DateTime time;
  if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, text, time, zone)) return {};
  return std::chrono::system_clock::time_point(
      std::chrono::microseconds(time.timestamp().epochMicroseconds() - std::int64_t{zone} * 1000000));
}

ListResult parseListObjects(const std::string& xml) {
  auto document = parse(xml);
  ListResult result;
  for (const Element* contents : rootChildren(*document, "Contents"))
    result.objects.push_back({childText(contents, "Key"),
                              number(childText(contents, "Size")),
                              parseIsoTime(childText(contents, "LastModified")),
                              {}});
  for (const Element* prefix : rootChildren(*document, "CommonPrefixes"))
    result.commonPrefixes.push_back(childText(prefix, "Prefix"));
  result.nextContinuationToken = continuation(*document, "NextContinuationToken");
  return result;
}

UploadList parseListUploads(const std::string& xml) {
  auto document = parse(xml);
  UploadList result;
  for (const Element* upload : rootChildren(*document, "Upload"))
    result.uploads.push_back(
        {childText(upload, "Key"), childText(upload, "UploadId"), childText(upload, "Initiated")});
  result.nextKeyMarker = continuation(*document, "NextKeyMarker");
  result.nextUploadIdMarker = rootText(*document, "NextUploadIdMarker");
  return result;
}

PartList parseListParts(const std::string& xml) {
  auto document = parse(xml);
  PartList result;
  for (const Element* part : rootChildren(*document, "Part"))
    result.parts.push_back({static_cast<int>(number(childText(part, "PartNumber"))), childText(part, "ETag"),
                            number(childText(part, "Size"))});
  result.nextPartNumberMarker = continuation(*document, "NextPartNumberMarker");
  return result;
}

std::string parseUploadId(const std::string& xml) {
  std::string id = rootText(*parse(xml), "UploadId");
  if (id.empty()) throw StorageError("s3: CreateMultipartUpload answered no UploadId");
  return id;
}

std::string parseCopyPartETag(const std::string& xml) {
  return rootText(*parse(xml), "ETag");
}

ErrorInfo parseError(const std::string& xml) {
  if (xml.find("<Error") == std::string::npos) return {};
  try {
    auto document = parse(xml);
    if (document->documentElement() == nullptr || document->documentElement()->nodeName() != "Error")
      return {};
    return {rootText(*document, "Code"), rootText(*document, "Message")};
  } catch (const StorageError&) {
    return {"InvalidXML", xml.substr(0, 200)};
  }
}

std::vector<ErrorInfo> parseDeleteErrors(const std::string& xml) {
  std::vector<ErrorInfo> errors;
  for (const Element* error : rootChildren(*parse(xml), "Error"))
    errors.push_back(
        {childText(error, "Code"), childText(error, "Key") + ": " + childText(error, "Message")});
  return errors;
}

std::string xmlEscape(const std::string& text) {
  std::string result;
  for (char c : text) {
    switch (c) {
    case '&':
      result += "&amp;";
      break;
    case '<':
      result += "&lt;";
      break;
    case '>':
      result += "&gt;";
      break;
    case '"':
      result += "&quot;";
      break;
    case '\'':
      result += "&apos;";
      break;
    default:
      result += c;
    }
  }
  return result;
}

} // namespace pier::s3
