// The repository index's snapshot format and the catalog order, in-process.
#include <gtest/gtest.h>

#include "storage/Catalog.hpp"
#include "storage/RepositoryIndex.hpp"

namespace pier {
namespace {

TEST(CatalogOrderTest, SlashSortsBeforeEveryOtherCharacter) {
  CatalogOrder less;
  EXPECT_TRUE(less("a/b", "a-b")); // plain byte order says otherwise: '-' < '/'
  EXPECT_TRUE(less("a/b", "a.b"));
  EXPECT_TRUE(less("a", "a/b"));
  EXPECT_TRUE(less("a/z", "a0"));
  EXPECT_FALSE(less("a", "a"));
  EXPECT_FALSE(less("b", "a/c"));
}

TEST(RepositoryIndexSnapshotTest, RoundTrips) {
  std::vector<std::string> names{"a", "a/b", "a-b", "library/ubuntu"};
  auto decoded = RepositoryIndex::decodeSnapshot(RepositoryIndex::encodeSnapshot(7, names));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->generation, 7u);
  EXPECT_EQ(decoded->names, names);
  auto empty = RepositoryIndex::decodeSnapshot(RepositoryIndex::encodeSnapshot(1, {}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->names.empty());
}

TEST(RepositoryIndexSnapshotTest, RefusesAnythingButAWholeValidSnapshot) {
  std::string good = RepositoryIndex::encodeSnapshot(3, {"a", "b/c", "d"});
  for (std::size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_FALSE(RepositoryIndex::decodeSnapshot(good.substr(0, cut))) << "cut at " << cut;
  std::string edited = good;
  edited[edited.size() - 2] = 'e';
  EXPECT_FALSE(RepositoryIndex::decodeSnapshot(edited));
  EXPECT_FALSE(RepositoryIndex::decodeSnapshot(good + "e\n"));
  // Each of these is consistent in itself (the hash fits) and still refused.
  EXPECT_FALSE(RepositoryIndex::decodeSnapshot(RepositoryIndex::encodeSnapshot(1, {"b", "a"}))); // order
  EXPECT_FALSE(RepositoryIndex::decodeSnapshot(RepositoryIndex::encodeSnapshot(1, {"a", "a"}))); // twice
  EXPECT_FALSE(RepositoryIndex::decodeSnapshot(RepositoryIndex::encodeSnapshot(1, {"UPPER"})));  // name
  EXPECT_FALSE(RepositoryIndex::decodeSnapshot(RepositoryIndex::encodeSnapshot(1, {"a/../b"}))); // name
  std::string otherVersion = good;
  otherVersion.replace(good.find(" 1 "), 3, " 2 ");
  EXPECT_FALSE(RepositoryIndex::decodeSnapshot(otherVersion));
}

} // namespace
} // namespace pier
