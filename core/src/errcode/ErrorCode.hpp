#pragma once

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Poco/Dynamic/Var.h>

// Registered error codes, as in Distribution's errcode package: each group
// registers its codes with a message, a description and the HTTP status that
// a response carrying the code gets.
namespace pier::errcode {

struct Descriptor {
  std::string group;
  std::string value; // "BLOB_UNKNOWN"
  std::string message;
  std::string description;
  int httpStatus = 500;
};

// A handle to a registered descriptor; cheap to copy and compare.
class Code {
public:
  explicit Code(const Descriptor* descriptor) : descriptor_(descriptor) {}
  const std::string& value() const { return descriptor_->value; }
  const std::string& message() const { return descriptor_->message; }
  int httpStatus() const { return descriptor_->httpStatus; }
  const Descriptor& descriptor() const { return *descriptor_; }
  bool operator==(const Code& other) const { return descriptor_ == other.descriptor_; }

private:
  const Descriptor* descriptor_;
};

// Registers a code; a value registered twice is a programming error (std::logic_error).
Code registerCode(Descriptor descriptor);
std::optional<Code> findCode(std::string_view value);
std::vector<Descriptor> registeredCodes(); // sorted by group, then value

// The codes of the Distribution and OCI specifications.
extern const Code Unknown;      // UNKNOWN 500
extern const Code Unsupported;  // UNSUPPORTED 405
extern const Code Unauthorized; // UNAUTHORIZED 401
extern const Code Denied;       // DENIED 403
extern const Code Unavailable;  // UNAVAILABLE 503
extern const Code TooManyRequests;
extern const Code DigestInvalid;
extern const Code SizeInvalid;
extern const Code RangeInvalid;
extern const Code NameInvalid;
extern const Code TagInvalid;
extern const Code NameUnknown;
extern const Code ManifestUnknown;
extern const Code ManifestInvalid;
extern const Code ManifestUnverified;
extern const Code ManifestBlobUnknown;
extern const Code BlobUnknown;
extern const Code BlobUploadUnknown;
extern const Code BlobUploadInvalid;
extern const Code PaginationNumberInvalid;
// Pier's own: a path that is not part of the API, and the connection layer's answers.
extern const Code NotFound;
extern const Code RequestInvalid;     // 400
extern const Code RequestTimeout;     // 408
extern const Code HeadersTooLarge;    // 431
extern const Code NotImplemented;     // 501
extern const Code VersionUnsupported; // 505

// One error of a response: a code, a message (the code's when empty), a detail.
struct Error {
  Code code;
  std::string message;
  Poco::Dynamic::Var detail;
};

// The errors of one response, serialised as {"errors":[{"code","message","detail"}]}.
class Errors {
public:
  Errors() = default;
  Errors(Error error) { errors_.push_back(std::move(error)); }

  void add(Error error) { errors_.push_back(std::move(error)); }
  bool empty() const { return errors_.empty(); }
  const std::vector<Error>& list() const { return errors_; }
  // The status of the first error's code (500 when there is none).
  int httpStatus() const;
  std::string toJson() const;

private:
  std::vector<Error> errors_;
};

// Thrown by handlers and services to answer with registered errors.
class Exception : public std::exception {
public:
  explicit Exception(Errors errors);
  Exception(Code code, std::string message = {}, Poco::Dynamic::Var detail = {});
  const Errors& errors() const noexcept { return errors_; }
  const char* what() const noexcept override { return what_.c_str(); }

private:
  Errors errors_;
  std::string what_;
};

} // namespace pier::errcode
