# PIER_FUZZ: the libFuzzer targets of tests/fuzz (docs/FUZZING.md). Every
# target of the tree gets libFuzzer's coverage instrumentation; only the fuzz
# executables link libFuzzer itself (pier_add_fuzz_target), so pier and the
# tests still have their own main. Address/undefined sanitizers are
# PIER_SANITIZE's business (cmake/Sanitize.cmake), not this file's.
option(PIER_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)

if(PIER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PIER_FUZZ=ON needs clang (libFuzzer ships with it): configure with "
                        "CC=clang CXX=clang++ in a fresh build directory; the C++ compiler is "
                        "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER}")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# pier_add_fuzz_target(<Name> LIBRARIES ...): tests/fuzz/<Name>Fuzz.cpp as the
# executable bin/fuzz/<name>, linked with libFuzzer's main.
function(pier_add_fuzz_target name)
  cmake_parse_arguments(FUZZ "" "" "LIBRARIES" ${ARGN})
  string(TOLOWER ${name} lower)
  set(target pier_fuzz_${lower})
  add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/${name}Fuzz.cpp)
  target_link_libraries(${target} PRIVATE ${FUZZ_LIBRARIES})
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${lower}
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin/fuzz)
  set_property(GLOBAL APPEND PROPERTY PIER_FUZZ_TARGETS ${target})
endfunction()
