#pragma once

#include <stdexcept>
#include <string>

#include "pier/version.hpp"

namespace pier {

// Base of every error a plugin throws to the server.
class PIER_SDK_API Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A configuration value is missing, unknown or of the wrong type. The message
// names the key's path, e.g. "storage.filesystem.rootdirectory: must be a string".
class PIER_SDK_API ConfigError : public Error {
public:
  using Error::Error;
};

// The request's context was cancelled or its deadline passed.
class PIER_SDK_API CancelledError : public Error {
public:
  using Error::Error;
};

// Errors of storage drivers, as in Distribution's storagedriver package.
class PIER_SDK_API StorageError : public Error {
public:
  using Error::Error;
};

class PIER_SDK_API PathNotFoundError : public StorageError {
public:
  explicit PathNotFoundError(const std::string& path)
      : StorageError("path not found: " + path), path_(path) {}
  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
};

class PIER_SDK_API InvalidPathError : public StorageError {
public:
  explicit InvalidPathError(const std::string& path)
      : StorageError("invalid path: \"" + path + "\""), path_(path) {}
  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
};

class PIER_SDK_API InvalidOffsetError : public StorageError {
public:
  InvalidOffsetError(const std::string& path, long long offset)
      : StorageError("invalid offset " + std::to_string(offset) + " for path " + path) {}
};

// The storage backend could not be reached or kept refusing (throttling,
// outages) after the driver's retries: the server answers 503 UNAVAILABLE,
// since the request may succeed later.
class PIER_SDK_API StorageUnavailableError : public StorageError {
public:
  using StorageError::StorageError;
};

// The backend asked to slow down (e.g. S3 SlowDown, HTTP 429) and kept doing
// so through the driver's retries: the server answers 429 TOOMANYREQUESTS
// with Retry-After, so clients back off instead of failing.
class PIER_SDK_API StorageThrottledError : public StorageUnavailableError {
public:
  explicit StorageThrottledError(const std::string& what, int retryAfterSeconds = 1)
      : StorageUnavailableError(what), retryAfterSeconds_(retryAfterSeconds) {}
  int retryAfterSeconds() const noexcept { return retryAfterSeconds_; }

private:
  int retryAfterSeconds_;
};

// The driver does not implement an optional operation.
class PIER_SDK_API UnsupportedError : public StorageError {
public:
  using StorageError::StorageError;
};

// A cache backend could not answer (e.g. Redis is down). Callers fall back to storage.
class PIER_SDK_API CacheUnavailableError : public Error {
public:
  using Error::Error;
};

} // namespace pier
