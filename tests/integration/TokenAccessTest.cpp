// The token access controller (auth/token) in the real server: tokens signed
// with RSA, EC P-256/P-384 and Ed25519 keys, found through x5c chains to the
// root bundle, kids of bundle keys and a JWKS file; every kind of bad token
// refused with 401 and a Bearer challenge; scopes, with the access records of
// each route; the granted subject in the access log.
#include <atomic>
#include <chrono>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "DistributionProcess.hpp"
#include "TestPki.hpp"
#include "TestTokens.hpp"

namespace pier::test::api {
namespace {

namespace fs = std::filesystem;

const std::string kIssuer = kTokenIssuer;
const std::string kService = kTokenService;
const std::string kRealm = kTokenRealm;

// The key types of the tests, the JWS algorithm each signs with, and a name for files and repositories.
struct KeyKind {
  KeyType type;
  std::string algorithm, name;
};
const KeyKind kKeyKinds[] = {{KeyType::rsa2048, "RS256", "rsa"},
                             {KeyType::ecP256, "ES256", "p256"},
                             {KeyType::ecP384, "ES384", "p384"},
                             {KeyType::ed25519, "EdDSA", "ed25519"}};
const KeyType kKeyTypes[] = {KeyType::rsa2048, KeyType::ecP256, KeyType::ecP384, KeyType::ed25519};

const KeyKind& kindOf(KeyType type) {
  for (const auto& kind : kKeyKinds)
    if (kind.type == type) return kind;
  throw std::logic_error("no such key kind");
}
std::string algorithmOf(KeyType type) {
  return kindOf(type).algorithm;
}
std::string nameOf(KeyType type) {
  return kindOf(type).name;
}

// The keys and certificates of the suite, made once (RSA keys take a while):
//   root (in the bundle) -> intermediate -> a leaf per key type: x5c chains
//   a self-signed certificate per key type in the bundle: keys by kid
//   a key per key type in the JWKS file, kid "jwks-<type>"
//   a CA that is not in the bundle, and a leaf of it
struct Pki {
  TempDir dir;
  Credential root, intermediate, strangerRoot, strangerLeaf;
  std::map<KeyType, Credential> leaves, bundleSigners;
  std::map<KeyType, fs::path> jwksKeys;
  fs::path bundle, jwks;

  Pki() {
    root = makeCertificateAuthority(dir.path(), "root");
    intermediate = issueCertificate(dir.path(), "intermediate", root, {.type = KeyType::ecP384, .ca = true});
    strangerRoot = makeCertificateAuthority(dir.path(), "stranger-root");
    strangerLeaf = issueCertificate(dir.path(), "stranger-leaf", strangerRoot);
    std::string bundleText = readFile(root.certificate);
    std::string keys;
    for (KeyType type : kKeyTypes) {
      leaves[type] = issueCertificate(dir.path(), "leaf-" + nameOf(type), intermediate, {.type = type});
      bundleSigners[type] = makeCertificateAuthority(dir.path(), "signer-" + nameOf(type), type);
      bundleText += readFile(bundleSigners[type].certificate);
      jwksKeys[type] = makePrivateKey(dir.path(), "jwks-" + nameOf(type), type);
      keys += (keys.empty() ? "" : ",") + publicJwk(jwksKeys[type], "jwks-" + nameOf(type));
    }
    bundle = dir / "bundle.pem";
    writeFile(bundle, bundleText);
    jwks = dir / "jwks.json";
    writeFile(jwks, "{\"keys\":[" + keys + "]}");
  }
};

std::string tokenConfig(const Pki& pki, const std::string& extra = {}) {
  return "auth:\n  token:\n    realm: " + kRealm + "\n    service: " + kService + "\n    issuer: " + kIssuer +
         "\n    rootcertbundle: " + pki.bundle.string() + "\n    jwks: " + pki.jwks.string() + "\n" + extra;
}

class TokenAccessTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    pki_ = new Pki;
    storage_ = new TempDir;
    server_ = new PierServer(filesystemConfig(storage_->path(), tokenConfig(*pki_)));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete storage_;
    delete pki_;
  }

  static std::string viaKid(KeyType type, const std::string& kid, const TokenClaims& claims) {
    return signJwt(kidHeader(algorithmOf(type), kid), claims.json(), pki_->bundleSigners.at(type).key,
                   algorithmOf(type));
  }
  // A token of the P-256 bundle signer, by its libtrust kid.
  static std::string token(const TokenClaims& claims) {
    return viaKid(KeyType::ecP256, libtrustKeyId(pki_->bundleSigners.at(KeyType::ecP256).key), claims);
  }
  static Client clientWith(const std::string& token) { return Client(server_->port(), bearer(token)); }

  static Pki* pki_;
  static TempDir* storage_;
  static PierServer* server_;
  Client anonymous{server_->port()};
};

Pki* TokenAccessTest::pki_ = nullptr;
TempDir* TokenAccessTest::storage_ = nullptr;
PierServer* TokenAccessTest::server_ = nullptr;

TEST_F(TokenAccessTest, EveryKeyTypeSignsThroughAnX5cChainToTheBundle) {
  for (KeyType type : kKeyTypes) {
    SCOPED_TRACE(algorithmOf(type));
    std::string repo = "x5c/" + nameOf(type);
    std::string jwt = signJwt(
        x5cHeader(algorithmOf(type), {pki_->leaves[type].certificate, pki_->intermediate.certificate}),
        TokenClaims{{"repository:" + repo + ":pull,push"}}.json(), pki_->leaves[type].key, algorithmOf(type));
    Client client = clientWith(jwt);
    Content blob = makeContent("signed with " + algorithmOf(type));
    client.pushBlob(repo, blob);
    EXPECT_EQ(client.get("/v2/" + repo + "/blobs/" + blob.digest).body, blob.bytes);
  }
  // RSA keys sign with SHA-384 and SHA-512 too.
  for (std::string alg : {"RS384", "RS512"}) {
    const Credential& leaf = pki_->leaves[KeyType::rsa2048];
    std::string jwt = signJwt(x5cHeader(alg, {leaf.certificate, pki_->intermediate.certificate}),
                              TokenClaims{{"registry:catalog:*"}}.json(), leaf.key, alg);
    EXPECT_EQ(clientWith(jwt).get("/v2/_catalog").status, 200) << alg;
  }
}

TEST_F(TokenAccessTest, KidNamesABundleKeyByLibtrustIdOrJwkThumbprint) {
  for (KeyType type : kKeyTypes) {
    SCOPED_TRACE(algorithmOf(type));
    const fs::path& key = pki_->bundleSigners[type].key;
    for (const std::string& kid : {libtrustKeyId(key), jwkThumbprint(key)}) {
      auto response = clientWith(viaKid(type, kid, TokenClaims{{"registry:catalog:*"}})).get("/v2/_catalog");
      EXPECT_EQ(response.status, 200) << kid << ": " << response.body;
    }
  }
}

TEST_F(TokenAccessTest, KidNamesAJwksKeyByItsKidOrThumbprint) {
  for (KeyType type : kKeyTypes) {
    SCOPED_TRACE(algorithmOf(type));
    const fs::path& key = pki_->jwksKeys[type];
    for (const std::string& kid : {"jwks-" + nameOf(type), jwkThumbprint(key)}) {
      std::string jwt = signJwt(kidHeader(algorithmOf(type), kid), TokenClaims{{"registry:catalog:*"}}.json(),
                                key, algorithmOf(type));
      auto response = clientWith(jwt).get("/v2/_catalog");
      EXPECT_EQ(response.status, 200) << kid << ": " << response.body;
    }
  }
}

TEST_F(TokenAccessTest, WithoutABearerTokenTheChallengeCarriesNoError) {
  EXPECT_TRUE(isChallenge(anonymous.get("/v2/"), "", ""));
  EXPECT_TRUE(isChallenge(anonymous.get("/v2/lib/app/tags/list"), "repository:lib/app:pull", ""));
  for (std::string authorization : {"Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer ", "Token abc"}) {
    auto response = anonymous.request("GET", "/v2/lib/app/tags/list", {}, {{"Authorization", authorization}});
    EXPECT_TRUE(isChallenge(response, "repository:lib/app:pull", "")) << authorization;
  }
}

TEST_F(TokenAccessTest, EveryBadTokenIsAChallengeSayingWhy) {
  const std::string scope = "repository:lib/app:pull";
  const TokenClaims good{{scope}};
  const fs::path& p256 = pki_->bundleSigners[KeyType::ecP256].key;
  const std::string p256Kid = libtrustKeyId(p256);
  const std::string rsaKid = libtrustKeyId(pki_->bundleSigners[KeyType::rsa2048].key);
  const Credential& leaf = pki_->leaves[KeyType::ecP256];
  std::string valid = token(good);
  std::string claimsOfValid = valid.substr(valid.find('.') + 1, valid.rfind('.') - valid.find('.') - 1);

  auto with = [&](auto change) {
    TokenClaims claims = good;
    change(claims);
    return token(claims);
  };
  struct Case {
    std::string what, token, reason;
  } cases[] = {
      {"two segments", "abc.def", "three segments"},
      {"four segments", valid + ".xyz", "three segments"},
      {"not base64url", "%%%." + claimsOfValid + ".abc", "header is not base64url"},
      {"header not JSON", base64Url("nope") + "." + claimsOfValid + ".abc", "header is not a JSON object"},
      {"header an array", base64Url("[1]") + "." + claimsOfValid + ".abc", "header is not a JSON object"},
      {"claims not JSON", base64Url(kidHeader("ES256", p256Kid)) + "." + base64Url("{") + ".abc",
       "claims segment is not a JSON object"},
      {"expired", with([](TokenClaims& c) { c.expiresIn = -3600; }), "expired (exp)"},
      {"no expiry", with([](TokenClaims& c) { c.expiresIn.reset(); }), "no expiry (exp)"},
      {"not valid yet", with([](TokenClaims& c) { c.notBeforeIn = 3600; }), "not valid yet (nbf)"},
      {"issued in the future", with([](TokenClaims& c) { c.issuedIn = 3600; }), "issued in the future (iat)"},
      {"exp a string", with([](TokenClaims& c) {
         c.expiresIn.reset();
         c.extraJson = ",\"exp\":\"soon\"";
       }),
       "exp is not a number"},
      {"wrong audience", with([](TokenClaims& c) { c.audienceJson = "\"other.service\""; }),
       "another service"},
      {"wrong audiences", with([](TokenClaims& c) { c.audienceJson = "[\"a\",\"b\"]"; }), "another service"},
      {"no audience", with([](TokenClaims& c) { c.audienceJson = "null"; }), "another service"},
      {"wrong issuer", with([](TokenClaims& c) { c.issuer = "someone-else"; }), "another issuer"},
      {"access not a list", with([](TokenClaims& c) { c.accessJson = "\"everything\""; }), "not an array"},
      {"unknown kid", signJwt(kidHeader("ES256", "NOPE:NOPE"), good.json(), p256, "ES256"),
       "kid names no trusted key"},
      {"no kid, no x5c", signJwt("{\"alg\":\"ES256\"}", good.json(), p256, "ES256"), "neither x5c nor kid"},
      {"alg none", base64Url("{\"alg\":\"none\"}") + "." + claimsOfValid + ".", "alg none"},
      {"alg none, signed",
       base64Url("{\"alg\":\"none\",\"kid\":\"" + p256Kid + "\"}") + "." + claimsOfValid + ".c2ln",
       "alg none"},
      // The classic confusion: an HMAC keyed with the public key.
      {"HS256", base64Url(kidHeader("HS256", rsaKid)) + "." + claimsOfValid + ".c2lnbmF0dXJl",
       "alg HS256 is not accepted"},
      {"no alg", base64Url("{\"kid\":\"" + p256Kid + "\"}") + "." + claimsOfValid + ".c2ln", "no alg"},
      {"ES384 with a P-256 key", signJwt(kidHeader("ES384", p256Kid), good.json(), p256, "ES384"),
       "does not fit"},
      {"RS256 with an EC key", base64Url(kidHeader("RS256", p256Kid)) + "." + claimsOfValid + ".c2ln",
       "does not fit"},
      {"signature of other claims",
       valid.substr(0, valid.find('.') + 1) + base64Url(TokenClaims{{"repository:lib/app:*"}}.json()) +
           valid.substr(valid.rfind('.')),
       "signature does not verify"},
      {"signed by another key", signJwt(kidHeader("ES256", p256Kid), good.json(), leaf.key, "ES256"),
       "signature does not verify"},
      {"no signature", valid.substr(0, valid.rfind('.') + 1), "no signature"},
      {"ES256 signature cut short", valid.substr(0, valid.size() - 4), "signature does not verify"},
      {"critical extension",
       signJwt("{\"alg\":\"ES256\",\"kid\":\"" + p256Kid + "\",\"crit\":[\"exp\"]}", good.json(), p256,
               "ES256"),
       "crit"},
      {"x5c to a CA outside the bundle",
       signJwt(x5cHeader("ES256", {pki_->strangerLeaf.certificate, pki_->strangerRoot.certificate}),
               good.json(), pki_->strangerLeaf.key, "ES256"),
       "does not verify to a certificate of the bundle"},
      {"x5c without its intermediate",
       signJwt(x5cHeader("ES256", {leaf.certificate}), good.json(), leaf.key, "ES256"),
       "does not verify to a certificate of the bundle"},
      {"x5c of another key",
       signJwt(x5cHeader("ES256", {leaf.certificate, pki_->intermediate.certificate}), good.json(), p256,
               "ES256"),
       "signature does not verify"},
      {"x5c not base64", base64Url("{\"alg\":\"ES256\",\"x5c\":[\"!!\"]}") + "." + claimsOfValid + ".c2ln",
       "x5c entries"},
      {"x5c not DER", base64Url("{\"alg\":\"ES256\",\"x5c\":[\"AAAA\"]}") + "." + claimsOfValid + ".c2ln",
       "not a DER certificate"},
      {"x5c a string", base64Url("{\"alg\":\"ES256\",\"x5c\":\"AAAA\"}") + "." + claimsOfValid + ".c2ln",
       "not an array"},
      {"a JWKS kid, another key", signJwt(kidHeader("ES256", "jwks-p256"), good.json(), p256, "ES256"),
       "signature does not verify"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto response = clientWith(c.token).get("/v2/lib/app/tags/list");
    EXPECT_TRUE(isChallenge(response, scope, "invalid_token"));
    EXPECT_NE(errorMessage(response).find(c.reason), std::string::npos) << errorMessage(response);
  }
  // The same good token is still accepted after all that: the repository is simply unknown.
  EXPECT_TRUE(isError(clientWith(valid).get("/v2/lib/app/tags/list"), 404, "NAME_UNKNOWN"));
}

TEST_F(TokenAccessTest, AnAlteredTokenIsRefusedOrHarmlessNeverAServerError) {
  std::string valid = token(TokenClaims{{"repository:lib/app:pull"}});
  // Accepted first, so its signature is remembered: an altered copy is verified on its own.
  ASSERT_EQ(anonymous.request("GET", "/v2/lib/app/tags/list", {}, bearer(valid)).status, 404);
  const std::string replacements = "A_-.=/+%\" ";
  int refused = 0;
  for (std::size_t i = 0; i < valid.size(); i += 3) {
    std::string altered = valid;
    altered[i] = replacements[i % replacements.size()];
    if (altered == valid) continue;
    auto response = anonymous.request("GET", "/v2/lib/app/tags/list", {}, bearer(altered));
    // A change in the padding bits of the last character decodes to the same bytes: still the valid token.
    ASSERT_TRUE(response.status == 401 || response.status == 404) << i << ": " << response.status;
    refused += response.status == 401;
  }
  EXPECT_GT(refused, int(valid.size() / 3) - 3);
  EXPECT_EQ(anonymous.get("/debug/health").status, 200);
}

TEST_F(TokenAccessTest, ATokenGrantingTooLittleIsAnInsufficientScopeChallenge) {
  Client reader = clientWith(token(TokenClaims{{"repository:lib/app:pull", "repository:lib/other:push"}}));
  auto push = reader.request("POST", "/v2/lib/app/blobs/uploads/");
  EXPECT_TRUE(isChallenge(push, "repository:lib/app:push", "insufficient_scope"));
  EXPECT_NE(errorMessage(push).find("does not grant repository:lib/app:push"), std::string::npos);
  EXPECT_TRUE(
      isChallenge(reader.get("/v2/lib/else/tags/list"), "repository:lib/else:pull", "insufficient_scope"));
  // Another type with the same name grants nothing.
  Client registryOnly = clientWith(token(TokenClaims{{"registry:lib/app:pull"}}));
  EXPECT_TRUE(isChallenge(registryOnly.get("/v2/lib/app/tags/list"), "repository:lib/app:pull",
                          "insufficient_scope"));
  // A token with no access at all still opens the base endpoint.
  EXPECT_EQ(clientWith(token(TokenClaims{})).get("/v2/").status, 200);
}

TEST_F(TokenAccessTest, ACrossRepositoryMountIsChallengedForBothRepositories) {
  Client writer = clientWith(token(TokenClaims{{"repository:mount/source:pull,push"}}));
  Content blob = makeContent("mounted by token");
  writer.pushBlob("mount/source", blob);
  const std::string mount = "/v2/mount/target/blobs/uploads/?mount=" + blob.digest + "&from=mount/source";
  const std::string both = "repository:mount/target:push repository:mount/source:pull";
  EXPECT_TRUE(isChallenge(anonymous.request("POST", mount), both, ""));
  Client targetOnly = clientWith(token(TokenClaims{{"repository:mount/target:push"}}));
  EXPECT_TRUE(isChallenge(targetOnly.request("POST", mount), both, "insufficient_scope"));
  Client mounter =
      clientWith(token(TokenClaims{{"repository:mount/target:push", "repository:mount/source:pull"}}));
  EXPECT_EQ(mounter.request("POST", mount).status, 201);
}

TEST_F(TokenAccessTest, TheCatalogNeedsRegistryCatalogStar) {
  EXPECT_TRUE(isChallenge(anonymous.get("/v2/_catalog"), "registry:catalog:*", ""));
  auto pullOnly = clientWith(token(TokenClaims{{"registry:catalog:pull"}})).get("/v2/_catalog");
  EXPECT_TRUE(isChallenge(pullOnly, "registry:catalog:*", "insufficient_scope"));
  EXPECT_EQ(clientWith(token(TokenClaims{{"registry:catalog:*"}})).get("/v2/_catalog").status, 200);
}

TEST_F(TokenAccessTest, DeleteNeedsDeleteAndStarGrantsEveryAction) {
  Client pusher = clientWith(token(TokenClaims{{"repository:del/app:pull,push"}}));
  auto [layer, config, manifest, digest] =
      pusher.pushImage("del/app", "v1", "layer to delete", "{\"delete\":true}");
  EXPECT_TRUE(isChallenge(pusher.del("/v2/del/app/manifests/" + digest), "repository:del/app:delete",
                          "insufficient_scope"));
  Client deleter = clientWith(token(TokenClaims{{"repository:del/app:delete"}}));
  EXPECT_EQ(deleter.del("/v2/del/app/blobs/" + layer.digest).status, 202);
  // "*" grants pull, push and delete.
  Client owner = clientWith(token(TokenClaims{{"repository:del/app:*"}}));
  EXPECT_EQ(owner.get("/v2/del/app/manifests/v1").status, 200);
  owner.pushBlob("del/app", layer);
  EXPECT_EQ(owner.del("/v2/del/app/manifests/" + digest).status, 202);
  EXPECT_TRUE(isError(owner.get("/v2/del/app/manifests/" + digest), 404, "MANIFEST_UNKNOWN"));
}

TEST_F(TokenAccessTest, AudienceMayBeAListAndClocksMaySkewALittle) {
  TokenClaims listed{{"registry:catalog:*"}};
  listed.audienceJson = "[\"other\",\"" + kService + "\"]";
  EXPECT_EQ(clientWith(token(listed)).get("/v2/_catalog").status, 200);
  // Within the 60 s leeway of exp, nbf and iat.
  TokenClaims skewed{{"registry:catalog:*"}};
  skewed.expiresIn = -20;
  skewed.notBeforeIn = 20;
  skewed.issuedIn = 20;
  EXPECT_EQ(clientWith(token(skewed)).get("/v2/_catalog").status, 200);
}

// The controller remembers a signature that verified; it reads and checks
// the claims of every use, so a remembered token still expires on time.
TEST_F(TokenAccessTest, ARememberedTokenStillExpiresOnTime) {
  TokenClaims claims{{"registry:catalog:*"}};
  claims.expiresIn = -55; // within the 60 s leeway for 5 s more
  Client client = clientWith(token(claims));
  ASSERT_EQ(client.get("/v2/_catalog").status, 200);
  ASSERT_EQ(client.get("/v2/_catalog").status, 200); // the remembered signature
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  HttpResponse response = client.get("/v2/_catalog");
  while (response.status == 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    response = client.get("/v2/_catalog");
  }
  EXPECT_TRUE(isChallenge(response, "registry:catalog:*", "invalid_token")) << response.status;
  EXPECT_NE(errorMessage(response).find("expired (exp)"), std::string::npos) << errorMessage(response);
}

TEST_F(TokenAccessTest, TheSubjectIsTheUserInTheAccessLog) {
  TokenClaims claims{{"repository:log/app:pull,push"}};
  claims.subject = "carol";
  Client carol = clientWith(token(claims));
  carol.pushBlob("log/app", makeContent("carol's layer"));
  EXPECT_TRUE(std::regex_search(
      server_->log(),
      std::regex(R"(msg=request method=POST path=/v2/log/app/blobs/uploads/ status=201 .*user=carol)")))
      << server_->log();
  // A refused token is logged with its reason.
  TokenClaims expired{{"repository:log/app:pull"}};
  expired.expiresIn = -3600;
  clientWith(token(expired)).get("/v2/log/app/tags/list");
  EXPECT_NE(server_->log().find("token refused: the token has expired (exp)"), std::string::npos);
}

// Requests on many connections at once share the controller's keys: each
// gets its own answer (tokens of every key type, good and expired).
TEST_F(TokenAccessTest, ConcurrentRequestsEachGetTheirOwnAnswer) {
  std::vector<std::pair<std::string, int>> tokens; // token, status
  for (KeyType type : kKeyTypes) {
    TokenClaims good{{"registry:catalog:*"}}, expired{{"registry:catalog:*"}};
    expired.expiresIn = -3600;
    const fs::path& key = pki_->bundleSigners[type].key;
    tokens.emplace_back(viaKid(type, libtrustKeyId(key), good), 200);
    tokens.emplace_back(viaKid(type, libtrustKeyId(key), expired), 401);
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 24; ++i) {
        const auto& [jwt, status] = tokens[std::size_t(t + i) % tokens.size()];
        if (httpRequest(server_->port(), "GET", "/v2/_catalog", {}, bearer(jwt)).status != status) ++wrong;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// The resources ("type:name") a scope names, in any order: Distribution's
// order follows a Go map, and it asks pull and push for writes where Pier asks push.
std::set<std::string> resourcesOf(const std::string& scope) {
  std::set<std::string> resources;
  std::istringstream in(scope);
  for (std::string item; in >> item;) resources.insert(item.substr(0, item.rfind(':')));
  return resources;
}

// Distribution 2.8 (Debian's docker-registry) takes the very tokens Pier
// takes: the libtrust kid and the x5c chains are Distribution's own, and both
// refuse and challenge alike.
TEST_F(TokenAccessTest, DistributionTakesTheSameTokens) {
  if (!DistributionServer::available()) GTEST_SKIP() << "docker-registry is not installed";
  // Distribution 2.8 refuses a bundle with an Ed25519 certificate (libtrust has no such keys).
  fs::path bundle = pki_->dir / "bundle-distribution.pem";
  writeFile(bundle, readFile(pki_->root.certificate) +
                        readFile(pki_->bundleSigners[KeyType::rsa2048].certificate) +
                        readFile(pki_->bundleSigners[KeyType::ecP256].certificate));
  TempDir storage;
  DistributionServer distribution(
      storage.path(), "auth:\n  token:\n    realm: " + kRealm + "\n    service: " + kService +
                          "\n    issuer: " + kIssuer + "\n    rootcertbundle: " + bundle.string() + "\n");
  const TokenClaims catalog{{"registry:catalog:*"}};
  std::vector<std::pair<std::string, std::string>> tokens{
      {"RSA by kid",
       viaKid(KeyType::rsa2048, libtrustKeyId(pki_->bundleSigners[KeyType::rsa2048].key), catalog)},
      {"P-256 by kid",
       viaKid(KeyType::ecP256, libtrustKeyId(pki_->bundleSigners[KeyType::ecP256].key), catalog)},
  };
  for (KeyType type : {KeyType::rsa2048, KeyType::ecP384}) {
    const Credential& leaf = pki_->leaves[type];
    tokens.emplace_back(
        nameOf(type) + " by x5c",
        signJwt(x5cHeader(algorithmOf(type), {leaf.certificate, pki_->intermediate.certificate}),
                catalog.json(), leaf.key, algorithmOf(type)));
  }
  for (const auto& [what, jwt] : tokens) {
    SCOPED_TRACE(what);
    EXPECT_EQ(httpRequest(distribution.port(), "GET", "/v2/_catalog", {}, bearer(jwt)).status, 200)
        << distribution.log();
    EXPECT_EQ(clientWith(jwt).get("/v2/_catalog").status, 200);
  }
  TokenClaims expired = catalog;
  expired.expiresIn = -3600;
  auto refused = httpRequest(distribution.port(), "GET", "/v2/_catalog", {}, bearer(token(expired)));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(bearerChallenge(refused.header("WWW-Authenticate")),
            bearerChallenge(clientWith(token(expired)).get("/v2/_catalog").header("WWW-Authenticate")));
  const std::string mount = "/v2/lib/app/blobs/uploads/?mount=" + sha256Of("m") + "&from=src/x";
  auto theirs = bearerChallenge(httpRequest(distribution.port(), "POST", mount).header("WWW-Authenticate"));
  auto ours = bearerChallenge(anonymous.request("POST", mount).header("WWW-Authenticate"));
  EXPECT_EQ(resourcesOf(theirs["scope"]), resourcesOf(ours["scope"]));
  EXPECT_EQ(resourcesOf(ours["scope"]), (std::set<std::string>{"repository:lib/app", "repository:src/x"}));
  theirs.erase("scope"), ours.erase("scope");
  EXPECT_EQ(theirs, ours);
}

// --- configuration -----------------------------------------------------------

class TokenConfigTest : public ::testing::Test {
protected:
  TempDir dir;
  Credential ca = makeCertificateAuthority(dir.path(), "config-ca");

  // `pier serve` with auth.token set to these lines; it should not start.
  CommandResult serve(const std::string& tokenLines) {
    writeFile(dir / "config.yml", filesystemConfig(dir / "storage", "auth:\n  token:\n" + tokenLines));
    return runPier({"serve", (dir / "config.yml").string()}, {}, {}, std::chrono::seconds(20));
  }
  std::string required() const {
    return "    realm: " + kRealm + "\n    service: " + kService + "\n    issuer: " + kIssuer + "\n";
  }
};

TEST_F(TokenConfigTest, StartupErrorsNameTheKey) {
  writeFile(dir / "empty.pem", "");
  writeFile(dir / "garbage.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  writeFile(dir / "bad.json",
            "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"AAAA\", \"y\": \"AAAA\"}]}");
  writeFile(dir / "empty.json", "{\"keys\": []}");
  const std::string bundle = "    rootcertbundle: " + ca.certificate.string() + "\n";
  struct Case {
    std::string lines, expected;
  } cases[] = {
      {required(), "auth.token.rootcertbundle: is required"},
      {required() + "    rootcertbundle: " + (dir / "missing.pem").string() + "\n",
       "auth.token.rootcertbundle: cannot read"},
      {required() + "    rootcertbundle: " + (dir / "empty.pem").string() + "\n",
       "auth.token.rootcertbundle:"},
      {required() + "    rootcertbundle: " + (dir / "garbage.pem").string() + "\n",
       "auth.token.rootcertbundle: cannot parse certificate 1"},
      {required() + "    jwks: " + (dir / "bad.json").string() + "\n", "auth.token.jwks: keys[0]"},
      {required() + "    jwks: " + (dir / "empty.json").string() + "\n", "auth.token.jwks:"},
      {"    service: " + kService + "\n    issuer: " + kIssuer + "\n" + bundle,
       "auth.token.realm: is required"},
      {"    realm: " + kRealm + "\n    issuer: " + kIssuer + "\n" + bundle,
       "auth.token.service: is required"},
      {"    realm: " + kRealm + "\n    service: " + kService + "\n" + bundle,
       "auth.token.issuer: is required"},
      {required() + bundle + "    rootcertbundel: x\n", "auth.token.rootcertbundel: unknown parameter"},
      {required() + bundle + "    signingalgorithms: [HS256]\n", "auth.token.signingalgorithms: \"HS256\""},
      {required() + bundle + "    autoredirect: yes please\n",
       "auth.token.autoredirect: must be true or false"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expected);
    CommandResult result = serve(c.lines);
    EXPECT_EQ(result.exitCode, 1);
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << result.output;
  }
}

TEST_F(TokenConfigTest, AutoredirectTakesTheRealmFromTheHostAndSigningAlgorithmsNarrowTheChoice) {
  std::string kid = libtrustKeyId(ca.key);
  TempDir storage;
  PierServer server(filesystemConfig(
      storage.path(), "auth:\n  token:\n" + required() + "    rootcertbundle: " + ca.certificate.string() +
                          "\n    autoredirect: true\n    signingalgorithms: [ES256, EdDSA]\n"));
  Client anonymous(server.port());
  auto response = anonymous.request("GET", "/v2/", {}, {{"Host", "registry.example:5000"}});
  EXPECT_TRUE(isChallenge(response, "", "", "https://registry.example:5000/auth/token"));
  response =
      anonymous.request("GET", "/v2/", {}, {{"Host", "registry.example"}, {"X-Forwarded-Proto", "http"}});
  EXPECT_TRUE(isChallenge(response, "", "", "http://registry.example/auth/token"));

  std::string es256 = signJwt(kidHeader("ES256", kid), TokenClaims{}.json(), ca.key, "ES256");
  EXPECT_EQ(anonymous.request("GET", "/v2/", {}, bearer(es256)).status, 200);
  // An RSA key of the bundle would verify RS256, had the config allowed it.
  Credential rsa = makeCertificateAuthority(dir.path(), "rsa-ca", KeyType::rsa2048);
  std::string rs256 =
      signJwt(kidHeader("RS256", libtrustKeyId(rsa.key)), TokenClaims{}.json(), rsa.key, "RS256");
  response = anonymous.request("GET", "/v2/", {}, bearer(rs256));
  EXPECT_TRUE(isChallenge(response, "", "invalid_token",
                          "https://127.0.0.1:" + std::to_string(server.port()) + "/auth/token"));
  EXPECT_NE(errorMessage(response).find("alg RS256 is not accepted"), std::string::npos)
      << errorMessage(response);
}

} // namespace
} // namespace pier::test::api
