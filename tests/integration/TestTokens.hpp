#pragma once

// Bearer tokens for the access controller tests, made the way a token
// service makes them: a JWS (compact form) signed with OpenSSL's EVP API,
// independent of the Poco::JWT code the server verifies with, and the key
// material a token names (x5c entries, JWKs, Distribution's key ids), which
// these helpers derive with the `openssl` command.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "PierProcess.hpp"

namespace pier::test {

// What the test token service issues tokens as, and what the registries under test are configured with.
inline const std::string kTokenIssuer = "pier-test-issuer";
inline const std::string kTokenService = "pier.test";
inline const std::string kTokenRealm = "https://auth.pier.test/token";

std::string base64Url(std::string_view bytes); // without padding

// base64url(header).base64url(claims).base64url(signature), signed with the
// PEM private key under alg: RS256/384/512, ES256/384/512 (r||s) or EdDSA.
std::string signJwt(const std::string& headerJson, const std::string& claimsJson,
                    const std::filesystem::path& privateKey, const std::string& alg);

// The certificate as an x5c entry: its DER in standard base64.
std::string x5cEntry(const std::filesystem::path& certificate);

// The public half of a PEM private key (RSA, EC P-256/P-384, Ed25519) as a
// JWK, with "kid" when kid is not empty.
std::string publicJwk(const std::filesystem::path& privateKey, const std::string& kid = {});

// The RFC 7638 thumbprint of that JWK.
std::string jwkThumbprint(const std::filesystem::path& privateKey);

// Distribution 2.x's kid for a key (libtrust's fingerprint): SHA-256 of the
// DER public key, 240 bits of it in base32, 12 groups of 4 joined by ':'.
std::string libtrustKeyId(const std::filesystem::path& privateKey);

// The claims of a token, as JSON, with times relative to now.
struct TokenClaims {
  explicit TokenClaims(std::vector<std::string> granted = {}) : scopes(std::move(granted)) {}

  std::vector<std::string> scopes; // granted, as in a challenge: "repository:lib/app:pull,push"
  std::string subject = "alice";
  std::string issuer = kTokenIssuer;
  std::string audienceJson = "\"" + kTokenService + "\"";
  std::optional<long long> expiresIn = 300, notBeforeIn = -5,
                           issuedIn = -5; // seconds from now; none when empty
  std::string accessJson;                 // replaces scopes when set
  std::string extraJson;                  // more members: ,"key":value

  std::string json() const;
};

// JWS headers naming the key by kid, or by an x5c chain (PEM certificates, leaf first).
std::string kidHeader(const std::string& alg, const std::string& kid);
std::string x5cHeader(const std::string& alg, const std::vector<std::filesystem::path>& chain);

// Authorization: Bearer <token>
std::map<std::string, std::string> bearer(const std::string& token);

// The first message of an error JSON body.
std::string errorMessage(const HttpResponse& response);

// The parameters of a `Bearer k="v",k="v"` challenge (unescaped); empty
// when the header is no Bearer challenge.
std::map<std::string, std::string> bearerChallenge(const std::string& wwwAuthenticate);

// 401 UNAUTHORIZED with the error JSON and exactly `Bearer realm,service[,scope][,error]`
// (no scope when scope is "", no error when error is "").
::testing::AssertionResult isChallenge(const HttpResponse& response, const std::string& scope,
                                       const std::string& error, const std::string& realm = kTokenRealm,
                                       const std::string& service = kTokenService);

} // namespace pier::test
