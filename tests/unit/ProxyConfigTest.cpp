// The proxy section (config/ProxyConfig) and the challenge parser of the
// pull-through cache's upstream client: what the integration tests cannot
// reach cheaply, every refusal naming its key.
#include <gtest/gtest.h>

#include "config/Config.hpp"
#include "pier/errors.hpp"
#include "proxy/UpstreamClient.hpp"

namespace {

using pier::Config;
using pier::ConfigError;

Config parse(const std::string& proxy) {
  return pier::parseConfig("version: 0.1\nstorage:\n  inmemory:\nproxy:\n" + proxy, {}, "test.yml");
}

std::string errorOf(const std::string& proxy) {
  try {
    parse(proxy);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << proxy;
  return {};
}

TEST(ProxyConfig, DistributionsSingleUpstreamServesEveryRepository) {
  Config config =
      parse("  remoteurl: https://registry-1.docker.io/\n  username: u\n  password: p\n  ttl: 5m\n");
  ASSERT_EQ(config.proxy.upstreams.size(), 1u);
  const auto& upstream = config.proxy.upstreams[0];
  EXPECT_EQ(upstream.prefix, "");
  EXPECT_EQ(upstream.remoteUrl, "https://registry-1.docker.io"); // without its trailing '/'
  EXPECT_EQ(upstream.username, "u");
  EXPECT_EQ(upstream.password, "p");
  EXPECT_EQ(upstream.ttl, std::chrono::minutes(5));
}

TEST(ProxyConfig, UpstreamsByPrefixLongestFirstAndTheCatchAllLast) {
  Config config = parse("  remoteurl: http://all.example\n"
                        "  upstreams:\n"
                        "    - prefix: a/\n      remoteurl: http://a.example\n"
                        "    - prefix: a/b/\n      remoteurl: http://ab.example\n      ttl: 0s\n"
                        "      cafile: /ca.pem\n");
  ASSERT_EQ(config.proxy.upstreams.size(), 3u);
  EXPECT_EQ(config.proxy.upstreams[0].prefix, "a/b/");
  EXPECT_EQ(config.proxy.upstreams[0].ttl, std::chrono::milliseconds(0));
  EXPECT_EQ(config.proxy.upstreams[0].caFile, "/ca.pem");
  EXPECT_EQ(config.proxy.upstreams[1].prefix, "a/");
  EXPECT_EQ(config.proxy.upstreams[1].ttl, std::chrono::hours(168)); // Distribution's default
  EXPECT_EQ(config.proxy.upstreams[2].prefix, "");
}

TEST(ProxyConfig, RefusalsNameTheKey) {
  EXPECT_EQ(errorOf("  remoteurl: registry-1.docker.io\n").rfind("proxy.remoteurl:", 0), 0u);
  EXPECT_EQ(errorOf("  remoteurl: http://x\n  ttl: later\n").rfind("proxy.ttl", 0), 0u);
  EXPECT_EQ(errorOf("  password: p\n").rfind("proxy.password: needs proxy.remoteurl", 0), 0u);
  EXPECT_EQ(errorOf("  remoteurl: http://x\n  remotenamespace: library\n").rfind("proxy.remotenamespace", 0),
            0u);
  for (const std::string prefix : {"hub", "/hub/", "Hub/", "hub//", "\"\""})
    EXPECT_EQ(errorOf("  upstreams:\n    - prefix: " + prefix + "\n      remoteurl: http://x\n")
                  .rfind("proxy.upstreams[0].prefix", 0),
              0u)
        << prefix;
  EXPECT_EQ(errorOf("  upstreams:\n    - prefix: a/\n      remoteurl: file:///x\n")
                .rfind("proxy.upstreams[0].remoteurl", 0),
            0u);
  EXPECT_EQ(errorOf("  upstreams:\n    - prefix: a/\n      remoteurl: http://x\n"
                    "    - prefix: a/\n      remoteurl: http://y\n")
                .rfind("proxy.upstreams[1].prefix: \"a/\" is given twice", 0),
            0u);
}

TEST(UpstreamChallenge, BearerAndBasicParameters) {
  auto bearer = pier::parseChallenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a\"b:pull")");
  EXPECT_EQ(bearer[""], "bearer");
  EXPECT_EQ(bearer["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(bearer["service"], "registry.docker.io");
  EXPECT_EQ(bearer["scope"], "repository:a\"b:pull");
  auto basic = pier::parseChallenge("basic realm=upstream, charset=\"UTF-8\"");
  EXPECT_EQ(basic[""], "basic");
  EXPECT_EQ(basic["realm"], "upstream");
  EXPECT_EQ(basic["charset"], "UTF-8");
  EXPECT_TRUE(pier::parseChallenge("Negotiate abc").empty());
  EXPECT_TRUE(pier::parseChallenge("").empty());
  EXPECT_EQ(pier::parseChallenge("Bearer realm=\"unterminated")["realm"], "unterminated");
}

} // namespace
