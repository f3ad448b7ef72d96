// A shared library that exports no plugin symbols.
extern "C" __attribute__((visibility("default"))) int pier_fixture_something_else() {
  return 42;
}
