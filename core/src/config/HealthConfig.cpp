#include "config/HealthConfig.hpp"

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

// The entries of a list of sections, each with its path (health.http[2]).
template <typename Parse> void forEachEntry(const Object& health, const std::string& key, Parse parse) {
  Array::Ptr entries = health.getArray(key);
  for (std::size_t i = 0; entries && i < entries->size(); ++i)
    parse(*entries->getObject(static_cast<unsigned int>(i)), configschema::indexPath("health." + key, i));
}

// Headers in Distribution's form: each name maps to a list of values (or one).
std::vector<std::pair<std::string, std::string>> headersOf(const Object& entry) {
  std::vector<std::pair<std::string, std::string>> out;
  Object::Ptr headers = entry.getObject("headers");
  if (!headers) return out;
  for (const std::string& name : headers->getNames()) {
    if (Array::Ptr values = headers->getArray(name)) {
      for (std::size_t i = 0; i < values->size(); ++i)
        out.emplace_back(name, values->get(static_cast<unsigned int>(i)).toString());
    } else {
      out.emplace_back(name, headers->get(name).toString());
    }
  }
  return out;
}

} // namespace

Config::Health parseHealth(const Object& health) {
  Config::Health result;
  Object::Ptr storageDriver = sectionOf(health, "storagedriver");
  const std::string driverPath = "health.storagedriver";
  result.storageDriverEnabled = config::getBool(*storageDriver, "enabled", driverPath, true);
  result.storageDriverInterval =
      config::getDuration(*storageDriver, "interval", driverPath, result.storageDriverInterval);
  result.storageDriverThreshold = static_cast<int>(
      config::getInt(*storageDriver, "threshold", driverPath, result.storageDriverThreshold));

  forEachEntry(health, "file", [&](const Object& entry, const std::string& path) {
    Config::Health::File file;
    file.path = config::getString(entry, "file", path);
    if (trim(file.path).empty())
      throw ConfigError(configschema::joinPath(path, "file") + ": must not be empty");
    file.interval = config::getDuration(entry, "interval", path, file.interval);
    file.threshold = static_cast<int>(config::getInt(entry, "threshold", path, 0));
    result.files.push_back(std::move(file));
  });
  forEachEntry(health, "http", [&](const Object& entry, const std::string& path) {
    Config::Health::Http http;
    http.uri = config::getString(entry, "uri", path);
    configschema::requireHttpUrl(http.uri, configschema::joinPath(path, "uri"));
    http.headers = headersOf(entry);
    http.statusCode = static_cast<int>(config::getInt(entry, "statuscode", path, http.statusCode));
    http.timeout = config::getDuration(entry, "timeout", path, http.timeout);
    http.interval = config::getDuration(entry, "interval", path, http.interval);
    http.threshold = static_cast<int>(config::getInt(entry, "threshold", path, 0));
    result.https.push_back(std::move(http));
  });
  forEachEntry(health, "tcp", [&](const Object& entry, const std::string& path) {
    Config::Health::Tcp tcp;
    tcp.address = config::getString(entry, "addr", path);
    // The syntax only: the name is resolved when the check runs, not when the server starts.
    const std::size_t colon = tcp.address.rfind(':');
    const std::string port = colon == std::string::npos ? "" : tcp.address.substr(colon + 1);
    const bool numeric =
        !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
    if (colon == 0 || !numeric || std::stoi(port) < 1 || std::stoi(port) > 65535)
      throw ConfigError(configschema::joinPath(path, "addr") + ": \"" + tcp.address +
                        "\" is not a host:port address");
    tcp.timeout = config::getDuration(entry, "timeout", path, tcp.timeout);
    tcp.interval = config::getDuration(entry, "interval", path, tcp.interval);
    tcp.threshold = static_cast<int>(config::getInt(entry, "threshold", path, 0));
    result.tcps.push_back(std::move(tcp));
  });
  return result;
}

} // namespace pier
