#include "plugin/PluginListing.hpp"

#include <cstdio>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

namespace pier {

namespace {

const LoadedPlugin* pluginOf(const PluginLoader& loader, const std::string& file) {
  for (const LoadedPlugin& plugin : loader.plugins()) {
    if (plugin.file.string() == file) return &plugin;
  }
  return nullptr;
}

std::string row(const std::string& kind, const std::string& name, const std::string& plugin,
                const std::string& version, const std::string& abi, const std::string& file) {
  char line[512];
  std::snprintf(line, sizeof line, "%-22s %-14s %-12s %-9s %-4s ", kind.c_str(), name.c_str(), plugin.c_str(),
                version.c_str(), abi.c_str());
  return line + file + "\n";
}

Poco::JSON::Object::Ptr buildJson(const LoadedPlugin& plugin) {
  Poco::JSON::Object::Ptr build = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  build->set("standardLibrary", plugin.standardLibrary);
  build->set("cxx11Abi", plugin.cxx11Abi);
  build->set("poco", pocoRelease(plugin.pocoVersion));
  build->set("compiler", plugin.compiler);
  return build;
}

Poco::JSON::Object::Ptr pluginJson(const LoadedPlugin& plugin) {
  Poco::JSON::Object::Ptr object = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  object->set("file", plugin.file.string());
  object->set("name", plugin.name);
  object->set("version", plugin.version);
  object->set("description", plugin.description);
  object->set("abi", plugin.abiVersion);
  object->set("build", buildJson(plugin));
  return object;
}

} // namespace

std::string pluginListingText(const PluginLoader& loader) {
  std::string text = row("KIND", "NAME", "PLUGIN", "VERSION", "ABI", "FILE");
  for (const auto& entry : loader.catalog().entries()) {
    const LoadedPlugin* plugin = pluginOf(loader, entry.file);
    text +=
        row(std::string(toString(entry.kind)), entry.name, plugin ? plugin->name : "?",
            plugin ? plugin->version : "?", plugin ? std::to_string(plugin->abiVersion) : "?", entry.file);
  }
  const LoadedPlugin server = serverBuild();
  text += "pier " + server.version + ", plugin ABI version " + std::to_string(server.abiVersion) +
          ", built by " + server.compiler + " with " + server.standardLibrary +
          " (_GLIBCXX_USE_CXX11_ABI=" + std::to_string(server.cxx11Abi) + ") and Poco " +
          pocoRelease(server.pocoVersion) + "\n";
  return text;
}

std::string pluginListingJson(const PluginLoader& loader) {
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("server", pluginJson(serverBuild()));
  Poco::JSON::Array::Ptr plugins = new Poco::JSON::Array;
  const auto entries = loader.catalog().entries();
  for (const LoadedPlugin& plugin : loader.plugins()) {
    Poco::JSON::Object::Ptr object = pluginJson(plugin);
    Poco::JSON::Array::Ptr provides = new Poco::JSON::Array;
    for (const auto& entry : entries) {
      if (entry.file != plugin.file.string()) continue;
      Poco::JSON::Object::Ptr provided = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
      provided->set("kind", std::string(toString(entry.kind)));
      provided->set("name", entry.name);
      provides->add(provided);
    }
    object->set("provides", provides);
    plugins->add(object);
  }
  root.set("plugins", plugins);
  std::ostringstream out;
  root.stringify(out, 2);
  out << '\n';
  return out.str();
}

} // namespace pier
