# Writes OUTPUT: a C++ source defining pier::defaultConfigText() as the bytes of INPUT.
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${content}")
file(WRITE ${OUTPUT}
  "#include <string>\nnamespace pier {\nconst std::string& defaultConfigText() {\n"
  "  static const char bytes[] = {${bytes} 0};\n"
  "  static const std::string text(bytes, sizeof(bytes) - 1);\n  return text;\n}\n}\n")
