#include "errcode/ErrorCode.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <stdexcept>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>

namespace pier::errcode {

namespace {

struct Registry {
  std::mutex mutex;
  std::deque<Descriptor> descriptors; // a deque keeps addresses stable
};

Registry& registry() {
  static Registry instance;
  return instance;
}

} // namespace

Code registerCode(Descriptor descriptor) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const Descriptor& existing : r.descriptors) {
    if (existing.value == descriptor.value)
      throw std::logic_error("error code " + descriptor.value + " is already registered by group " +
                             existing.group);
  }
  r.descriptors.push_back(std::move(descriptor));
  return Code(&r.descriptors.back());
}

std::optional<Code> findCode(std::string_view value) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const Descriptor& existing : r.descriptors) {
    if (existing.value == value) return Code(&existing);
  }
  return std::nullopt;
}

std::vector<Descriptor> registeredCodes() {
  Registry& r = registry();
  std::vector<Descriptor> result;
  {
    std::lock_guard lock(r.mutex);
    result.assign(r.descriptors.begin(), r.descriptors.end());
  }
  std::sort(result.begin(), result.end(), [](const Descriptor& a, const Descriptor& b) {
    return a.group != b.group ? a.group < b.group : a.value < b.value;
  });
  return result;
}

namespace {
const std::string kCommonGroup = "errcode";
const std::string kApiGroup = "registry.api.v2";
const std::string kPierGroup = "pier";
} // namespace

// Messages, descriptions and statuses as the Distribution registry and the
// OCI distribution-spec define them.
const Code Unknown =
    registerCode({kCommonGroup, "UNKNOWN", "unknown error",
                  "Generic error returned when the error does not have an API classification.", 500});
const Code Unsupported = registerCode(
    {kCommonGroup, "UNSUPPORTED", "The operation is unsupported.",
     "The operation was unsupported due to a missing implementation or invalid set of parameters.", 405});
const Code Unauthorized =
    registerCode({kCommonGroup, "UNAUTHORIZED", "authentication required",
                  "The access controller was unable to authenticate the client. Often this will be "
                  "accompanied by a WWW-Authenticate HTTP response header indicating how to authenticate.",
                  401});
const Code Denied =
    registerCode({kCommonGroup, "DENIED", "requested access to the resource is denied",
                  "The access controller denied access for the operation on a resource.", 403});
const Code Unavailable = registerCode(
    {kCommonGroup, "UNAVAILABLE", "service unavailable", "Returned when a service is not available.", 503});
const Code TooManyRequests =
    registerCode({kCommonGroup, "TOOMANYREQUESTS", "too many requests",
                  "Returned when a client attempts to contact a service too many times.", 429});
const Code DigestInvalid = registerCode(
    {kApiGroup, "DIGEST_INVALID", "provided digest did not match uploaded content",
     "When a blob is uploaded, the registry will check that the content matches the digest provided by the "
     "client. The error may include a detail structure with the key \"digest\", including the invalid digest "
     "string. This error may also be returned when a manifest includes an invalid layer digest.",
     400});
const Code SizeInvalid =
    registerCode({kApiGroup, "SIZE_INVALID", "provided length did not match content length",
                  "When a layer is uploaded, the provided size will be checked against the uploaded content. "
                  "If they do not match, this error will be returned.",
                  400});
const Code RangeInvalid =
    registerCode({kApiGroup, "RANGE_INVALID", "invalid content range",
                  "When a layer is uploaded, the provided range is checked against the uploaded chunk. This "
                  "error is returned if the range is out of order.",
                  416});
const Code NameInvalid = registerCode(
    {kApiGroup, "NAME_INVALID", "invalid repository name",
     "Invalid repository name encountered either during manifest validation or any API operation.", 400});
const Code TagInvalid = registerCode({kApiGroup, "TAG_INVALID", "manifest tag did not match URI",
                                      "During a manifest upload, if the tag in the manifest does not match "
                                      "the uri tag, this error will be returned.",
                                      400});
const Code NameUnknown =
    registerCode({kApiGroup, "NAME_UNKNOWN", "repository name not known to registry",
                  "This is returned if the name used during an operation is unknown to the registry.", 404});
const Code ManifestUnknown = registerCode(
    {kApiGroup, "MANIFEST_UNKNOWN", "manifest unknown",
     "This error is returned when the manifest, identified by name and tag is unknown to the repository.",
     404});
const Code ManifestInvalid =
    registerCode({kApiGroup, "MANIFEST_INVALID", "manifest invalid",
                  "During upload, manifests undergo several checks ensuring validity. If those checks fail, "
                  "this error may be returned, unless a more specific error is included. The detail will "
                  "contain information the failed validation.",
                  400});
const Code ManifestUnverified = registerCode(
    {kApiGroup, "MANIFEST_UNVERIFIED", "manifest failed signature verification",
     "During manifest upload, if the manifest fails signature verification, this error will be returned.",
     400});
const Code ManifestBlobUnknown =
    registerCode({kApiGroup, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry",
                  "This error may be returned when a manifest blob is unknown to the registry.", 400});
const Code BlobUnknown = registerCode(
    {kApiGroup, "BLOB_UNKNOWN", "blob unknown to registry",
     "This error may be returned when a blob is unknown to the registry in a specified repository. This can "
     "be returned with a standard get or if a manifest references an unknown layer during upload.",
     404});
const Code BlobUploadUnknown = registerCode(
    {kApiGroup, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry",
     "If a blob upload has been cancelled or was never started, this error code may be returned.", 404});
const Code BlobUploadInvalid =
    registerCode({kApiGroup, "BLOB_UPLOAD_INVALID", "blob upload invalid",
                  "The blob upload encountered an error and can no longer proceed.", 400});
const Code PaginationNumberInvalid =
    registerCode({kApiGroup, "PAGINATION_NUMBER_INVALID", "invalid number of results requested",
                  "Returned when the \"n\" parameter (number of results to return) is not an integer, \"n\" "
                  "is negative or \"n\" is bigger than the maximum allowed.",
                  400});
const Code NotFound = registerCode({kPierGroup, "NOT_FOUND", "not found",
                                    "The request's path is not an endpoint of the registry API.", 404});

// What the connection layer answers for requests it cannot hand to the API.
const Code RequestInvalid =
    registerCode({kPierGroup, "REQUEST_INVALID", "malformed request",
                  "The request line, a header or the body's framing is malformed or ambiguous.", 400});
const Code RequestTimeout =
    registerCode({kPierGroup, "REQUEST_TIMEOUT", "request timeout",
                  "The request body arrived more slowly than the server's minimum rate.", 408});
const Code HeadersTooLarge =
    registerCode({kPierGroup, "REQUEST_HEADERS_TOO_LARGE", "request header fields too large",
                  "The request head is larger than the server accepts.", 431});
const Code NotImplemented =
    registerCode({kPierGroup, "NOT_IMPLEMENTED", "not implemented",
                  "The request uses a transfer coding the server does not implement.", 501});
const Code VersionUnsupported =
    registerCode({kPierGroup, "HTTP_VERSION_UNSUPPORTED", "HTTP version not supported",
                  "Only HTTP/1.0 and HTTP/1.1 are served.", 505});

int Errors::httpStatus() const {
  return errors_.empty() ? 500 : errors_.front().code.httpStatus();
}

std::string Errors::toJson() const {
  Poco::JSON::Array list;
  for (const Error& error : errors_) {
    Poco::JSON::Object entry(Poco::JSON_PRESERVE_KEY_ORDER);
    entry.set("code", error.code.value());
    entry.set("message", error.message.empty() ? error.code.message() : error.message);
    if (!error.detail.isEmpty()) entry.set("detail", error.detail);
    list.add(entry);
  }
  Poco::JSON::Object body;
  body.set("errors", list);
  std::ostringstream out;
  body.stringify(out);
  return out.str();
}

namespace {
std::string describe(const Errors& errors) {
  std::string text;
  for (const Error& error : errors.list()) {
    if (!text.empty()) text += "; ";
    text += error.code.value() + ": " + (error.message.empty() ? error.code.message() : error.message);
  }
  return text;
}
} // namespace

Exception::Exception(Errors errors) : errors_(std::move(errors)), what_(describe(errors_)) {}

Exception::Exception(Code code, std::string message, Poco::Dynamic::Var detail)
    : Exception(Errors(Error{code, std::move(message), std::move(detail)})) {}

} // namespace pier::errcode
