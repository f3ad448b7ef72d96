#pragma once

// unique_ptr for OpenSSL objects: OpenSsl<EVP_PKEY, EVP_PKEY_free> frees with its own function.
#include <memory>

namespace pier::token {

template <auto Free> struct OpenSslFree {
  template <typename T> void operator()(T* object) const { Free(object); }
};

template <typename T, auto Free> using OpenSsl = std::unique_ptr<T, OpenSslFree<Free>>;

} // namespace pier::token
