#pragma once

// The plugin ABI version. A plugin built against another version is refused at
// load time. Bump it whenever a header of this SDK changes the layout of a type
// or the signature of a virtual function.
#define PIER_PLUGIN_ABI_VERSION 6

// SDK types cross the boundary between the server and plugins that are built
// with hidden visibility: their type information must stay visible so that
// exceptions and dynamic_cast work across that boundary.
#define PIER_SDK_API __attribute__((visibility("default")))
