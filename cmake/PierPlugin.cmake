# pier_add_plugin(<kind> <name> SOURCES ... [LIBRARIES ...] [VERSION <version>])
#
# Builds a Pier plugin, libpier-<kind>-<name>.so, against the SDK target
# pier::sdk: a shared module that exports only PIER_PLUGIN's entry points and
# the SDK's own type information (pier-plugin.map), installed into
# lib/pier/plugins, where `pier` loads it from. PIER_PLUGIN_VERSION is
# defined as VERSION, or the project's version, for PIER_PLUGIN's version.
# Used by the plugins in Pier's tree and, through find_package(PierSDK), by
# plugins built outside it.
#
# PIER_PLUGIN_OUTPUT_DIR, when set, is where the built module goes.
set(PIER_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/pier-plugin.map)

function(pier_add_plugin kind name)
  cmake_parse_arguments(PLUGIN "" "VERSION" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT PLUGIN_VERSION)
    set(PLUGIN_VERSION "${PROJECT_VERSION}")
  endif()
  if(NOT PLUGIN_VERSION)
    set(PLUGIN_VERSION "0")
  endif()
  set(target pier-${kind}-${name})
  add_library(${target} MODULE ${PLUGIN_SOURCES})
  target_link_libraries(${target} PRIVATE pier::sdk ${PLUGIN_LIBRARIES})
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_compile_definitions(${target} PRIVATE PIER_PLUGIN_VERSION="${PLUGIN_VERSION}")
  pier_hide_plugin_symbols(${target})
  set_target_properties(${target} PROPERTIES PREFIX "lib")
  if(PIER_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PIER_PLUGIN_OUTPUT_DIR})
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION lib/pier/plugins)
  set_property(GLOBAL APPEND PROPERTY PIER_PLUGINS ${target})
endfunction()

# Hidden visibility by default, and a version script that keeps everything
# local but the entry points and pier:: type information: template code from
# libstdc++, Poco or a bundled static library stays the plugin's own, so two
# plugins never resolve each other's copies.
function(pier_hide_plugin_symbols target)
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${PIER_PLUGIN_VERSION_SCRIPT}" "LINKER:--exclude-libs,ALL")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${PIER_PLUGIN_VERSION_SCRIPT})
endfunction()
