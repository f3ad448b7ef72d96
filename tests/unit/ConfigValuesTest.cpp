// The typed Config: what each section of a parsed file holds (ConfigTest.cpp
// has the parser, the environment overrides and the validation errors).
#include <chrono>
#include <string>
#include <vector>

#include "ConfigTestSupport.hpp"

using namespace std::chrono_literals;
using namespace pier::config_test;

// --- what the typed Config holds ----------------------------------------------------

TEST(ConfigValues, LayerInfoIsASynonymOfBlobDescriptor) {
  Config config = parse("version: 0.1\nstorage:\n  inmemory:\n  cache:\n    layerinfo: redis\n");
  EXPECT_EQ(config.storage.blobDescriptorCache, "redis");
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_STARTS_WITH(config.warnings[0], "storage.cache.layerinfo: deprecated");

  EXPECT_STARTS_WITH(errorOf("version: 0.1\nstorage:\n  inmemory:\n  cache:\n    layerinfo: redis\n    "
                             "blobdescriptor: inmemory\n"),
                     "storage.cache.layerinfo: ");
}

TEST(ConfigValues, BlobDescriptorNoneMeansNoCache) {
  Config config = parse("version: 0.1\nstorage:\n  inmemory:\n  cache:\n    blobdescriptor: none\n");
  EXPECT_EQ(config.storage.blobDescriptorCache, "");
}

TEST(ConfigValues, CacheParametersHoldTheRestOfTheCacheSection) {
  Config config = parse("version: 0.1\nstorage:\n  inmemory:\n  cache:\n    blobdescriptor: inmemory\n"
                        "    blobdescriptorsize: 10000\n");
  EXPECT_EQ(config.storage.blobDescriptorCache, "inmemory");
  EXPECT_FALSE(config.storage.cacheParameters->has("blobdescriptor"));
  EXPECT_EQ(config.storage.cacheParameters->getValue<int>("blobdescriptorsize"), 10000);
}

TEST(ConfigValues, Durations) {
  Config config = parse("version: 0.1\n"
                        "storage:\n"
                        "  inmemory:\n"
                        "  maintenance:\n"
                        "    uploadpurging:\n"
                        "      enabled: false\n"
                        "      age: 1m30s\n"
                        "      interval: 90\n" // a number of seconds
                        "      dryrun: true\n"
                        "http:\n"
                        "  draintimeout: 300ms\n"
                        "health:\n"
                        "  storagedriver:\n"
                        "    interval: 2h\n");
  const auto& purging = config.storage.uploadPurging;
  EXPECT_FALSE(purging.enabled);
  EXPECT_EQ(purging.age, 90s);
  EXPECT_EQ(purging.interval, 90s);
  EXPECT_TRUE(purging.dryRun);
  EXPECT_EQ(config.http.drainTimeout, 300ms);
  EXPECT_EQ(config.health.storageDriverInterval, 2h);
}

TEST(ConfigValues, HttpSection) {
  Config config = parse(kMinimal + "http:\n"
                                   "  addr: localhost:5000\n"
                                   "  net: unix\n"
                                   "  prefix: /my/registry/\n"
                                   "  host: https://registry.example.com\n"
                                   "  secret: s3cr3t\n"
                                   "  relativeurls: true\n"
                                   "  threads: 8\n"
                                   "  queue: 128\n"
                                   "  headers:\n"
                                   "    X-Content-Type-Options: [nosniff]\n"
                                   "    Strict-Transport-Security: [max-age=31536000, includeSubDomains]\n"
                                   "  tls:\n"
                                   "    certificate: /c.pem\n"
                                   "    key: /k.pem\n"
                                   "    clientcas: [/ca1.pem, /ca2.pem]\n"
                                   "    minimumtls: tls1.3\n"
                                   "  debug:\n"
                                   "    addr: localhost:5001\n"
                                   "    prometheus:\n"
                                   "      enabled: true\n"
                                   "      path: /prom\n");
  const auto& h = config.http;
  EXPECT_EQ(h.addr, "localhost:5000");
  EXPECT_EQ(h.net, "unix");
  EXPECT_EQ(h.prefix, "/my/registry/");
  EXPECT_EQ(h.host, "https://registry.example.com");
  EXPECT_EQ(h.secret, "s3cr3t");
  EXPECT_TRUE(h.relativeUrls);
  EXPECT_EQ(h.threads, 8);
  EXPECT_EQ(h.queue, 128);
  ASSERT_EQ(h.headers.size(), 2u); // in the file's order
  EXPECT_EQ(h.headers[0].first, "X-Content-Type-Options");
  EXPECT_EQ(h.headers[1].first, "Strict-Transport-Security");
  EXPECT_EQ(h.headers[1].second, (std::vector<std::string>{"max-age=31536000", "includeSubDomains"}));
  EXPECT_EQ(h.tls.certificate, "/c.pem");
  EXPECT_EQ(h.tls.key, "/k.pem");
  EXPECT_EQ(h.tls.clientCAs, (std::vector<std::string>{"/ca1.pem", "/ca2.pem"}));
  EXPECT_EQ(h.tls.minimumTls, "tls1.3");
  EXPECT_EQ(h.debug.addr, "localhost:5001");
  EXPECT_TRUE(h.debug.prometheusEnabled);
  EXPECT_EQ(h.debug.prometheusPath, "/prom");
}

TEST(ConfigValues, AuthNotificationsAndExtensions) {
  Config config = parse(kMinimal + "auth:\n"
                                   "  htpasswd:\n"
                                   "    realm: basic-realm\n"
                                   "    path: /auth/htpasswd\n"
                                   "notifications:\n"
                                   "  events:\n"
                                   "    includereferences: true\n"
                                   "  endpoints:\n"
                                   "    - name: listener\n"
                                   "      url: https://listener.example.com/event\n"
                                   "      timeout: 1s\n"
                                   "      threshold: 10\n"
                                   "      backoff: 1s\n"
                                   "      headers:\n"
                                   "        Authorization: [Bearer abc]\n"
                                   "plugins:\n"
                                   "  directory: /usr/lib/pier/plugins\n");
  ASSERT_TRUE(config.auth.has_value());
  EXPECT_EQ(config.auth->name, "htpasswd");
  EXPECT_EQ(config.auth->parameters->getValue<std::string>("path"), "/auth/htpasswd");
  EXPECT_TRUE(config.notifications.includeReferences);
  ASSERT_EQ(config.notifications.endpoints.size(), 1u);
  const auto& endpoint = config.notifications.endpoints[0];
  EXPECT_EQ(endpoint.name, "listener");
  EXPECT_EQ(endpoint.type, "webhook"); // the default sink
  EXPECT_EQ(endpoint.section->getValue<std::string>("type"), "webhook");
  EXPECT_EQ(endpoint.threshold, 10);
  EXPECT_EQ(config.plugins.directory, "/usr/lib/pier/plugins");
}

TEST(ConfigValues, EmptyAuthSectionMeansNoAuth) {
  EXPECT_FALSE(parse(kMinimal + "auth:\n").auth.has_value());
  EXPECT_FALSE(parse(kMinimal + "auth: {}\n").auth.has_value());
}

TEST(ConfigValues, DeprecatedLoglevel) {
  Config config = parse(kMinimal + "loglevel: warn\n");
  EXPECT_EQ(config.log.level, "warn");
  ASSERT_FALSE(config.warnings.empty());
  EXPECT_STARTS_WITH(config.warnings[0], "loglevel: ");
  // log.level wins over the deprecated key.
  EXPECT_EQ(parse(kMinimal + "loglevel: warn\nlog:\n  level: error\n").log.level, "error");
}

TEST(ConfigValues, MaintenanceAndRedirect) {
  Config config = parse("version: 0.1\n"
                        "storage:\n"
                        "  inmemory:\n"
                        "  redirect:\n"
                        "    disable: true\n"
                        "  maintenance:\n"
                        "    readonly:\n"
                        "      enabled: true\n"
                        "log:\n"
                        "  accesslog:\n"
                        "    disabled: true\n"
                        "  fields:\n"
                        "    service: registry\n");
  EXPECT_TRUE(config.storage.redirectDisabled);
  EXPECT_TRUE(config.storage.readOnly);
  EXPECT_TRUE(config.log.accessLogDisabled);
  EXPECT_EQ(config.log.fields->getValue<std::string>("service"), "registry");
}

// A configuration in the shape of Distribution's documentation, every section used.
TEST(ConfigValues, FullDistributionExampleParses) {
  const std::string yaml = R"(version: 0.1
log:
  accesslog:
    disabled: true
  level: debug
  formatter: text
  fields:
    service: registry
    environment: staging
  hooks:
    - type: mail
      disabled: true
      levels:
        - panic
      options:
        smtp:
          addr: mail.example.com:25
          username: mailuser
          password: password
          insecure: true
        from: sender@example.com
        to:
          - errors@example.com
storage:
  s3:
    accesskey: awsaccesskey
    secretkey: awssecretkey
    region: us-west-1
    regionendpoint: http://myobjects.local
    forcepathstyle: true
    bucket: bucketname
    encrypt: true
    secure: true
    v4auth: true
    chunksize: 5242880
    rootdirectory: /s3/object/name/prefix
  tag:
    concurrencylimit: 8
  delete:
    enabled: false
  redirect:
    disable: false
  cache:
    blobdescriptor: redis
    blobdescriptorsize: 10000
  maintenance:
    uploadpurging:
      enabled: true
      age: 168h
      interval: 24h
      dryrun: false
    readonly:
      enabled: false
auth:
  token:
    autoredirect: true
    realm: token-realm
    service: token-service
    issuer: registry-token-issuer
    rootcertbundle: /root/certs/bundle
    signingalgorithms:
        - EdDSA
        - HS256
middleware:
  storage:
    - name: redirect
      options:
        baseurl: https://example.com/
http:
  addr: localhost:5000
  net: tcp
  prefix: /my/nested/registry/
  host: https://myregistryaddress.org:5000
  secret: asecretforlocaldevelopment
  relativeurls: false
  draintimeout: 60s
  tls:
    certificate: /path/to/x509/public
    key: /path/to/x509/private
    clientcas:
      - /path/to/ca.pem
      - /path/to/another/ca.pem
    clientauth: require-and-verify-client-cert
    minimumtls: tls1.2
    ciphersuites:
      - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    letsencrypt:
      cachefile: /path/to/cache-file
      email: emailused@letsencrypt.com
      hosts: [myregistryaddress.org]
      directoryurl: https://acme-v02.api.letsencrypt.org/directory
  debug:
    addr: localhost:5001
    prometheus:
      enabled: true
      path: /metrics
  headers:
    X-Content-Type-Options: [nosniff]
  http2:
    disabled: false
  h2c:
    enabled: false
notifications:
  events:
    includereferences: true
  endpoints:
    - name: alistener
      disabled: false
      url: https://my.listener.com/event
      headers:
        Authorization: [Bearer abc]
      timeout: 1s
      threshold: 10
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
      ignore:
        mediatypes:
           - application/octet-stream
        actions:
           - pull
redis:
  addr: localhost:6379
  password: asecret
  db: 0
  dialtimeout: 10ms
  readtimeout: 10ms
  writetimeout: 10ms
  pool:
    maxidle: 16
    maxactive: 64
    idletimeout: 300s
  tls:
    enabled: false
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
  file:
    - file: /path/to/checked/file
      interval: 10s
  http:
    - uri: http://server.to.check/must/return/200
      headers:
        Authorization: [Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==]
      statuscode: 200
      timeout: 3s
      interval: 10s
      threshold: 3
  tcp:
    - addr: redis-server.domain.com:6379
      timeout: 3s
      interval: 10s
      threshold: 3
proxy:
  remoteurl: https://registry-1.docker.io
  username: username
  password: password
  ttl: 168h
validation:
  manifests:
    urls:
      allow:
        - ^https?://([^/]+\.)*example\.com/
      deny:
        - ^https?://www\.example\.com/
    indexes:
      platforms: List
      platformlist:
      - architecture: amd64
        os: linux
compatibility:
  schema1:
    enabled: false
)";
  TempFile file(yaml);
  Config config = pier::loadConfigFile(file.path(), {});
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_TRUE(config.log.accessLogDisabled);
  EXPECT_EQ(config.storage.driver.name, "s3");
  EXPECT_EQ(config.storage.driver.parameters->getValue<long long>("chunksize"), 5242880);
  EXPECT_TRUE(config.storage.driver.parameters->getValue<bool>("secure"));
  EXPECT_EQ(config.storage.blobDescriptorCache, "redis");
  EXPECT_FALSE(config.storage.deleteEnabled);
  ASSERT_TRUE(config.auth.has_value());
  EXPECT_EQ(config.auth->name, "token");
  EXPECT_EQ(config.auth->parameters->getArray("signingalgorithms")->size(), 2u);
  EXPECT_EQ(config.http.addr, "localhost:5000");
  EXPECT_EQ(config.http.drainTimeout, 60s);
  EXPECT_EQ(config.http.tls.clientCAs.size(), 2u);
  EXPECT_EQ(config.http.tls.minimumTls, "tls1.2");
  EXPECT_TRUE(config.notifications.includeReferences);
  ASSERT_EQ(config.notifications.endpoints.size(), 1u);
  EXPECT_EQ(config.notifications.endpoints[0].url, "https://my.listener.com/event");
  EXPECT_EQ(config.redis->getValue<std::string>("addr"), "localhost:6379");
  EXPECT_EQ(config.health.storageDriverThreshold, 3);
  ASSERT_EQ(config.proxy.upstreams.size(), 1u);
  EXPECT_EQ(config.proxy.upstreams[0].remoteUrl, "https://registry-1.docker.io");
  EXPECT_EQ(config.proxy.upstreams[0].prefix, "");
  EXPECT_EQ(config.proxy.upstreams[0].ttl, std::chrono::hours(168));
  EXPECT_EQ(
      config.validation->getObject("manifests")->getObject("indexes")->getValue<std::string>("platforms"),
      "list");
  // log.hooks and middleware are Distribution's, accepted and reported as ignored.
  EXPECT_EQ(config.warnings.size(), 2u);
}
