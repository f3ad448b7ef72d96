// A Register function that throws something that is not a std::exception:
// the loader must turn it into a PluginError naming the file, not crash.
#include <pier/plugin.hpp>

namespace {
void registerPlugin(pier::PluginRegistry& /*registry*/) {
  throw 42;
}
} // namespace

PIER_PLUGIN(registerPlugin, "register-throws", "1.0.0", "Test fixture: its Register function throws an int")
