#pragma once

// Events as JSON in Distribution's notification format (the envelope
// application/vnd.docker.distribution.events.v1+json, {"events": [...]}),
// both ways: sinks send it, the server's durable queue stores it.
#include <sstream>
#include <string>
#include <vector>

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Timestamp.h>

#include "pier/notification_sink.hpp"

namespace pier {

inline constexpr const char* kEventsMediaType = "application/vnd.docker.distribution.events.v1+json";

namespace event_json_detail {

inline std::string text(const Poco::JSON::Object& object, const std::string& key) {
  return object.has(key) && !object.isNull(key) ? object.getValue<std::string>(key) : std::string();
}

inline std::int64_t number(const Poco::JSON::Object& object, const std::string& key) {
  return object.has(key) && !object.isNull(key) ? object.getValue<std::int64_t>(key) : 0;
}

inline Poco::JSON::Object::Ptr section(const Poco::JSON::Object& object, const std::string& key) {
  Poco::JSON::Object::Ptr inner = object.has(key) ? object.getObject(key) : nullptr;
  if (inner) return inner;
  return new Poco::JSON::Object;
}

} // namespace event_json_detail

// One event as Distribution writes it; empty optional members are left out.
inline Poco::JSON::Object::Ptr eventToJson(const Event& event) {
  using Poco::JSON::Object;
  Object::Ptr json = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  json->set("id", event.id);
  Poco::Timestamp stamp(
      std::chrono::duration_cast<std::chrono::microseconds>(event.timestamp.time_since_epoch()).count());
  json->set("timestamp", Poco::DateTimeFormatter::format(stamp, Poco::DateTimeFormat::ISO8601_FRAC_FORMAT));
  json->set("action", event.action);
  Object::Ptr target = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  const Event::Target& t = event.target;
  if (!t.mediaType.empty()) target->set("mediaType", t.mediaType);
  if (!t.digest.empty()) {
    target->set("digest", t.digest);
    target->set("size", t.size);
    target->set("length", t.length);
  }
  target->set("repository", t.repository);
  if (!t.fromRepository.empty()) target->set("fromRepository", t.fromRepository);
  if (!t.url.empty()) target->set("url", t.url);
  if (!t.tag.empty()) target->set("tag", t.tag);
  if (!t.references.empty()) {
    Poco::JSON::Array::Ptr references = new Poco::JSON::Array;
    for (const Descriptor& reference : t.references) {
      Object::Ptr descriptor = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      descriptor->set("mediaType", reference.mediaType);
      descriptor->set("digest", reference.digest);
      descriptor->set("size", reference.size);
      references->add(descriptor);
    }
    target->set("references", references);
  }
  json->set("target", target);
  Object::Ptr request = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  request->set("id", event.request.id);
  request->set("addr", event.request.addr);
  request->set("host", event.request.host);
  request->set("method", event.request.method);
  request->set("useragent", event.request.userAgent);
  json->set("request", request);
  Object::Ptr actor = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  if (!event.actor.name.empty()) actor->set("name", event.actor.name);
  json->set("actor", actor);
  Object::Ptr source = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  source->set("addr", event.source.addr);
  source->set("instanceID", event.source.instanceId);
  json->set("source", source);
  if (event.extensions)
    for (const auto& [key, value] : *event.extensions) json->set(key, value);
  return json;
}

// The event eventToJson wrote; throws Poco::Exception on what is not one.
inline Event eventFromJson(const Poco::JSON::Object& json) {
  using namespace event_json_detail;
  Event event;
  event.id = text(json, "id");
  int zone = 0;
  Poco::DateTime when =
      Poco::DateTimeParser::parse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, text(json, "timestamp"), zone);
  event.timestamp = std::chrono::system_clock::time_point(
      std::chrono::microseconds(when.timestamp().epochMicroseconds() - zone * 1000000LL));
  event.action = text(json, "action");
  Poco::JSON::Object::Ptr target = section(json, "target");
  event.target.mediaType = text(*target, "mediaType");
  event.target.digest = text(*target, "digest");
  event.target.size = number(*target, "size");
  event.target.length = number(*target, "length");
  event.target.repository = text(*target, "repository");
  event.target.fromRepository = text(*target, "fromRepository");
  event.target.url = text(*target, "url");
  event.target.tag = text(*target, "tag");
  if (Poco::JSON::Array::Ptr references = target->getArray("references")) {
    for (std::size_t i = 0; i < references->size(); ++i) {
      Poco::JSON::Object::Ptr descriptor = references->getObject(static_cast<unsigned>(i));
      if (descriptor)
        event.target.references.push_back(
            {text(*descriptor, "digest"), number(*descriptor, "size"), text(*descriptor, "mediaType")});
    }
  }
  Poco::JSON::Object::Ptr request = section(json, "request");
  event.request = {text(*request, "id"), text(*request, "addr"), text(*request, "host"),
                   text(*request, "method"), text(*request, "useragent")};
  event.actor.name = text(*section(json, "actor"), "name");
  Poco::JSON::Object::Ptr source = section(json, "source");
  event.source = {text(*source, "addr"), text(*source, "instanceID")};
  for (const auto& [key, value] : json) {
    if (key == "id" || key == "timestamp" || key == "action" || key == "target" || key == "request" ||
        key == "actor" || key == "source")
      continue;
    if (!event.extensions) event.extensions = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    event.extensions->set(key, value);
  }
  return event;
}

// The body of one delivery: {"events": [...]}.
inline std::string eventEnvelope(const std::vector<Event>& events) {
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
  for (const Event& event : events) list->add(eventToJson(event));
  Poco::JSON::Object envelope;
  envelope.set("events", list);
  std::ostringstream out;
  envelope.stringify(out);
  return out.str();
}

} // namespace pier
