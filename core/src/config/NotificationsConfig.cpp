#include "config/NotificationsConfig.hpp"

#include <set>

#include <Poco/JSON/Array.h>

#include "config/ConfigSchema.hpp"
#include "pier/config.hpp"
#include "pier/errors.hpp"
#include "util/Text.hpp"

namespace pier {

namespace {

using configschema::sectionOf;
using Poco::JSON::Array;
using Poco::JSON::Object;

void appendStrings(const Object& object, const std::string& key, std::vector<std::string>& out) {
  if (Array::Ptr array = object.getArray(key)) {
    for (std::size_t i = 0; i < array->size(); ++i)
      out.push_back(array->get(static_cast<unsigned int>(i)).extract<std::string>());
  }
}

Config::Notifications::Endpoint parseEndpoint(const Object::Ptr& section, const std::string& path) {
  Config::Notifications::Endpoint endpoint;
  endpoint.section = section;
  endpoint.name = config::getString(*section, "name", path);
  if (trim(endpoint.name).empty())
    throw ConfigError(configschema::joinPath(path, "name") + ": must not be empty");
  endpoint.url = config::getString(*section, "url", path);
  endpoint.type = config::getString(*section, "type", path, endpoint.type);
  // The URL is the webhook's; other sink types may give anything (their own scheme, say).
  if (endpoint.type == "webhook")
    configschema::requireHttpUrl(endpoint.url, configschema::joinPath(path, "url"));
  endpoint.disabled = config::getBool(*section, "disabled", path, false);
  // Zero or absent keeps Distribution's default, as its EndpointConfig.defaults does.
  auto timeout = config::getDuration(*section, "timeout", path, endpoint.timeout);
  if (timeout.count() > 0) endpoint.timeout = timeout;
  auto threshold = config::getInt(*section, "threshold", path, endpoint.threshold);
  if (threshold > 0) endpoint.threshold = static_cast<int>(threshold);
  auto backoff = config::getDuration(*section, "backoff", path, endpoint.backoff);
  if (backoff.count() > 0) endpoint.backoff = backoff;
  appendStrings(*section, "ignoredmediatypes", endpoint.ignoredMediaTypes);
  Object::Ptr ignore = sectionOf(*section, "ignore");
  appendStrings(*ignore, "mediatypes", endpoint.ignoredMediaTypes);
  appendStrings(*ignore, "actions", endpoint.ignoredActions);
  return endpoint;
}

} // namespace

Config::Notifications parseNotifications(const Object& notifications) {
  Config::Notifications result;
  result.includeReferences = config::getBool(*sectionOf(notifications, "events"), "includereferences",
                                             "notifications.events", false);
  std::set<std::string> names;
  if (Array::Ptr endpoints = notifications.getArray("endpoints")) {
    for (std::size_t i = 0; i < endpoints->size(); ++i) {
      std::string path = configschema::indexPath("notifications.endpoints", i);
      auto endpoint = parseEndpoint(endpoints->getObject(static_cast<unsigned int>(i)), path);
      if (!names.insert(endpoint.name).second)
        throw ConfigError(configschema::joinPath(path, "name") + ": \"" + endpoint.name +
                          "\" names another endpoint too; endpoint names must be unique");
      result.endpoints.push_back(std::move(endpoint));
    }
  }
  Object::Ptr queue = sectionOf(notifications, "queue");
  const std::string queuePath = "notifications.queue";
  result.queue.directory = config::getString(*queue, "directory", queuePath);
  result.queue.maxBytes = config::getInt(*queue, "maxbytes", queuePath, result.queue.maxBytes);
  result.queue.refuseWhenFull = config::getString(*queue, "full", queuePath, "dropoldest") == "refuse";
  return result;
}

} // namespace pier
