// The schema's table: every key of the registry configuration, its type,
// range, default and warning (ConfigSchema.hpp says what a Node means).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/ConfigSchema.hpp"

namespace pier::configschema {

namespace {

using NodePtr = std::shared_ptr<const Node>;
using Fields = std::vector<std::pair<std::string, NodePtr>>;

// --- building the schema -----------------------------------------------------

NodePtr make(Node node) {
  return std::make_shared<const Node>(std::move(node));
}

NodePtr any() {
  return make(Node{});
}

NodePtr string(std::vector<std::string> choices = {}) {
  Node node;
  node.kind = Kind::String;
  node.choices = std::move(choices);
  return make(std::move(node));
}

NodePtr boolean() {
  Node node;
  node.kind = Kind::Bool;
  return make(std::move(node));
}

NodePtr integer(long long minimum = 0, long long maximum = 2147483647) {
  Node node;
  node.kind = Kind::Int;
  node.minimum = minimum;
  node.maximum = maximum;
  return make(std::move(node));
}

NodePtr duration() {
  Node node;
  node.kind = Kind::Duration;
  return make(std::move(node));
}

NodePtr list(NodePtr element) {
  Node node;
  node.kind = Kind::List;
  node.element = std::move(element);
  return make(std::move(node));
}

NodePtr stringList() {
  return list(string());
}

NodePtr map(NodePtr element) {
  Node node;
  node.kind = Kind::Map;
  node.element = std::move(element);
  return make(std::move(node));
}

// HTTP headers, as http.Header: each name maps to a list of values.
NodePtr headers() {
  return map(stringList());
}

NodePtr section(Fields fields, std::vector<std::string> required = {}) {
  Node node;
  node.kind = Kind::Section;
  node.fields = std::move(fields);
  node.required = std::move(required);
  return make(std::move(node));
}

// A section whose other keys go, unchecked, to a plugin.
NodePtr openSection(Fields fields) {
  Node node;
  node.kind = Kind::Section;
  node.fields = std::move(fields);
  node.openKeys = true;
  return make(std::move(node));
}

NodePtr plugins(std::string pluginKind, bool required, Fields fields) {
  Node node;
  node.kind = Kind::Plugins;
  node.pluginKind = std::move(pluginKind);
  node.pluginRequired = required;
  node.fields = std::move(fields);
  return make(std::move(node));
}

NodePtr withWarning(const NodePtr& base, std::string warning) {
  Node node = *base;
  node.warning = std::move(warning);
  return make(std::move(node));
}

NodePtr withDefault(const NodePtr& base, std::string value) {
  Node node = *base;
  node.defaultString = std::move(value);
  return make(std::move(node));
}

const std::vector<std::string> kLogLevels = {"error", "warn", "info", "debug"};

} // namespace

std::shared_ptr<const Node> buildSchema() {
  NodePtr log = section({
      {"level", string(kLogLevels)},
      {"formatter", string({"text", "json", "logstash"})},
      {"fields", map(any())},
      {"accesslog", section({{"disabled", boolean()}})},
      {"reportcaller", boolean()},
      {"hooks", withWarning(list(any()), "log hooks are not supported by Pier; ignored")},
  });

  NodePtr storage = plugins(
      "storage driver", true,
      {
          {"cache", openSection({
                        {"blobdescriptor", string()},
                        {"blobdescriptorsize", integer()},
                        {"layerinfo", withWarning(string(), "deprecated, use storage.cache.blobdescriptor")},
                    })},
          {"delete", section({{"enabled", boolean()}})},
          {"redirect", section({{"disable", boolean()}, {"expiry", duration()}})},
          {"mount", section({{"automatic", boolean()}})}, // Pier extension
          {"maintenance", section({
                              {"uploadpurging", section({
                                                    {"enabled", boolean()},
                                                    {"age", duration()},
                                                    {"interval", duration()},
                                                    {"dryrun", boolean()},
                                                })},
                              {"readonly", section({{"enabled", boolean()}})},
                              {"gc", section({{"enabled", boolean()}, // Pier extension
                                              {"interval", duration()},
                                              {"grace", duration()},
                                              {"deleteuntagged", boolean()},
                                              {"dryrun", boolean()}})},
                          })},
          {"tag", section({{"concurrencylimit", integer()}})},
      });

  NodePtr middlewareEntry = section(
      {
          {"name", string()},
          {"disabled", boolean()},
          {"options", map(any())},
      },
      {"name"});
  NodePtr middleware = withWarning(section({
                                       {"registry", list(middlewareEntry)},
                                       {"repository", list(middlewareEntry)},
                                       {"storage", list(middlewareEntry)},
                                   }),
                                   "middleware is not supported by Pier; ignored");

  NodePtr tls = section({
      {"certificate", string()},
      {"key", string()},
      {"clientcas", stringList()},
      {"clientauth", string({"request-client-cert", "require-any-client-cert", "verify-client-cert-if-given",
                             "require-and-verify-client-cert"})},
      {"minimumtls", string({"tls1.0", "tls1.1", "tls1.2", "tls1.3"})},
      {"ciphersuites", stringList()},
      {"letsencrypt", section({
                          {"cachefile", string()},
                          {"email", string()},
                          {"hosts", stringList()},
                          {"directoryurl", string()},
                      })},
  });

  NodePtr http = section({
      {"addr", string()},
      {"net", string({"tcp", "unix"})},
      {"prefix", string()},
      {"host", string()},
      {"secret", string()},
      {"relativeurls", boolean()},
      {"draintimeout", duration()},
      {"headers", headers()},
      {"tls", tls},
      {"debug", section({
                    {"addr", string()},
                    {"prometheus", section({{"enabled", boolean()}, {"path", string()}})},
                })},
      {"http2", section({{"disabled", boolean()}})},
      {"h2c", section({{"enabled", boolean()}})},
      {"threads", integer(0, 4096)},
      {"queue", integer()},
      // Pier extensions: the connection layer's deadlines and limits.
      {"headtimeout", duration()},
      {"idletimeout", duration()},
      {"bodytimeout", duration()},
      {"sendtimeout", duration()},
      {"minbodyrate", integer()},
      {"maxheadsize", integer(1024, 16 * 1024 * 1024)},
      {"maxconnections", integer()},
      {"maxconnectionsperclient", integer()},
      {"maxuploads", integer()},
  });

  NodePtr endpoint = section(
      {
          {"name", string()},
          {"disabled", boolean()},
          {"url", string()},
          {"headers", headers()},
          {"timeout", duration()},
          {"threshold", integer(0, 1000000)},
          {"backoff", duration()},
          {"ignoredmediatypes", stringList()},
          {"ignore", section({{"mediatypes", stringList()}, {"actions", stringList()}})},
          {"type", withDefault(string(), "webhook")},
          // Pier extension: a sink plugin's own settings, free-form.
          {"parameters", map(any())},
      },
      {"name", "url"});
  NodePtr notifications = section({
      {"events", section({{"includereferences", boolean()}})},
      {"endpoints", list(endpoint)},
      // Pier extension: the durable queue of every endpoint.
      {"queue", section({{"directory", string()},
                         {"maxbytes", integer(4096, std::int64_t(1) << 50)},
                         {"full", string({"dropoldest", "refuse"})}})},
  });

  // Both the Distribution 2.x keys (addr, pool) and the 3.x ones (addrs, go-redis options).
  NodePtr redis = section({
      {"addr", string()},
      {"addrs", stringList()},
      {"username", string()},
      {"password", string()},
      {"db", integer()},
      {"dialtimeout", duration()},
      {"readtimeout", duration()},
      {"writetimeout", duration()},
      {"pool", section({{"maxidle", integer()}, {"maxactive", integer()}, {"idletimeout", duration()}})},
      {"maxidleconns", integer()},
      {"minidleconns", integer()},
      {"maxactiveconns", integer()},
      {"poolsize", integer()},
      {"pooltimeout", duration()},
      {"connmaxidletime", duration()},
      {"connmaxlifetime", duration()},
      {"maxretries", integer()},
      {"mastername", string()},
      {"clientname", string()},
      {"tls", section({
                  {"enabled", boolean()},
                  {"certificate", string()},
                  {"key", string()},
                  {"clientcas", stringList()},
              })},
  });

  NodePtr health = section({
      {"storagedriver",
       section({{"enabled", boolean()}, {"interval", duration()}, {"threshold", integer()}})},
      {"file",
       list(section({{"file", string()}, {"interval", duration()}, {"threshold", integer()}}, {"file"}))},
      {"http", list(section(
                   {
                       {"uri", string()},
                       {"headers", headers()},
                       {"statuscode", integer(100, 599)},
                       {"timeout", duration()},
                       {"interval", duration()},
                       {"threshold", integer()},
                   },
                   {"uri"}))},
      {"tcp",
       list(section(
           {{"addr", string()}, {"timeout", duration()}, {"interval", duration()}, {"threshold", integer()}},
           {"addr"}))},
  });

  // proxy.upstreams (Pier extension): the same keys per prefix; exec and remotenamespace are refused.
  Fields upstream{{"remoteurl", string()}, {"username", string()}, {"password", string()}};
  upstream.insert(upstream.end(), {{"ttl", duration()}, {"cafile", string()}});
  Fields proxy = upstream;
  proxy.insert(proxy.end(), {{"exec", any()}, {"remotenamespace", any()}});
  upstream.push_back({"prefix", string()});
  proxy.push_back({"upstreams", list(section(upstream, {"prefix", "remoteurl"}))});

  NodePtr validation = section({
      {"disabled", boolean()},
      {"enabled", withWarning(boolean(), "deprecated, use validation.disabled")},
      {"manifests", section({
                        {"urls", section({{"allow", stringList()}, {"deny", stringList()}})},
                        {"indexes", section({
                                        {"platforms", string({"all", "none", "list"})},
                                        {"platformlist", list(section({
                                                             {"architecture", string()},
                                                             {"os", string()},
                                                         }))},
                                    })},
                    })},
  });

  return section(
      {
          {"version", string()},
          {"log", log},
          {"loglevel", withWarning(string(kLogLevels), "deprecated, use log.level")},
          {"storage", storage},
          {"auth", plugins("access controller", false, {})},
          {"middleware", middleware},
          {"reporting", withWarning(any(), "error reporting is not supported by Pier; ignored")},
          {"http", http},
          {"notifications", notifications},
          {"redis", redis},
          {"health", health},
          {"catalog", section({{"maxentries", integer()}, {"rescaninterval", duration()}})},
          {"proxy", section(proxy)},
          {"validation", validation},
          {"compatibility",
           section({{"schema1", section({{"signingkeyfile", string()}, {"enabled", boolean()}})}})},
          {"policy", section({{"repository", section({{"classes", stringList()}})}})},
          {"plugins", section({{"directory", string()}})},
      },
      {"version"});
}

} // namespace pier::configschema
