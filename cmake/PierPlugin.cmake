# pier_add_plugin(<kind> <name> SOURCES ... [LIBRARIES ...])
#
# Builds a Pier plugin, libpier-<kind>-<name>.so, against the SDK target
# pier::sdk: a shared module with hidden visibility (only the two symbols of
# PIER_PLUGIN are exported), installed into lib/pier/plugins, where `pier`
# loads it from. Used by the plugins in Pier's tree and, through
# find_package(PierSDK), by plugins built outside it.
#
# PIER_PLUGIN_OUTPUT_DIR, when set, is where the built module goes.
function(pier_add_plugin kind name)
  cmake_parse_arguments(PLUGIN "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target pier-${kind}-${name})
  add_library(${target} MODULE ${PLUGIN_SOURCES})
  target_link_libraries(${target} PRIVATE pier::sdk ${PLUGIN_LIBRARIES})
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(PIER_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PIER_PLUGIN_OUTPUT_DIR})
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION lib/pier/plugins)
  set_property(GLOBAL APPEND PROPERTY PIER_PLUGINS ${target})
endfunction()
