#pragma once

#include <string>

namespace pier {

// A random (version 4) UUID in its lowercase text form, e.g. for request and
// upload ids. Thread safe: each thread has its own generator.
std::string newUuid();

} // namespace pier
