#pragma once

// The plugin ABI version. A plugin built against another version is refused at
// load time. Bump it whenever a header of this SDK changes the layout of a type
// or a vtable: a virtual function added, removed, moved or changed, a member
// of a struct that crosses the boundary, a factory type, or a field added (at
// the end) to PierPluginInfo. docs/PLUGINS.md, section 10, lists what needs
// no bump.
#define PIER_PLUGIN_ABI_VERSION 6

// SDK types cross the boundary between the server and plugins that are built
// with hidden visibility: their type information must stay visible so that
// exceptions and dynamic_cast work across that boundary.
#define PIER_SDK_API __attribute__((visibility("default")))
