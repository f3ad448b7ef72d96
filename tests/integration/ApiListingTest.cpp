// Listings over real HTTP: tags list, catalog and referrers, with pagination,
// the Link header, artifactType filtering and their errors.
#include <regex>

#include <Poco/JSON/Array.h>

#include <gtest/gtest.h>

#include "ApiClient.hpp"

namespace pier::test::api {
namespace {

std::vector<std::string> strings(const Poco::JSON::Array::Ptr& array) {
  std::vector<std::string> result;
  if (!array) return result;
  for (std::size_t i = 0; i < array->size(); ++i)
    result.push_back(array->getElement<std::string>(static_cast<unsigned>(i)));
  return result;
}

// The target of a Link: <target>; rel="next" header, or empty.
std::string nextLink(const HttpResponse& response) {
  std::smatch match;
  std::string link = response.header("Link");
  if (!std::regex_match(link, match, std::regex(R"(<([^>]+)>;\s*rel="next")"))) return {};
  return match[1].str();
}

class ApiListingTest : public ::testing::Test {
protected:
  void SetUp() override { client.pushBlob(kRepo, config); }

  // An OCI manifest made unique by an annotation, pushed under reference.
  std::string pushImage(const std::string& repo, const std::string& reference,
                        const std::string& unique = "x") {
    if (repo != kRepo) client.pushBlob(repo, config);
    return client.pushManifest(repo, reference, image(unique), mediatype::kOciManifest);
  }
  std::string image(const std::string& unique) const {
    return imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, config), {},
                         ",\"annotations\":{\"unique\":\"" + unique + "\"}");
  }

  // Follows Link headers from target; every page at most n entries. Bounded.
  std::vector<std::string> collectPages(std::string target, const std::string& key, std::size_t n,
                                        std::size_t* pages = nullptr) {
    std::vector<std::string> all;
    std::size_t count = 0;
    for (; count < 100 && !target.empty(); ++count) {
      auto response = client.get(target);
      EXPECT_EQ(response.status, 200) << target;
      if (response.status != 200) break;
      auto page = strings(parseJson(response.body)->getArray(key));
      EXPECT_LE(page.size(), n) << target;
      all.insert(all.end(), page.begin(), page.end());
      target = nextLink(response);
    }
    EXPECT_LT(count, 100u) << "the Link headers never ended";
    if (pages) *pages = count;
    return all;
  }

  static inline const std::string kRepo = "library/list";
  TempDir root;
  PierServer server{filesystemConfig(root.path())};
  Client client{server.port()};
  Content config = makeContent("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
};

TEST_F(ApiListingTest, TagsListInLexicalOrder) {
  const std::vector<std::string> pushed{"latest", "1.0", "b", "A", "a", "a-1", "Z_9", "_x", "10", "2"};
  for (const auto& tag : pushed) pushImage(kRepo, tag, tag);
  auto response = client.get("/v2/" + kRepo + "/tags/list");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.header("Link"), "");
  auto body = parseJson(response.body);
  EXPECT_EQ(body->getValue<std::string>("name"), kRepo);
  std::vector<std::string> expected = pushed;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(strings(body->getArray("tags")), expected);
}

TEST_F(ApiListingTest, TagsListPagination) {
  const std::vector<std::string> tags{"a", "b", "c", "d", "e"};
  for (const auto& tag : tags) pushImage(kRepo, tag, tag);

  auto first = client.get("/v2/" + kRepo + "/tags/list?n=2");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(strings(parseJson(first.body)->getArray("tags")), (std::vector<std::string>{"a", "b"}));
  std::string next = nextLink(first);
  ASSERT_FALSE(next.empty()) << first.header("Link");
  EXPECT_EQ(next.rfind("/v2/" + kRepo + "/tags/list?", 0), 0u) << next;
  EXPECT_NE(next.find("n=2"), std::string::npos) << next;
  EXPECT_NE(next.find("last=b"), std::string::npos) << next;

  std::size_t pages = 0;
  EXPECT_EQ(collectPages("/v2/" + kRepo + "/tags/list?n=2", "tags", 2, &pages), tags);
  EXPECT_EQ(pages, 3u);
  // A page size that divides the list ends without a Link to an empty page.
  EXPECT_EQ(collectPages("/v2/" + kRepo + "/tags/list?n=5", "tags", 5, &pages), tags);
  EXPECT_EQ(pages, 1u);
  EXPECT_EQ(collectPages("/v2/" + kRepo + "/tags/list?n=1", "tags", 1, &pages), tags);
  EXPECT_EQ(pages, 5u);

  // last alone, and last that is not a tag: what sorts after it.
  auto after = client.get("/v2/" + kRepo + "/tags/list?last=b");
  EXPECT_EQ(strings(parseJson(after.body)->getArray("tags")), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(after.header("Link"), "");
  auto between = client.get("/v2/" + kRepo + "/tags/list?last=bb&n=1");
  EXPECT_EQ(strings(parseJson(between.body)->getArray("tags")), (std::vector<std::string>{"c"}));
  EXPECT_FALSE(nextLink(between).empty());
  auto end = client.get("/v2/" + kRepo + "/tags/list?last=e");
  EXPECT_EQ(end.status, 200);
  EXPECT_TRUE(strings(parseJson(end.body)->getArray("tags")).empty());
  // n larger than the list.
  auto all = client.get("/v2/" + kRepo + "/tags/list?n=1000");
  EXPECT_EQ(strings(parseJson(all.body)->getArray("tags")), tags);
  EXPECT_EQ(all.header("Link"), "");
}

TEST_F(ApiListingTest, TagsListOfAnUnknownRepositoryIsNameUnknown) {
  EXPECT_TRUE(isError(client.get("/v2/never/pushed/tags/list"), 404, "NAME_UNKNOWN"));
  // A repository with blobs but no tags has no tags list either.
  client.pushBlob("blobs/only", config);
  EXPECT_TRUE(isError(client.get("/v2/blobs/only/tags/list"), 404, "NAME_UNKNOWN"));
  EXPECT_TRUE(isError(client.get("/v2/Never/tags/list"), 400, "NAME_INVALID"));
  EXPECT_TRUE(isError(client.get("/v2/a/../b/tags/list"), 400, "NAME_INVALID"));
  EXPECT_TRUE(isError(client.request("POST", "/v2/" + kRepo + "/tags/list"), 405, "UNSUPPORTED"));
}

TEST_F(ApiListingTest, InvalidPageSizesArePaginationNumberInvalid) {
  pushImage(kRepo, "a");
  for (const std::string& n :
       std::vector<std::string>{"-1", "abc", "1.5", "+1", "%201", "0x10", "99999999999999999999"}) {
    SCOPED_TRACE(n);
    EXPECT_TRUE(isError(client.get("/v2/" + kRepo + "/tags/list?n=" + n), 400, "PAGINATION_NUMBER_INVALID"));
    EXPECT_TRUE(isError(client.get("/v2/_catalog?n=" + n), 400, "PAGINATION_NUMBER_INVALID"));
  }
  // An empty n is no n.
  EXPECT_EQ(client.get("/v2/" + kRepo + "/tags/list?n=").status, 200);
  EXPECT_EQ(client.get("/v2/_catalog?n=").status, 200);
}

TEST_F(ApiListingTest, CatalogInLexicalOrder) {
  const std::vector<std::string> repos{"zeta", "alpha", "gamma/two", "beta", "gamma/one", "delta/x/y"};
  for (const auto& repo : repos) client.pushBlob(repo, config);
  auto response = client.get("/v2/_catalog");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  std::vector<std::string> expected = repos;
  expected.push_back(kRepo);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(strings(parseJson(response.body)->getArray("repositories")), expected);
  EXPECT_EQ(response.header("Link"), "");
}

TEST(ApiListingEmpty, CatalogOfAnEmptyRegistry) {
  TempDir root;
  PierServer server(filesystemConfig(root.path()));
  Client client(server.port());
  auto response = client.get("/v2/_catalog");
  ASSERT_EQ(response.status, 200);
  auto repositories = parseJson(response.body)->getArray("repositories");
  ASSERT_TRUE(repositories);
  EXPECT_EQ(repositories->size(), 0u);
  EXPECT_EQ(response.header("Link"), "");
}

TEST_F(ApiListingTest, CatalogPagination) {
  std::vector<std::string> repos{"a", "b", "c/d", "e", "f", "g"};
  for (const auto& repo : repos) client.pushBlob(repo, config);
  repos.push_back(kRepo);
  std::sort(repos.begin(), repos.end());

  auto first = client.get("/v2/_catalog?n=3");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(strings(parseJson(first.body)->getArray("repositories")),
            (std::vector<std::string>{"a", "b", "c/d"}));
  std::string next = nextLink(first);
  ASSERT_FALSE(next.empty()) << first.header("Link");
  EXPECT_EQ(next.rfind("/v2/_catalog?", 0), 0u) << next;
  EXPECT_NE(next.find("n=3"), std::string::npos) << next;

  std::size_t pages = 0;
  EXPECT_EQ(collectPages("/v2/_catalog?n=3", "repositories", 3, &pages), repos);
  EXPECT_EQ(pages, 3u);
  EXPECT_EQ(collectPages("/v2/_catalog?n=7", "repositories", 7, &pages), repos);
  EXPECT_EQ(pages, 1u);
  EXPECT_EQ(collectPages("/v2/_catalog?n=1", "repositories", 1, &pages), repos);
  EXPECT_EQ(pages, repos.size());

  auto after = client.get("/v2/_catalog?last=e");
  EXPECT_EQ(strings(parseJson(after.body)->getArray("repositories")),
            (std::vector<std::string>{"f", "g", kRepo}));
  EXPECT_TRUE(isError(client.request("DELETE", "/v2/_catalog"), 405, "UNSUPPORTED"));
}

TEST_F(ApiListingTest, ReferrersWithAndWithoutArtifactTypeFilter) {
  std::string subject = pushImage(kRepo, "image");
  std::string subjectSize = std::to_string(image("x").size());
  Content empty = makeContent("{}");
  client.pushBlob(kRepo, empty);
  auto artifact = [&](const std::string& type, const std::string& unique) {
    return imageManifest(mediatype::kOciManifest, descriptorJson(mediatype::kOciEmpty, empty), {},
                         ",\"artifactType\":\"" + type + "\",\"subject\":" +
                             descriptorJson(mediatype::kOciManifest, subject, std::stoul(subjectSize)) +
                             ",\"annotations\":{\"unique\":\"" + unique + "\"}");
  };
  std::string sbom = artifact("application/vnd.example.sbom", "1");
  std::string signature = artifact("application/vnd.example.signature", "2");
  std::string sbomDigest = client.pushManifest(kRepo, sha256Of(sbom), sbom, mediatype::kOciManifest);
  std::string signatureDigest =
      client.pushManifest(kRepo, sha256Of(signature), signature, mediatype::kOciManifest);
  // Without artifactType, an image manifest's artifact type is its config's media type.
  std::string typed = imageManifest(
      mediatype::kOciManifest, descriptorJson("application/vnd.example.config", config), {},
      ",\"subject\":" + descriptorJson(mediatype::kOciManifest, subject, std::stoul(subjectSize)));
  client.pushBlob(kRepo, config);
  std::string typedDigest = client.pushManifest(kRepo, "typed", typed, mediatype::kOciManifest);
  // An index may refer too.
  std::string set =
      indexManifest(mediatype::kOciIndex, {},
                    ",\"artifactType\":\"application/vnd.example.set\",\"subject\":" +
                        descriptorJson(mediatype::kOciManifest, subject, std::stoul(subjectSize)));
  std::string setDigest = client.pushManifest(kRepo, "set", set, mediatype::kOciIndex);
  // Not a referrer: no subject.
  pushImage(kRepo, "unrelated", "unrelated");

  auto response = client.get("/v2/" + kRepo + "/referrers/" + subject);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), mediatype::kOciIndex);
  EXPECT_EQ(response.header("OCI-Filters-Applied"), "");
  auto index = parseJson(response.body);
  EXPECT_EQ(index->getValue<int>("schemaVersion"), 2);
  EXPECT_EQ(index->getValue<std::string>("mediaType"), mediatype::kOciIndex);
  auto manifests = index->getArray("manifests");
  ASSERT_TRUE(manifests);
  ASSERT_EQ(manifests->size(), 4u) << response.body;
  std::map<std::string, Poco::JSON::Object::Ptr> byDigest;
  for (std::size_t i = 0; i < manifests->size(); ++i) {
    auto descriptor = manifests->getObject(static_cast<unsigned>(i));
    byDigest[descriptor->getValue<std::string>("digest")] = descriptor;
  }
  ASSERT_TRUE(byDigest.count(sbomDigest));
  EXPECT_EQ(byDigest[sbomDigest]->getValue<std::string>("mediaType"), mediatype::kOciManifest);
  EXPECT_EQ(byDigest[sbomDigest]->getValue<std::size_t>("size"), sbom.size());
  EXPECT_EQ(byDigest[sbomDigest]->getValue<std::string>("artifactType"), "application/vnd.example.sbom");
  EXPECT_EQ(byDigest[sbomDigest]->getObject("annotations")->getValue<std::string>("unique"), "1");
  ASSERT_TRUE(byDigest.count(signatureDigest));
  EXPECT_EQ(byDigest[signatureDigest]->getValue<std::string>("artifactType"),
            "application/vnd.example.signature");
  ASSERT_TRUE(byDigest.count(typedDigest));
  EXPECT_EQ(byDigest[typedDigest]->getValue<std::string>("artifactType"), "application/vnd.example.config");
  ASSERT_TRUE(byDigest.count(setDigest));
  EXPECT_EQ(byDigest[setDigest]->getValue<std::string>("mediaType"), mediatype::kOciIndex);
  EXPECT_EQ(byDigest[setDigest]->getValue<std::string>("artifactType"), "application/vnd.example.set");

  auto filtered =
      client.get("/v2/" + kRepo + "/referrers/" + subject + "?artifactType=application/vnd.example.sbom");
  ASSERT_EQ(filtered.status, 200);
  EXPECT_EQ(filtered.header("OCI-Filters-Applied"), "artifactType");
  EXPECT_EQ(filtered.header("Content-Type"), mediatype::kOciIndex);
  auto only = parseJson(filtered.body)->getArray("manifests");
  ASSERT_EQ(only->size(), 1u) << filtered.body;
  EXPECT_EQ(only->getObject(0)->getValue<std::string>("digest"), sbomDigest);

  // Percent-encoded filter, and a filter nothing matches.
  auto encoded = client.get("/v2/" + kRepo + "/referrers/" + subject +
                            "?artifactType=application%2Fvnd.example.signature");
  ASSERT_EQ(parseJson(encoded.body)->getArray("manifests")->size(), 1u);
  auto none =
      client.get("/v2/" + kRepo + "/referrers/" + subject + "?artifactType=application/vnd.example.none");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.header("OCI-Filters-Applied"), "artifactType");
  EXPECT_EQ(parseJson(none.body)->getArray("manifests")->size(), 0u);

  // A deleted referrer is gone from the list.
  ASSERT_EQ(client.del("/v2/" + kRepo + "/manifests/" + sbomDigest).status, 202);
  auto afterDelete = client.get("/v2/" + kRepo + "/referrers/" + subject);
  EXPECT_EQ(parseJson(afterDelete.body)->getArray("manifests")->size(), 3u) << afterDelete.body;
  // Referrers are per repository.
  auto elsewhere = client.get("/v2/library/other/referrers/" + subject);
  EXPECT_EQ(elsewhere.status, 200);
  EXPECT_EQ(parseJson(elsewhere.body)->getArray("manifests")->size(), 0u);
}

TEST_F(ApiListingTest, ReferrersOfAnUnknownSubjectIsAnEmptyIndex) {
  auto response = client.get("/v2/" + kRepo + "/referrers/" + sha256Of("unknown subject"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), mediatype::kOciIndex);
  auto index = parseJson(response.body);
  EXPECT_EQ(index->getValue<int>("schemaVersion"), 2);
  EXPECT_EQ(index->getValue<std::string>("mediaType"), mediatype::kOciIndex);
  ASSERT_TRUE(index->getArray("manifests"));
  EXPECT_EQ(index->getArray("manifests")->size(), 0u);
  // Also in a repository that does not exist.
  auto nowhere = client.get("/v2/never/pushed/referrers/" + sha256Of("unknown subject"));
  EXPECT_EQ(nowhere.status, 200);
  EXPECT_EQ(parseJson(nowhere.body)->getArray("manifests")->size(), 0u);
}

TEST_F(ApiListingTest, ReferrersValidateTheDigestAndName) {
  EXPECT_TRUE(isError(client.get("/v2/" + kRepo + "/referrers/sha256:abc"), 400, "DIGEST_INVALID"));
  EXPECT_TRUE(isError(client.get("/v2/" + kRepo + "/referrers/latest"), 400, "DIGEST_INVALID"));
  EXPECT_TRUE(isError(client.get("/v2/Library/referrers/" + sha256Of("x")), 400, "NAME_INVALID"));
  EXPECT_TRUE(isError(client.get("/v2/a/../b/referrers/" + sha256Of("x")), 400, "NAME_INVALID"));
  EXPECT_TRUE(isError(client.request("PUT", "/v2/" + kRepo + "/referrers/" + sha256Of("x"), "{}"), 405,
                      "UNSUPPORTED"));
}

} // namespace
} // namespace pier::test::api
