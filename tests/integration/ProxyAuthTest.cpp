// The pull-through cache against upstreams under access control, both real
// Pier servers: htpasswd (Basic) and the token controller, whose tokens come
// from a real token service (TokenService) as Docker Hub's do: the cache
// follows the Bearer challenge, fetches a token for the scope with its
// credentials, and reuses it.
#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "TestPki.hpp"
#include "TestTokens.hpp"
#include "TokenService.hpp"

namespace pier::test::api {
namespace {

std::string proxyOf(std::uint16_t port, const std::string& credentials) {
  return "proxy:\n  upstreams:\n    - prefix: hub/\n      remoteurl: http://127.0.0.1:" +
         std::to_string(port) + "\n" + credentials;
}

std::string credentialsOf(const std::string& user, const std::string& password) {
  return "      username: " + user + "\n      password: " + password + "\n";
}

// Pulls the image's manifest and blobs through the proxy; the first failure's status, or 200.
void expectPullThrough(std::uint16_t port, const Client::PushedImage& image) {
  Client client(port);
  auto manifest = client.get("/v2/hub/library/app/manifests/v1");
  ASSERT_EQ(manifest.status, 200) << manifest.body;
  EXPECT_EQ(manifest.body, image.manifest);
  EXPECT_EQ(client.get("/v2/hub/library/app/blobs/" + image.layer.digest).body, image.layer.bytes);
  EXPECT_EQ(client.get("/v2/hub/library/app/blobs/" + image.config.digest).body, image.config.bytes);
}

TEST(ProxyAuth, BasicCredentialsOfAnHtpasswdUpstream) {
  TempDir secrets, upstreamRoot;
  auto file = secrets / "htpasswd";
  ASSERT_EQ(runCommand("/usr/bin/htpasswd", {"-Bbc", file.string(), "mirror", "s3cret"}).exitCode, 0);
  PierServer upstream(filesystemConfig(
      upstreamRoot.path(), "auth:\n  htpasswd:\n    realm: upstream\n    path: " + file.string() + "\n"));
  Client origin(upstream.port(), {{"Authorization", basicAuthorization("mirror:s3cret")}});
  auto image = origin.pushImage("library/app", "v1", "layer bytes", "{}");

  TempDir root;
  PierServer proxy(
      filesystemConfig(root.path(), proxyOf(upstream.port(), credentialsOf("mirror", "s3cret"))));
  expectPullThrough(proxy.port(), image);

  TempDir anonymousRoot, wrongRoot;
  PierServer anonymous(filesystemConfig(anonymousRoot.path(), proxyOf(upstream.port(), "")));
  auto refused = Client(anonymous.port()).get("/v2/hub/library/app/manifests/v1");
  EXPECT_TRUE(isError(refused, 503, "UNAVAILABLE"));
  EXPECT_NE(errorMessage(refused).find("anonymous access"), std::string::npos) << refused.body;
  PierServer wrong(
      filesystemConfig(wrongRoot.path(), proxyOf(upstream.port(), credentialsOf("mirror", "nope"))));
  refused = Client(wrong.port()).get("/v2/hub/library/app/blobs/" + image.layer.digest);
  EXPECT_TRUE(isError(refused, 503, "UNAVAILABLE"));
  EXPECT_NE(errorMessage(refused).find("credentials"), std::string::npos) << refused.body;
}

class ProxyTokenAuth : public ::testing::Test {
protected:
  void SetUp() override {
    signer = makeCertificateAuthority(pki.path(), "signer", KeyType::ecP256);
    kid = libtrustKeyId(signer.key);
    service = std::make_unique<TokenService>(signer.key, "ES256", kid, "mirror", "s3cret");
    upstream = std::make_unique<PierServer>(filesystemConfig(
        upstreamRoot.path(), "auth:\n  token:\n    realm: " + service->realm() +
                                 "\n    service: " + kTokenService + "\n    issuer: " + kTokenIssuer +
                                 "\n    rootcertbundle: " + signer.certificate.string() + "\n"));
    std::string pusher =
        signJwt(kidHeader("ES256", kid), TokenClaims{{"repository:library/app:pull,push"}}.json(), signer.key,
                "ES256");
    image =
        Client(upstream->port(), bearer(pusher)).pushImage("library/app", "v1", "token layer", "{\"t\":1}");
  }

  TempDir pki, upstreamRoot, proxyRoot;
  Credential signer;
  std::string kid;
  std::unique_ptr<TokenService> service;
  std::unique_ptr<PierServer> upstream;
  Client::PushedImage image;
};

TEST_F(ProxyTokenAuth, FollowsTheBearerChallengeWithItsCredentialsAndReusesTheToken) {
  PierServer proxy(
      filesystemConfig(proxyRoot.path(), proxyOf(upstream->port(), credentialsOf("mirror", "s3cret"))));
  expectPullThrough(proxy.port(), image);
  auto requests = service->requests();
  // One token for the scope serves the manifest, the HEADs and the GETs of both blobs.
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].answered, 200);
  EXPECT_EQ(requests[0].authorization, basicAuthorization("mirror:s3cret"));
  EXPECT_NE(requests[0].query.find("scope=repository%3Alibrary%2Fapp%3Apull"), std::string::npos)
      << requests[0].query;
  EXPECT_NE(requests[0].query.find("service=" + kTokenService), std::string::npos) << requests[0].query;
}

TEST_F(ProxyTokenAuth, AnonymousTokenRequestsTheServiceRefusesAreUnavailable) {
  PierServer proxy(filesystemConfig(proxyRoot.path(), proxyOf(upstream->port(), "")));
  auto refused = Client(proxy.port()).get("/v2/hub/library/app/manifests/v1");
  EXPECT_TRUE(isError(refused, 503, "UNAVAILABLE"));
  EXPECT_NE(errorMessage(refused).find("token service"), std::string::npos) << refused.body;
  auto requests = service->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].authorization, "");
  EXPECT_EQ(requests[0].answered, 401);
}

} // namespace
} // namespace pier::test::api
