#pragma once

#include <typeinfo>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

// What a parsed Poco JSON value holds: Poco's Var has no isObject/isArray.
namespace pier::json {

inline bool isObject(const Poco::Dynamic::Var& value) {
  return value.type() == typeid(Poco::JSON::Object::Ptr);
}

inline bool isArray(const Poco::Dynamic::Var& value) {
  return value.type() == typeid(Poco::JSON::Array::Ptr);
}

// An empty object that keeps its keys in insertion order (config documents are echoed back).
inline Poco::JSON::Object::Ptr newObject() {
  return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

} // namespace pier::json
