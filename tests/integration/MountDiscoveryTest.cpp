// A mount without `from` (storage.mount.automatic, a Pier extension): off by
// default; on, it links a blob the registry holds, and under access control
// only one that a repository the requester may pull holds, so that a digest
// never tells whether another tenant has a blob.
#include <gtest/gtest.h>

#include "ApiClient.hpp"
#include "ScopesAccess.hpp"

namespace pier::test::api {
namespace {

const std::string kAutomatic = "  mount:\n    automatic: true\n";

// The config with storage.mount.automatic on (a storage key: it goes under storage:).
std::string withAutomaticMount(const std::string& config) {
  std::string result = config;
  result.insert(result.find("  delete:\n"), kAutomatic);
  return result;
}

std::string mountPath(const std::string& repo, const std::string& digest) {
  return "/v2/" + repo + "/blobs/uploads/?mount=" + digest;
}

TEST(MountDiscovery, IsOffByDefault) {
  TempDir root;
  PierServer server(filesystemConfig(root.path()));
  Client client(server.port());
  Content blob = makeContent("held by a/x");
  client.pushBlob("a/x", blob);
  auto mount = client.request("POST", mountPath("b/y", blob.digest));
  EXPECT_EQ(mount.status, 202);
  EXPECT_FALSE(mount.header("Docker-Upload-UUID").empty());
  EXPECT_EQ(client.head("/v2/b/y/blobs/" + blob.digest).status, 404);
}

TEST(MountDiscovery, LinksAStoredBlobWithoutAccessControl) {
  TempDir root;
  PierServer server(withAutomaticMount(filesystemConfig(root.path())));
  Client client(server.port());
  Content blob = makeContent("held by a/x, found by b/y");
  client.pushBlob("a/x", blob);
  auto mount = client.request("POST", mountPath("b/y", blob.digest));
  ASSERT_EQ(mount.status, 201) << mount.body;
  EXPECT_EQ(mount.header("Location"), "/v2/b/y/blobs/" + blob.digest);
  EXPECT_EQ(mount.header("Docker-Content-Digest"), blob.digest);
  EXPECT_EQ(client.get("/v2/b/y/blobs/" + blob.digest).body, blob.bytes);
  // Unknown and malformed digests get an upload instead.
  EXPECT_EQ(client.request("POST", mountPath("b/y", sha256Of("nobody has this"))).status, 202);
  EXPECT_EQ(client.request("POST", mountPath("b/y", "sha256:nothex")).status, 202);
}

TEST(MountDiscovery, UnderAccessControlLinksOnlyWhatTheRequesterMayPull) {
  TempDir root;
  TempDir plugins;
  PierServer server(withAutomaticMount(scopesConfig(root, plugins)));
  Client alice(server.port(), scopes("alice", "repository:tenant-a/app:pull repository:tenant-a/app:push"));
  Content secret = makeContent("tenant a's layer");
  alice.pushBlob("tenant-a/app", secret);

  // bob may not pull tenant-a/app: he gets an upload, and nothing is linked.
  Client bob(server.port(), scopes("bob", "repository:tenant-b/app:pull repository:tenant-b/app:push"));
  EXPECT_EQ(bob.request("POST", mountPath("tenant-b/app", secret.digest)).status, 202);
  EXPECT_TRUE(isError(bob.get("/v2/tenant-b/app/blobs/" + secret.digest), 404, "BLOB_UNKNOWN"));

  // carol may pull tenant-a/app: the blob is linked into her repository.
  Client carol(server.port(), scopes("carol", "repository:tenant-a/app:pull repository:tenant-c/app:pull "
                                              "repository:tenant-c/app:push"));
  EXPECT_EQ(carol.request("POST", mountPath("tenant-c/app", secret.digest)).status, 201);
  EXPECT_EQ(carol.get("/v2/tenant-c/app/blobs/" + secret.digest).body, secret.bytes);
  EXPECT_NE(server.log().find("msg=event action=mount repository=tenant-c/app digest=" + secret.digest),
            std::string::npos);
}

} // namespace
} // namespace pier::test::api
