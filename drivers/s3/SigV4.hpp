// AWS Signature Version 4 (the "AWS4-HMAC-SHA256" scheme) for S3 requests:
// the Authorization header and presigned (query-string) URLs. Pure functions
// of their arguments over OpenSSL, so the published test vectors check them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pier::s3 {

using Parameters = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string accessKey;
  std::string secretKey;
  std::string sessionToken; // empty unless temporary credentials
};

// SHA-256 of the empty payload, and the marker for a payload left unsigned.
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

std::string sha256Hex(std::string_view data);
std::string md5Base64(std::string_view data);
std::string hmacSha256(std::string_view key, std::string_view data); // raw bytes
std::string hexEncode(std::string_view bytes);
// RFC 3986 percent-encoding of everything but unreserved characters (and '/'
// unless encodeSlash), with upper-case hex, as SigV4 asks.
std::string uriEncode(std::string_view text, bool encodeSlash);
// "20150830T123600Z"
std::string amzDate(std::chrono::system_clock::time_point time);

// What is signed of a request. Path and query are not encoded; headers may
// come in any case and must include host and x-amz-date.
struct RequestToSign {
  std::string method;
  std::string path;
  Parameters query;
  Parameters headers;
  std::string payloadHash;
};

struct SigningResult {
  std::string canonicalRequest;
  std::string stringToSign;
  std::string signature;     // hex
  std::string authorization; // the Authorization header's value
};

class SigV4Signer {
public:
  SigV4Signer(Credentials credentials, std::string region, std::string service);

  SigningResult sign(const RequestToSign& request, std::string_view amzDate) const;

  // The query string (encoded, without '?') that presigns `method path` on
  // host for `expires`, the host being the only signed header.
  std::string presignQuery(const std::string& method, const std::string& host, const std::string& path,
                           std::string_view amzDate, std::chrono::seconds expires) const;

  const Credentials& credentials() const { return credentials_; }

private:
  std::string scope(std::string_view date) const;
  std::string signingKey(std::string_view date) const;
  SigningResult signCanonical(std::string canonicalRequest, std::string_view amzDate) const;

  Credentials credentials_;
  std::string region_;
  std::string service_;
};

} // namespace pier::s3
