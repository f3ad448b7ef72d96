# Sourced by scripts/sanitize and scripts/fuzz: how their builds are made and
# what the sanitizers are told at run time.
# -O1 with line tables: sanitized code that runs fast enough and names its
# lines; unity sources (see tests/CMakeLists.txt) keep CI's 2 cores inside time.
sanitizer_build_options=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=12
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1")
suppressions="$PWD/tests/sanitizers"
# Every report ends the process (builds use -fno-sanitize-recover=all too).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$suppressions/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$suppressions/tsan.supp:halt_on_error=0:second_deadlock_stack=1}
# Warnings are the plain builds' concern; these builds are about run time.
export PIER_WERROR=OFF
