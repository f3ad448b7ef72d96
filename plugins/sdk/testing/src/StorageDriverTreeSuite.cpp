// The storage driver conformance suite, part two: the tree — list, listPage,
// capabilities, walk, move, remove, missing paths, stat and invalid paths.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <pier/errors.hpp>

#include "pier/testing/storage_driver_suite.hpp"

namespace pier::testing {

namespace detail {
int storageDriverTreeAnchor() {
  return 0;
}
} // namespace detail

namespace {

TEST_P(StorageDriverConformance, ListsChildrenInLexicalOrder) {
  EXPECT_EQ(driver_->list(context_, "/"), std::vector<std::string>{});
  for (const char* name : {"ab", "a0", "a.b", "a-b", "B", "a/inside"})
    driver_->putContent(context_, std::string("/tree/") + name, name);
  EXPECT_EQ(
      driver_->list(context_, "/tree"),
      (std::vector<std::string>{"/tree/B", "/tree/a", "/tree/a-b", "/tree/a.b", "/tree/a0", "/tree/ab"}));
  EXPECT_EQ(driver_->list(context_, "/tree/a"), std::vector<std::string>{"/tree/a/inside"});
  EXPECT_EQ(driver_->list(context_, "/"), std::vector<std::string>{"/tree"});
  EXPECT_THROW(driver_->list(context_, "/tree/ab"), pier::PathNotFoundError) << "a file is not a directory";
}

TEST_P(StorageDriverConformance, ListPagesFollowLexicalOrder) {
  for (const char* name : {"ab", "a0", "a.b", "a-b", "B", "a/inside"})
    driver_->putContent(context_, std::string("/tree/") + name, name);
  const std::vector<std::string> all{"/tree/B", "/tree/a", "/tree/a-b", "/tree/a.b", "/tree/a0", "/tree/ab"};
  // Pages of two, each starting after the last path of the one before, cover every child once.
  std::vector<std::string> paged;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    pier::ListPage got = driver_->listPage(context_, "/tree", after, 2);
    ASSERT_LE(got.paths.size(), 2u);
    paged.insert(paged.end(), got.paths.begin(), got.paths.end());
    if (!got.truncated) break;
    ASSERT_FALSE(got.paths.empty()) << "a truncated page holds something";
    after = got.paths.back();
  }
  EXPECT_EQ(paged, all);
  // startAfter need not be a child, and a page past the end is empty.
  EXPECT_EQ(driver_->listPage(context_, "/tree", "/tree/a-", 100).paths,
            (std::vector<std::string>{"/tree/a-b", "/tree/a.b", "/tree/a0", "/tree/ab"}));
  pier::ListPage end = driver_->listPage(context_, "/tree", "/tree/ab", 100);
  EXPECT_TRUE(end.paths.empty());
  EXPECT_FALSE(end.truncated);
  EXPECT_THROW(driver_->listPage(context_, "/missing", "", 10), pier::PathNotFoundError);
}

TEST_P(StorageDriverConformance, CapabilitiesAreWhatTheDriverDoes) {
  pier::DriverCapabilities capabilities = driver_->capabilities();
  driver_->putContent(context_, "/cap/file", "content");
  // A driver that says it redirects gives a URL for a file it holds.
  EXPECT_EQ(driver_->redirectURL(context_, {"GET", "/cap/file", std::chrono::seconds(60), {}}).has_value(),
            capabilities.redirects);
  if (capabilities.resumableWriters) {
    // What a closed writer left is there for a writer that appends.
    auto writer = driver_->writer(context_, "/cap/resumed", false);
    writer->write(context_, "left by one", 11);
    writer->close(context_);
    auto resumed = driver_->writer(context_, "/cap/resumed", true);
    EXPECT_EQ(resumed->size(), 11);
    resumed->cancel(context_);
  }
}

TEST_P(StorageDriverConformance, WalksDeepTreesDepthFirstInLexicalOrder) {
  driver_->putContent(context_, "/w/a/b/c/d/e/f/deep", "deep");
  driver_->putContent(context_, "/w/a/b/x", "x");
  driver_->putContent(context_, "/w/a/b-c/y", "y");
  driver_->putContent(context_, "/w/a/z", "z");
  driver_->putContent(context_, "/w/b", "b");

  // "/w/a/b" and everything below it come before "/w/a/b-c", although '-' sorts before '/'.
  const std::vector<Visit> all{{"/w/a", true},
                               {"/w/a/b", true},
                               {"/w/a/b/c", true},
                               {"/w/a/b/c/d", true},
                               {"/w/a/b/c/d/e", true},
                               {"/w/a/b/c/d/e/f", true},
                               {"/w/a/b/c/d/e/f/deep", false},
                               {"/w/a/b/x", false},
                               {"/w/a/b-c", true},
                               {"/w/a/b-c/y", false},
                               {"/w/a/z", false},
                               {"/w/b", false}};
  EXPECT_EQ(walk("/w"), all);

  std::vector<Visit> fromRoot{{"/w", true}};
  fromRoot.insert(fromRoot.end(), all.begin(), all.end());
  EXPECT_EQ(walk("/"), fromRoot);

  std::int64_t sizes = 0;
  driver_->walk(context_, "/w", [&](const FileInfo& info) {
    if (info.isDirectory) {
      EXPECT_EQ(info.size, 0) << info.path;
    }
    sizes += info.size;
    return WalkControl::proceed;
  });
  EXPECT_EQ(sizes, 4 + 1 + 1 + 1 + 1);

  auto skipB = walk("/w", [](const FileInfo& info) {
    return info.path == "/w/a/b" ? WalkControl::skipDirectory : WalkControl::proceed;
  });
  EXPECT_EQ(skipB, (std::vector<Visit>{{"/w/a", true},
                                       {"/w/a/b", true},
                                       {"/w/a/b-c", true},
                                       {"/w/a/b-c/y", false},
                                       {"/w/a/z", false},
                                       {"/w/b", false}}));

  auto stopAtX = walk("/w", [](const FileInfo& info) {
    return info.path == "/w/a/b/x" ? WalkControl::stop : WalkControl::proceed;
  });
  EXPECT_EQ(stopAtX, std::vector<Visit>(all.begin(), all.begin() + 8));

  EXPECT_TRUE(walk("/w/a/b/c/d/e/f").size() == 1);
  EXPECT_THROW(walk("/w/missing"), pier::PathNotFoundError);
}

TEST_P(StorageDriverConformance, MoveReplacesAnExistingDestination) {
  driver_->putContent(context_, "/src/file", "new");
  driver_->putContent(context_, "/dst/file", "old");
  driver_->move(context_, "/src/file", "/dst/file");
  EXPECT_EQ(driver_->getContent(context_, "/dst/file"), "new");
  EXPECT_THROW(driver_->stat(context_, "/src/file"), pier::PathNotFoundError);

  // The destination's parents are created.
  driver_->move(context_, "/dst/file", "/moved/to/a/deep/place");
  EXPECT_EQ(driver_->getContent(context_, "/moved/to/a/deep/place"), "new");
  EXPECT_THROW(driver_->getContent(context_, "/dst/file"), pier::PathNotFoundError);

  driver_->putContent(context_, "/kept", "kept");
  EXPECT_THROW(driver_->move(context_, "/missing", "/kept"), pier::PathNotFoundError);
  EXPECT_THROW(driver_->move(context_, "/src/missing", "/elsewhere"), pier::PathNotFoundError);
  EXPECT_EQ(driver_->getContent(context_, "/kept"), "kept");
  EXPECT_THROW(driver_->stat(context_, "/elsewhere"), pier::PathNotFoundError);
}

TEST_P(StorageDriverConformance, RemoveDeletesRecursively) {
  for (const char* path : {"/r/a/b/c/1", "/r/a/b/2", "/r/a/3", "/r/keep"})
    driver_->putContent(context_, path, path);
  driver_->remove(context_, "/r/a");
  for (const char* path : {"/r/a", "/r/a/b", "/r/a/b/c", "/r/a/b/c/1", "/r/a/b/2", "/r/a/3"})
    EXPECT_THROW(driver_->stat(context_, path), pier::PathNotFoundError) << path;
  EXPECT_THROW(driver_->getContent(context_, "/r/a/b/c/1"), pier::PathNotFoundError);
  EXPECT_EQ(driver_->list(context_, "/r"), std::vector<std::string>{"/r/keep"});
  EXPECT_THROW(driver_->remove(context_, "/r/a"), pier::PathNotFoundError);

  driver_->remove(context_, "/r/keep");
  EXPECT_THROW(driver_->getContent(context_, "/r/keep"), pier::PathNotFoundError);
  if (GetParam().directoriesArePrefixes) // an emptied prefix is gone, as in Distribution's s3 driver
    EXPECT_THROW(driver_->list(context_, "/r"), pier::PathNotFoundError);
  else
    EXPECT_EQ(driver_->list(context_, "/r"), std::vector<std::string>{});
}

TEST_P(StorageDriverConformance, MissingPathsAreNotFound) {
  driver_->putContent(context_, "/file", "content");
  driver_->putContent(context_, "/dir/inner", "content");
  for (const std::string path : {"/missing", "/missing/deeper", "/file/below-a-file", "/dir/missing"}) {
    SCOPED_TRACE(path);
    EXPECT_THROW(driver_->getContent(context_, path), pier::PathNotFoundError);
    EXPECT_THROW(driver_->reader(context_, path, 0), pier::PathNotFoundError);
    EXPECT_THROW(driver_->stat(context_, path), pier::PathNotFoundError);
    EXPECT_THROW(driver_->list(context_, path), pier::PathNotFoundError);
    EXPECT_THROW(driver_->remove(context_, path), pier::PathNotFoundError);
    EXPECT_THROW(driver_->move(context_, path, "/elsewhere"), pier::PathNotFoundError);
    EXPECT_THROW(walk(path), pier::PathNotFoundError);
  }
  // A directory is not a file to read.
  EXPECT_THROW(driver_->getContent(context_, "/dir"), pier::PathNotFoundError);
  EXPECT_THROW(driver_->reader(context_, "/dir", 0), pier::PathNotFoundError);
  try {
    driver_->getContent(context_, "/missing");
  } catch (const pier::PathNotFoundError& error) {
    EXPECT_EQ(error.path(), "/missing");
  }
}

TEST_P(StorageDriverConformance, FilesAndDirectoriesDoNotReplaceEachOther) {
  if (GetParam().directoriesArePrefixes)
    GTEST_SKIP() << "directories are prefixes: a file and a prefix of the same name may coexist, as with "
                    "Distribution's s3 driver";
  driver_->putContent(context_, "/dir/file", "content");
  EXPECT_THROW(driver_->putContent(context_, "/dir", "over a directory"), pier::StorageError);
  EXPECT_THROW(driver_->putContent(context_, "/dir/file/below", "below a file"), pier::StorageError);
  EXPECT_THROW(driver_->writer(context_, "/dir/file/below", false), pier::StorageError);
  auto writer = driver_->writer(context_, "/dir", false);
  writer->write(context_, "over a directory", 16);
  EXPECT_THROW(writer->commit(context_), pier::StorageError);
  writer->cancel(context_);
  EXPECT_EQ(driver_->getContent(context_, "/dir/file"), "content");
  EXPECT_TRUE(driver_->stat(context_, "/dir").isDirectory);
}

TEST_P(StorageDriverConformance, StatDescribesFilesAndDirectories) {
  auto before = std::chrono::system_clock::now();
  driver_->putContent(context_, "/s/file", "12345");
  auto after = std::chrono::system_clock::now();
  FileInfo file = driver_->stat(context_, "/s/file");
  EXPECT_EQ(file.path, "/s/file");
  EXPECT_EQ(file.size, 5);
  EXPECT_FALSE(file.isDirectory);
  // Filesystem timestamps come from a coarser clock.
  EXPECT_GE(file.modTime, before - std::chrono::seconds(2));
  EXPECT_LE(file.modTime, after + std::chrono::seconds(2));

  FileInfo directory = driver_->stat(context_, "/s");
  EXPECT_EQ(directory.path, "/s");
  EXPECT_TRUE(directory.isDirectory);
  EXPECT_EQ(directory.size, 0);
  EXPECT_TRUE(driver_->stat(context_, "/").isDirectory);
}

TEST_P(StorageDriverConformance, RejectsPathsThatAreInvalidOrEscapeTheRoot) {
  driver_->putContent(context_, "/valid/file", "valid");
  const std::string escapeName = "pier-escape-" + std::to_string(::getpid());
  const std::vector<std::string> badPaths{"/../x",
                                          "/a/../../x",
                                          "/../../" + escapeName,
                                          "/valid/../../x",
                                          "relative",
                                          "x/../..",
                                          "/a//b",
                                          "//x",
                                          "/a/",
                                          "",
                                          "/a/./b",
                                          "/./x",
                                          "/a/..",
                                          "/a b",
                                          "/a\\b",
                                          std::string("/a\0b", 4),
                                          "/caf\xc3\xa9"};
  for (const std::string& path : badPaths) {
    SCOPED_TRACE("path \"" + path + "\"");
    EXPECT_THROW(driver_->getContent(context_, path), pier::InvalidPathError);
    EXPECT_THROW(driver_->putContent(context_, path, "escaped"), pier::InvalidPathError);
    EXPECT_THROW(driver_->reader(context_, path, 0), pier::InvalidPathError);
    EXPECT_THROW(driver_->writer(context_, path, false), pier::InvalidPathError);
    EXPECT_THROW(driver_->writer(context_, path, true), pier::InvalidPathError);
    EXPECT_THROW(driver_->stat(context_, path), pier::InvalidPathError);
    EXPECT_THROW(driver_->list(context_, path), pier::InvalidPathError);
    EXPECT_THROW(driver_->move(context_, path, "/valid/moved"), pier::InvalidPathError);
    EXPECT_THROW(driver_->move(context_, "/valid/file", path), pier::InvalidPathError);
    EXPECT_THROW(driver_->remove(context_, path), pier::InvalidPathError);
    EXPECT_THROW(walk(path), pier::InvalidPathError);
  }

  EXPECT_EQ(driver_->getContent(context_, "/valid/file"), "valid");
  EXPECT_EQ(walk("/"), (std::vector<Visit>{{"/valid", true}, {"/valid/file", false}}));
  // A driver on a local directory did not create the file beside its root's parent.
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::temp_directory_path() / escapeName));
}

} // namespace
} // namespace pier::testing
