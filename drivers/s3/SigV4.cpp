#include "SigV4.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace pier::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

// Trims the value and collapses inner runs of spaces to one, as SigV4 asks.
std::string canonicalHeaderValue(std::string_view value) {
  std::string result;
  bool pendingSpace = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pendingSpace = !result.empty();
      continue;
    }
    if (pendingSpace) result += ' ';
    pendingSpace = false;
    result += c;
  }
  return result;
}

std::string canonicalQuery(const Parameters& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(uriEncode(name, true), uriEncode(value, true));
  std::sort(encoded.begin(), encoded.end());
  std::string result;
  for (const auto& [name, value] : encoded) {
    if (!result.empty()) result += '&';
    result += name;
    result += '=';
    result += value;
  }
  return result;
}

} // namespace

std::string hexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string result;
  result.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    result += kDigits[byte >> 4];
    result += kDigits[byte & 0xf];
  }
  return result;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string md5Base64(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr) != 1)
    throw std::runtime_error("MD5 failed");
  std::string encoded(4 * ((length + 2) / 3) + 1, '\0');
  int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), digest, static_cast<int>(length));
  encoded.resize(static_cast<std::size_t>(written));
  return encoded;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string uriEncode(std::string_view text, bool encodeSlash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string result;
  result.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (c == '/' && !encodeSlash)) {
      result += static_cast<char>(c);
    } else {
      result += '%';
      result += kDigits[c >> 4];
      result += kDigits[c & 0xf];
    }
  }
  return result;
}

std::string amzDate(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

SigV4Signer::SigV4Signer(Credentials credentials, std::string region, std::string service)
    : credentials_(std::move(credentials)), region_(std::move(region)), service_(std::move(service)) {}

std::string SigV4Signer::scope(std::string_view date) const {
  return std::string(date.substr(0, 8)) + "/" + region_ + "/" + service_ + "/aws4_request";
}

std::string SigV4Signer::signingKey(std::string_view date) const {
  std::string key = hmacSha256("AWS4" + credentials_.secretKey, date.substr(0, 8));
  key = hmacSha256(key, region_);
  key = hmacSha256(key, service_);
  return hmacSha256(key, "aws4_request");
}

SigningResult SigV4Signer::signCanonical(std::string canonicalRequest, std::string_view date) const {
  SigningResult result;
  result.canonicalRequest = std::move(canonicalRequest);
  result.stringToSign = std::string(kAlgorithm) + "\n" + std::string(date) + "\n" + scope(date) + "\n" +
                        sha256Hex(result.canonicalRequest);
  result.signature = hexEncode(hmacSha256(signingKey(date), result.stringToSign));
  return result;
}

SigningResult SigV4Signer::sign(const RequestToSign& request, std::string_view date) const {
  // Headers by lower-cased name; repeated names join their values with commas.
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    std::string key = lower(name);
    std::string canonical = canonicalHeaderValue(value);
    auto it =
        std::find_if(headers.begin(), headers.end(), [&](const auto& entry) { return entry.first == key; });
    if (it == headers.end())
      headers.emplace_back(std::move(key), std::move(canonical));
    else
      it->second += "," + canonical;
  }
  std::sort(headers.begin(), headers.end());
  std::string canonicalHeaders, signedHeaders;
  for (const auto& [name, value] : headers) {
    canonicalHeaders += name + ":" + value + "\n";
    if (!signedHeaders.empty()) signedHeaders += ';';
    signedHeaders += name;
  }
  std::string canonical = request.method + "\n" + uriEncode(request.path, false) + "\n" +
                          canonicalQuery(request.query) + "\n" + canonicalHeaders + "\n" + signedHeaders +
                          "\n" + request.payloadHash;
  SigningResult result = signCanonical(std::move(canonical), date);
  result.authorization = std::string(kAlgorithm) + " Credential=" + credentials_.accessKey + "/" +
                         scope(date) + ", SignedHeaders=" + signedHeaders + ", Signature=" + result.signature;
  return result;
}

std::string SigV4Signer::presignQuery(const std::string& method, const std::string& host,
                                      const std::string& path, std::string_view date,
                                      std::chrono::seconds expires) const {
  Parameters query{{"X-Amz-Algorithm", std::string(kAlgorithm)},
                   {"X-Amz-Credential", credentials_.accessKey + "/" + scope(date)},
                   {"X-Amz-Date", std::string(date)},
                   {"X-Amz-Expires", std::to_string(expires.count())},
                   {"X-Amz-SignedHeaders", "host"}};
  if (!credentials_.sessionToken.empty())
    query.emplace_back("X-Amz-Security-Token", credentials_.sessionToken);
  std::string canonicalQueryString = canonicalQuery(query);
  std::string canonical = method + "\n" + uriEncode(path, false) + "\n" + canonicalQueryString +
                          "\nhost:" + canonicalHeaderValue(host) + "\n\nhost\n" +
                          std::string(kUnsignedPayload);
  SigningResult result = signCanonical(std::move(canonical), date);
  return canonicalQueryString + "&X-Amz-Signature=" + result.signature;
}

} // namespace pier::s3
