// The catalog served from the repository index (docs/CATALOG.md), over real
// HTTP against real pier processes on filesystem roots: every answer is
// compared with the repositories found on disk by this test's own walk (a
// directory holding _layers, in Distribution's order), after pushes to many
// repositories, across two instances on one root, after repositories are
// written behind Pier's back, and with the index's snapshot damaged or gone.
#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>

#include <Poco/JSON/Array.h>

#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

fs::path repositoriesDir(const fs::path& root) {
  return root / "docker/registry/v2/repositories";
}
fs::path snapshotFile(const fs::path& root) {
  return root / "pier-catalog/index";
}

// Distribution's order, written independently of Pier's: '/' below every character.
void sortAsDistribution(std::vector<std::string>& names) {
  auto key = [](std::string name) {
    std::replace(name.begin(), name.end(), '/', '\0');
    return name;
  };
  std::sort(names.begin(), names.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
}

// The truth on disk: directories holding _layers, not looking into directories starting with '_'.
std::vector<std::string> repositoriesOnDisk(const fs::path& root) {
  std::vector<std::string> names;
  fs::path base = repositoriesDir(root);
  if (!fs::exists(base)) return names;
  for (auto it = fs::recursive_directory_iterator(base); it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_directory()) continue;
    std::string leaf = it->path().filename().string();
    if (leaf == "_layers") names.push_back(it->path().parent_path().lexically_relative(base).string());
    if (!leaf.empty() && leaf.front() == '_') it.disable_recursion_pending();
  }
  sortAsDistribution(names);
  return names;
}

// A repository as another registry (or a restore) leaves it: one layer link.
void createOnDisk(const fs::path& root, const std::string& name) {
  std::string hex = sha256Of(name).substr(7);
  writeFile(repositoriesDir(root) / name / "_layers/sha256" / hex / "link", "sha256:" + hex);
}

std::string nextLink(const HttpResponse& response) {
  std::smatch match;
  std::string link = response.header("Link");
  if (!std::regex_match(link, match, std::regex(R"(<([^>]+)>;\s*rel="next")"))) return {};
  return match[1].str();
}

// The whole catalog through pages of n, following Link headers (bounded).
std::vector<std::string> wholeCatalog(const Client& client, std::size_t n) {
  std::vector<std::string> all;
  std::string target = "/v2/_catalog?n=" + std::to_string(n);
  for (int pages = 0; pages < 10000 && !target.empty(); ++pages) {
    auto response = client.get(target);
    EXPECT_EQ(response.status, 200) << target;
    if (response.status != 200) break;
    auto names = stringArray(parseJson(response.body), "repositories");
    EXPECT_LE(names.size(), n);
    all.insert(all.end(), names.begin(), names.end());
    target = nextLink(response);
  }
  return all;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Waits (bounded) until the server's log holds `text` `count` times.
bool waitForLog(const PierServer& server, const std::string& text, std::size_t count = 1,
                std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    std::string log = server.log();
    std::size_t found = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++found;
    if (found >= count) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Polls the catalog (bounded) until it holds name; how long that took, or nothing.
std::optional<std::chrono::milliseconds> timeUntilListed(const Client& client, const std::string& name,
                                                         std::chrono::milliseconds limit) {
  auto start = Clock::now();
  while (Clock::now() - start < limit) {
    if (contains(wholeCatalog(client, 1000), name))
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

constexpr char kBuilt[] = "repositories after a walk of storage";

std::string config(const fs::path& root, const std::string& rescan = "1h") {
  return filesystemConfig(root, "catalog:\n  rescaninterval: " + rescan + "\n");
}

// One server on a fresh root, its index built.
class CatalogIndexTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(waitForLog(server, kBuilt)); }

  TempDir root;
  PierServer server{config(root.path())};
  Client client{server.port()};
};

TEST_F(CatalogIndexTest, PagesOfManyRepositoriesMatchStorage) {
  Content blob = makeContent("one layer");
  // Names whose order differs between plain byte order and Distribution's.
  std::vector<std::string> pushed;
  for (int i = 0; i < 120; ++i) {
    std::string stem = 'r' + std::to_string(i % 40); // a char: GCC 12 -Wrestrict misfires on "r" + string
    pushed.push_back(i < 40 ? stem : i < 80 ? stem + "-x" : stem + "/y." + std::to_string(i));
  }
  for (const auto& name : pushed) client.pushBlob(name, blob);

  std::vector<std::string> onDisk = repositoriesOnDisk(root.path());
  ASSERT_EQ(onDisk.size(), pushed.size());
  for (std::size_t n : {1u, 7u, 100u, 1000u}) EXPECT_EQ(wholeCatalog(client, n), onDisk) << "n=" << n;

  // last in the middle, and past the end.
  auto after = stringArray(parseJson(client.get("/v2/_catalog?n=3&last=" + onDisk[50]).body), "repositories");
  EXPECT_EQ(after, std::vector<std::string>(onDisk.begin() + 51, onDisk.begin() + 54));
  auto end = client.get("/v2/_catalog?last=" + onDisk.back());
  EXPECT_TRUE(stringArray(parseJson(end.body), "repositories").empty());
  EXPECT_EQ(end.header("Link"), "");
}

TEST_F(CatalogIndexTest, DeletingManifestsTagsAndBlobsKeepsTheRepository) {
  auto image = client.pushImage("kept/image", "v1", "layer", "{}");
  ASSERT_EQ(client.del("/v2/kept/image/manifests/" + image.digest).status, 202);
  ASSERT_EQ(client.del("/v2/kept/image/blobs/" + image.layer.digest).status, 202);
  ASSERT_EQ(client.del("/v2/kept/image/blobs/" + image.config.digest).status, 202);
  // As Distribution on a filesystem: _layers stays, and so does the repository.
  EXPECT_EQ(repositoriesOnDisk(root.path()), std::vector<std::string>{"kept/image"});
  EXPECT_EQ(wholeCatalog(client, 100), std::vector<std::string>{"kept/image"});
}

TEST(CatalogIndexInstancesTest, TwoInstancesOnOneRootSeeEachOthersRepositoriesWithinSeconds) {
  TempDir root;
  PierServer a(config(root.path()));
  PierServer b(config(root.path()));
  ASSERT_TRUE(waitForLog(a, kBuilt));
  ASSERT_TRUE(waitForLog(b, kBuilt));
  Client clientA(a.port());
  Client clientB(b.port());
  Content blob = makeContent("shared");
  clientA.pushBlob("made/on-a", blob);
  clientB.pushBlob("made/on-b", blob);
  // The rescan interval is an hour: only the journal can carry them across.
  auto onB = timeUntilListed(clientB, "made/on-a", std::chrono::seconds(10));
  auto onA = timeUntilListed(clientA, "made/on-b", std::chrono::seconds(10));
  ASSERT_TRUE(onB && onA);
  EXPECT_LE(onB->count(), 3000); // the bound: one poll interval (1 s) and the poll's own time
  EXPECT_LE(onA->count(), 3000);
  EXPECT_EQ(wholeCatalog(clientA, 100), repositoriesOnDisk(root.path()));
  EXPECT_EQ(wholeCatalog(clientB, 100), repositoriesOnDisk(root.path()));
}

TEST(CatalogIndexInstancesTest, RepositoriesWrittenBehindPiersBackAppearAtRestartOrRescan) {
  TempDir root;
  Content blob = makeContent("pushed");
  {
    PierServer server(config(root.path()));
    ASSERT_TRUE(waitForLog(server, kBuilt));
    Client client(server.port());
    client.pushBlob("pushed", blob);
    // While it runs with an hour's rescan interval, the index answers: a
    // repository written on disk meanwhile is not listed yet.
    createOnDisk(root.path(), "written/while-running");
    EXPECT_EQ(wholeCatalog(client, 100), std::vector<std::string>{"pushed"});
    ASSERT_EQ(server.stop(SIGTERM), 0);
  }
  createOnDisk(root.path(), "restored/from-backup");
  {
    // The snapshot lacks both; the walk at start finds them.
    PierServer server(config(root.path()));
    EXPECT_TRUE(waitForLog(server, "repositories from snapshot generation"));
    ASSERT_TRUE(waitForLog(server, kBuilt));
    Client client(server.port());
    EXPECT_EQ(wholeCatalog(client, 100), repositoriesOnDisk(root.path()));
    EXPECT_TRUE(contains(wholeCatalog(client, 100), "restored/from-backup"));
  }
  {
    // With a short rescan interval, what is written while it runs appears within it.
    PierServer server(config(root.path(), "1s"));
    ASSERT_TRUE(waitForLog(server, kBuilt));
    Client client(server.port());
    createOnDisk(root.path(), "written/by-distribution");
    auto listed = timeUntilListed(client, "written/by-distribution", std::chrono::seconds(10));
    ASSERT_TRUE(listed);
    EXPECT_LE(listed->count(), 3000);
    EXPECT_EQ(wholeCatalog(client, 100), repositoriesOnDisk(root.path()));
  }
}

// Starts a server on root, checks the catalog equals storage at once (the
// walk, while the index is built) and after the index is built, and that the
// snapshot was written again, whole.
void expectRebuilt(const fs::path& root, const std::vector<std::string>& expected, const std::string& note) {
  PierServer server(config(root));
  Client client(server.port());
  EXPECT_EQ(wholeCatalog(client, 10), expected) << note << ", at once";
  ASSERT_TRUE(waitForLog(server, kBuilt)) << note;
  EXPECT_EQ(wholeCatalog(client, 10), expected) << note << ", from the index";
  EXPECT_FALSE(waitForLog(server, "repositories from snapshot generation", 1, std::chrono::milliseconds(0)))
      << note << ": a damaged or missing snapshot was served from";
  // Written just after the walk's log line: waited for (bounded).
  const std::regex whole(R"(pier-catalog-index 1 \d+ )" + std::to_string(expected.size()) +
                         R"( [0-9a-f]{64})");
  std::string snapshot, header;
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
    snapshot = readFile(snapshotFile(root));
    header = snapshot.substr(0, snapshot.find('\n'));
    if (std::regex_match(header, whole) && snapshot.size() > header.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(std::regex_match(header, whole)) << note << ": " << header;
  EXPECT_EQ(snapshot.substr(header.size() + 1).size(), [&] {
    std::size_t bytes = 0;
    for (const auto& name : expected) bytes += name.size() + 1;
    return bytes;
  }()) << note;
}

TEST(CatalogIndexInstancesTest, ADamagedOrMissingSnapshotIsRebuiltWithTheSameAnswers) {
  TempDir root;
  std::vector<std::string> before;
  {
    PierServer server(config(root.path()));
    ASSERT_TRUE(waitForLog(server, kBuilt));
    Client client(server.port());
    Content blob = makeContent("x");
    for (const std::string name : {"b", "a/c", "a-c", "a", "z/z/z"}) client.pushBlob(name, blob);
    before = wholeCatalog(client, 10);
    ASSERT_EQ(before, repositoriesOnDisk(root.path()));
    ASSERT_EQ(server.stop(SIGTERM), 0);
  }
  ASSERT_TRUE(fs::exists(snapshotFile(root.path())));
  // The journal would hand the names over anyway: without it, only a walk can.
  fs::remove_all(root.path() / "pier-catalog/journal");

  std::string snapshot = readFile(snapshotFile(root.path()));
  std::string flipped = snapshot;
  flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'q' ? 'r' : 'q'; // a name edited
  writeFile(snapshotFile(root.path()), flipped);
  expectRebuilt(root.path(), before, "edited");

  writeFile(snapshotFile(root.path()), snapshot.substr(0, snapshot.size() / 2)); // torn
  expectRebuilt(root.path(), before, "torn");

  writeFile(snapshotFile(root.path()), "not a snapshot at all");
  expectRebuilt(root.path(), before, "garbage");

  fs::remove(snapshotFile(root.path()));
  expectRebuilt(root.path(), before, "deleted");
}

} // namespace
} // namespace pier::test::api
