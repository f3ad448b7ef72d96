// The SDK's access controller conformance suite (pier::sdk_testing,
// <pier/testing/access_controller_suite.hpp>) on the in-tree controllers, as
// the real plugin loader makes them: htpasswd (a file the real `htpasswd -B`
// wrote), token (tokens signed by a key of the JWKS file it trusts; refused:
// the same kid, another key) and silly (grants any Authorization header).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>

#include <pier/testing/access_controller_suite.hpp>

#include "PierProcess.hpp"
#include "TestPki.hpp"
#include "TestTokens.hpp"
#include "plugin/PluginLoader.hpp"

namespace pier {
namespace {

PluginLoader& controllerPlugins() {
  static PluginLoader loader;
  static std::once_flag loaded;
  std::call_once(loaded, [] { loader.loadDirectory(PIER_TEST_PLUGIN_DIR); });
  return loader;
}

// Keys, files and tokens outlive every test: made once for the process.
struct ControllerFixtures {
  test::TempDir dir;
  std::filesystem::path htpasswd = dir / "users.htpasswd";
  std::filesystem::path jwks = dir / "jwks.json";
  std::filesystem::path signer, stranger;

  ControllerFixtures() {
    auto line = test::runCommand("/usr/bin/htpasswd", {"-nbB", "alice", "s3cret"});
    if (line.exitCode != 0) throw std::runtime_error("htpasswd -nbB failed: " + line.output);
    test::writeFile(htpasswd, line.output.substr(0, line.output.find('\n')) + "\n");
    signer = test::makePrivateKey(dir.path(), "signer", test::KeyType::ecP256);
    stranger = test::makePrivateKey(dir.path(), "stranger", test::KeyType::ecP256);
    test::writeFile(jwks, "{\"keys\":[" + test::publicJwk(signer, "conformance") + "]}");
  }
};

ControllerFixtures& controllerFixtures() {
  static ControllerFixtures fixtures;
  return fixtures;
}

AuthRequest withAuthorization(const std::string& value) {
  AuthRequest request;
  request.headers = {{"Authorization", value}, {"User-Agent", "docker/24.0"}};
  return request;
}

std::shared_ptr<AccessController> createController(const std::string& name,
                                                   const Poco::JSON::Object& parameters) {
  return controllerPlugins().catalog().createAccessController(name, parameters);
}

testing::AccessControllerTarget htpasswdTarget() {
  testing::AccessControllerTarget target;
  target.name = "htpasswd";
  target.factory = [] {
    Poco::JSON::Object parameters;
    parameters.set("realm", "pier conformance");
    parameters.set("path", controllerFixtures().htpasswd.string());
    return createController("htpasswd", parameters);
  };
  target.grantedRequest = [](const std::vector<Access>&) {
    return withAuthorization(test::basicAuthorization("alice:s3cret"));
  };
  target.refusedRequest = [](const std::vector<Access>&) {
    return withAuthorization(test::basicAuthorization("alice:wrong"));
  };
  return target;
}

// A token of the test issuer granting exactly what is wanted, signed with key.
std::string tokenFor(const std::vector<Access>& wanted, const std::filesystem::path& key) {
  std::vector<std::string> scopes;
  for (const Access& access : wanted) scopes.push_back(access.type + ":" + access.name + ":" + access.action);
  return test::signJwt(test::kidHeader("ES256", "conformance"), test::TokenClaims(scopes).json(), key,
                       "ES256");
}

testing::AccessControllerTarget tokenTarget() {
  testing::AccessControllerTarget target;
  target.name = "token";
  target.factory = [] {
    Poco::JSON::Object parameters;
    parameters.set("realm", test::kTokenRealm);
    parameters.set("service", test::kTokenService);
    parameters.set("issuer", test::kTokenIssuer);
    parameters.set("jwks", controllerFixtures().jwks.string());
    return createController("token", parameters);
  };
  target.grantedRequest = [](const std::vector<Access>& wanted) {
    return withAuthorization("Bearer " + tokenFor(wanted, controllerFixtures().signer));
  };
  target.refusedRequest = [](const std::vector<Access>& wanted) {
    return withAuthorization("Bearer " + tokenFor(wanted, controllerFixtures().stranger));
  };
  return target;
}

testing::AccessControllerTarget sillyTarget() {
  testing::AccessControllerTarget target;
  target.name = "silly";
  target.checksCredentials = false; // any Authorization header is granted, as in Distribution
  target.factory = [] {
    Poco::JSON::Object parameters;
    parameters.set("realm", test::kTokenRealm);
    parameters.set("service", test::kTokenService);
    return createController("silly", parameters);
  };
  target.grantedRequest = [](const std::vector<Access>&) { return withAuthorization("Bearer anything"); };
  return target;
}

PIER_ACCESS_CONTROLLER_CONFORMANCE(Plugins, htpasswdTarget(), tokenTarget(), sillyTarget());

} // namespace
} // namespace pier
