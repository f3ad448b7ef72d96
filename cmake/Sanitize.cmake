# PIER_SANITIZE: sanitizers for every target of the build, e.g.
# "address,undefined" or "thread" (CI builds both; see .ci/run). Any error a
# sanitizer finds aborts the process (no recovery), so a test fails on it; the
# integration tests also fail when a server they started reported one
# (tests/integration/PierProcess.cpp).
set(PIER_SANITIZE "" CACHE STRING "Sanitizers for every target: address,undefined or thread (empty: none)")

if(PIER_SANITIZE)
  string(REPLACE "," ";" pier_sanitizers "${PIER_SANITIZE}")
  foreach(sanitizer IN LISTS pier_sanitizers)
    if(NOT sanitizer MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "PIER_SANITIZE: unknown sanitizer \"${sanitizer}\" (use address, undefined, thread, leak)")
    endif()
  endforeach()
  if("thread" IN_LIST pier_sanitizers AND "address" IN_LIST pier_sanitizers)
    message(FATAL_ERROR "PIER_SANITIZE: thread and address cannot be combined; build them separately")
  endif()
  add_compile_options(-fsanitize=${PIER_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${PIER_SANITIZE})
  # Tests of memory bounds hold only without the sanitizers' shadow memory.
  add_compile_definitions(PIER_SANITIZED=1)
endif()
