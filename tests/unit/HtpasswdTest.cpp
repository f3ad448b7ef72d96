// The htpasswd access controller's parts in-process (auth/htpasswd, linked
// into this binary): the file parser, Basic credentials, bcrypt through
// libcrypt, the cache of verified credentials, and the controller itself
// checking its file at every request. Hashes come from the real
// `htpasswd -B` (apache2-utils). The plugin as loaded by `pier serve` is
// tests/integration/HtpasswdAccessTest.cpp.
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "BasicCredentials.hpp"
#include "Bcrypt.hpp"
#include "HtpasswdAccessController.hpp"
#include "HtpasswdFile.hpp"
#include "PierProcess.hpp"
#include "RecentlyVerified.hpp"
#include "RecordingLogger.hpp"

namespace pier::htpasswd {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

// "user:hash" as `htpasswd -nbB user password` prints it.
std::string htpasswdLine(const std::string& user, const std::string& password) {
  auto result = test::runCommand("/usr/bin/htpasswd", {"-nbB", user, password});
  EXPECT_EQ(result.exitCode, 0) << result.output;
  std::string line = result.output.substr(0, result.output.find('\n'));
  EXPECT_EQ(line.rfind(user + ":$2y$", 0), 0u) << result.output;
  return line;
}

std::string hashOf(const std::string& line) {
  return line.substr(line.find(':') + 1);
}

// The same bcrypt hash under another variant's prefix ("2a", "2b").
std::string withVariant(std::string hash, const std::string& variant) {
  return hash.replace(1, 2, variant);
}

std::string basic(const std::string& userAndPassword) {
  return test::basicAuthorization(userAndPassword);
}

std::string messageOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no error>";
}

// --- the file ----------------------------------------------------------------

const std::string kHash = "$2y$05$abcdefghijklmnopqrstuOabcdefghijklmnopqrstuvwxyzABCDE";

TEST(HtpasswdFile, ReadsBcryptEntriesAndSkipsCommentsAndBlankLines) {
  ASSERT_TRUE(isBcryptHash(kHash));
  std::string text = "# users of the registry\n\n   \nalice:" + kHash +
                     "\r\n  bob:" + withVariant(kHash, "2b") + "  \ncarol:" + withVariant(kHash, "2a");
  Users users = parseHtpasswd(text, "users.htpasswd");
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users.at("alice"), kHash);
  EXPECT_EQ(users.at("bob"), withVariant(kHash, "2b"));
  EXPECT_EQ(users.at("carol"), withVariant(kHash, "2a"));
  EXPECT_TRUE(parseHtpasswd("", "empty").empty());
}

TEST(HtpasswdFile, EveryBadLineIsNamedByNumber) {
  struct Case {
    std::string line, expected;
  } cases[] = {
      {"alice", "no colon between user and password hash"},
      {":" + kHash, "the user name is empty"},
      {"alice:", "no password hash"},
      {"alice:$apr1$Vx6s7CPn$CGjAmQOZ7K6AnbKldYFDO/", "an MD5 hash ($apr1$"},
      {"alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "a SHA-1 hash ({SHA}"},
      {"alice:$6$salt$hash", "a SHA-512-crypt hash"},
      {"alice:secret", "plain text or DES crypt"},
      {"alice:" + withVariant(kHash, "2x"), "$2x$"},
      {"alice:" + kHash.substr(0, 59), "a malformed bcrypt hash"},
      {"alice:$9$whatever", "an unknown hash type"},
      {"bob:" + kHash, "user \"bob\" is already on line 2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    std::string message =
        messageOf([&] { parseHtpasswd("# header\nbob:" + kHash + "\n" + c.line, "f.txt"); });
    EXPECT_EQ(message.rfind("f.txt line 3: ", 0), 0u) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    // The hash itself never goes into a message.
    EXPECT_EQ(message.find("CGjAmQOZ"), std::string::npos) << message;
  }
}

TEST(HtpasswdFile, OnlyWellFormedBcryptIsBcrypt) {
  EXPECT_TRUE(isBcryptHash(withVariant(kHash, "2a")));
  EXPECT_TRUE(isBcryptHash(withVariant(kHash, "2b")));
  std::string cost = kHash;
  EXPECT_FALSE(isBcryptHash(cost.replace(4, 2, "03")));
  EXPECT_FALSE(isBcryptHash(cost.replace(4, 2, "32")));
  EXPECT_TRUE(isBcryptHash(cost.replace(4, 2, "31")));
  EXPECT_FALSE(isBcryptHash(kHash + "A"));
  std::string badCharacter = kHash;
  EXPECT_FALSE(isBcryptHash(badCharacter.replace(20, 1, "+")));
  EXPECT_FALSE(isBcryptHash(withVariant(kHash, "2x")));
}

TEST(HtpasswdFile, LoadsAFileWithItsSignature) {
  TempDir dir;
  test::writeFile(dir / "htpasswd", "alice:" + kHash + "\n");
  LoadedFile loaded = loadHtpasswdFile((dir / "htpasswd").string());
  EXPECT_EQ(loaded.users.size(), 1u);
  EXPECT_EQ(loaded.signature, signatureOf((dir / "htpasswd").string()));
  EXPECT_EQ(loaded.signature.size, static_cast<off_t>(kHash.size() + 7));

  std::string missing = messageOf([&] { loadHtpasswdFile((dir / "missing").string()); });
  EXPECT_NE(missing.find("cannot open " + (dir / "missing").string() + ": No such file"), std::string::npos)
      << missing;
  EXPECT_NE(messageOf([&] { loadHtpasswdFile(dir.path().string()); }).find("is not a regular file"),
            std::string::npos);
}

// --- Basic credentials -------------------------------------------------------

TEST(BasicCredentials, DecodesUserAndPassword) {
  auto alice = parseBasicAuthorization(basic("alice:pw"));
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->user, "alice");
  EXPECT_EQ(alice->password, "pw");
  // The scheme is case-insensitive; the password may hold colons, or be empty.
  auto colons = parseBasicAuthorization("bAsIc  " + basic("bob:a:b:").substr(6) + " ");
  ASSERT_TRUE(colons);
  EXPECT_EQ(colons->user, "bob");
  EXPECT_EQ(colons->password, "a:b:");
  auto empty = parseBasicAuthorization(basic("carol:"));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->password, "");
}

TEST(BasicCredentials, RefusesEverythingElse) {
  const std::string aliceEncoded = basic("alice:pw").substr(6); // "YWxpY2U6cHc="
  const std::string cases[] = {
      "",
      "Bearer abc",
      "Basic",
      "Basic ",
      "Basic" + aliceEncoded,
      "Basic " + aliceEncoded.substr(0, aliceEncoded.size() - 1), // no padding
      "Basic YWxp*2U6cHc=",
      "Basic YWxp Y2U6cHc=",
      "Basic Y",
      "Basic ====",
      "Basic YQ==YQ==",
      "Basic YWxpY2U6cHc===",
      "Basic YTp=", // "a:" with set bits after the last byte (found by tests/fuzz authorization)
      "Basic YWxpY1W6pYU1WxY6NNNNNNNNNNNNNNNNNNVjcmV=",
      basic("nocolon"),
      basic(":password"),
      basic(std::string("al\0ice:pw", 9)),
      basic(std::string("alice:p\0w", 9)),
      "Digest username=\"alice\"",
  };
  for (const auto& header : cases) {
    SCOPED_TRACE(header);
    EXPECT_FALSE(parseBasicAuthorization(header));
  }
}

// --- bcrypt --------------------------------------------------------------------

TEST(Bcrypt, VerifiesWhatHtpasswdMadeInEveryVariant) {
  std::string hash = hashOf(htpasswdLine("alice", "s3cret pass"));
  for (const std::string variant : {"2y", "2a", "2b"}) {
    SCOPED_TRACE(variant);
    EXPECT_TRUE(bcryptMatches("s3cret pass", withVariant(hash, variant)));
    EXPECT_FALSE(bcryptMatches("s3cret pasS", withVariant(hash, variant)));
    EXPECT_FALSE(bcryptMatches("", withVariant(hash, variant)));
  }
  EXPECT_FALSE(bcryptMatches("s3cret pass", "$2y$05$short"));
  EXPECT_FALSE(bcryptMatches("s3cret pass", ""));
}

// --- recently verified secrets ------------------------------------------------------

TEST(RecentlyVerified, KeysHoldNoPasswordAndDependOnTheSalt) {
  auth::RecentlyVerified one(10, 60s), other(10, 60s);
  std::string key = one.keyFor("alice", "correct horse");
  EXPECT_EQ(key.rfind(std::string("alice\0", 6), 0), 0u);
  EXPECT_EQ(key.size(), 6u + 32u);
  EXPECT_EQ(key.find("correct horse"), std::string::npos);
  EXPECT_EQ(key, one.keyFor("alice", "correct horse"));
  EXPECT_NE(key, one.keyFor("alice", "correct horsf"));
  EXPECT_NE(key, other.keyFor("alice", "correct horse"));
}

TEST(RecentlyVerified, RemembersForItsLifetime) {
  auth::RecentlyVerified verified(10, 60s);
  auto start = auth::RecentlyVerified::Clock::now();
  std::string key = verified.keyFor("alice", "pw");
  EXPECT_FALSE(verified.contains(key, start));
  verified.remember(key, start);
  EXPECT_TRUE(verified.contains(key, start + 59s));
  EXPECT_FALSE(verified.contains(key, start + 60s));
  EXPECT_EQ(verified.size(), 0u); // the expired entry is gone, not only ignored
  verified.remember(key, start + 60s);
  EXPECT_TRUE(verified.contains(key, start + 61s));
}

TEST(RecentlyVerified, HoldsAtMostItsCapacity) {
  auth::RecentlyVerified verified(3, 60s);
  auto now = auth::RecentlyVerified::Clock::now();
  for (int i = 0; i < 5; ++i) verified.remember(verified.keyFor("user" + std::to_string(i), "pw"), now);
  EXPECT_EQ(verified.size(), 3u);
  EXPECT_FALSE(verified.contains(verified.keyFor("user0", "pw"), now));
  EXPECT_FALSE(verified.contains(verified.keyFor("user1", "pw"), now));
  for (int i = 2; i < 5; ++i)
    EXPECT_TRUE(verified.contains(verified.keyFor("user" + std::to_string(i), "pw"), now));
  // Expired entries make room before the oldest live one has to go.
  verified.remember(verified.keyFor("late", "pw"), now + 61s);
  EXPECT_EQ(verified.size(), 1u);
  auth::RecentlyVerified none(0, 60s);
  none.remember(none.keyFor("alice", "pw"), now);
  EXPECT_EQ(none.size(), 0u);
}

// --- the controller ------------------------------------------------------------

Poco::JSON::Object parameters(const std::map<std::string, std::string>& values) {
  Poco::JSON::Object object;
  for (const auto& [key, value] : values) object.set(key, value);
  return object;
}

TEST(HtpasswdOptions, ConfigErrorsNameTheKey) {
  auto error = [](const std::map<std::string, std::string>& values) {
    return messageOf([&] { HtpasswdOptions::fromConfig(parameters(values)); });
  };
  EXPECT_EQ(error({{"path", "/p"}}), "auth.htpasswd.realm: is required");
  EXPECT_EQ(error({{"realm", "r"}}), "auth.htpasswd.path: is required");
  EXPECT_EQ(error({{"realm", "r"}, {"path", "/p"}, {"paht", "/q"}}),
            "auth.htpasswd.paht: unknown parameter of the htpasswd access controller");
  EXPECT_EQ(error({{"realm", "r\r\nX-Injected: 1"}, {"path", "/p"}}),
            "auth.htpasswd.realm: must not hold control characters");
  Poco::JSON::Object numeric;
  numeric.set("realm", "r");
  numeric.set("path", 5);
  EXPECT_EQ(messageOf([&] { HtpasswdOptions::fromConfig(numeric); }), "auth.htpasswd.path: must be a string");
}

class HtpasswdControllerTest : public ::testing::Test {
protected:
  TempDir dir;
  std::string path = (dir / "htpasswd").string();
  test::RecordingLogger logger;
  Context context{"request-1", logger};

  std::unique_ptr<HtpasswdAccessController> makeController(const std::string& fileText) {
    test::writeFile(path, fileText);
    HtpasswdOptions options;
    options.realm = "Pier \"test\" realm";
    options.path = path;
    options.recheckInterval = 0ms; // every request looks at the file
    return std::make_unique<HtpasswdAccessController>(options);
  }

  AuthResult authorize(AccessController& controller, const std::string& authorization) {
    AuthRequest request{"GET", "/v2/", "127.0.0.1", {}, {}};
    if (!authorization.empty()) request.headers.emplace_back("authorization", authorization);
    return controller.authorize(context, request, {Access{"repository", "lib/app", "push"}});
  }
};

TEST_F(HtpasswdControllerTest, GrantsTheUserAndChallengesEveryoneElse) {
  auto controller = makeController("# the team\n" + htpasswdLine("alice", "pw") + "\n");
  AuthResult granted = authorize(*controller, basic("alice:pw"));
  EXPECT_TRUE(granted.granted);
  EXPECT_EQ(granted.user, "alice");
  EXPECT_TRUE(authorize(*controller, basic("alice:pw")).granted); // remembered, and still right

  const std::vector<std::string> refusedHeaders{"", basic("alice:pW"), basic("mallory:pw"), "Basic !"};
  for (const auto& header : refusedHeaders) {
    SCOPED_TRACE(header);
    AuthResult refused = authorize(*controller, header);
    EXPECT_FALSE(refused.granted);
    EXPECT_EQ(refused.errorCode, "UNAUTHORIZED");
    EXPECT_EQ(refused.message, "authentication required");
    ASSERT_EQ(refused.headers.size(), 1u);
    EXPECT_EQ(refused.headers[0].first, "WWW-Authenticate");
    EXPECT_EQ(refused.headers[0].second, "Basic realm=\"Pier \\\"test\\\" realm\"");
  }
  EXPECT_EQ(logger.count("auth.htpasswd: wrong password for user \"alice\""), 1u);
  EXPECT_EQ(logger.count("auth.htpasswd: no user \"mallory\""), 1u);
}

TEST_F(HtpasswdControllerTest, ABadFileAtStartIsAConfigErrorNamingTheLine) {
  std::string message = messageOf([&] { makeController(htpasswdLine("alice", "pw") + "\n\nbob:plain\n"); });
  EXPECT_EQ(message.rfind("auth.htpasswd.path: " + path + " line 3: user \"bob\" has no hash Pier knows", 0),
            0u)
      << message;
  std::filesystem::remove(path);
  HtpasswdOptions options;
  options.realm = "realm";
  options.path = path;
  message = messageOf([&] { HtpasswdAccessController controller(options); });
  EXPECT_EQ(message, "auth.htpasswd.path: cannot open " + path + ": No such file or directory");
}

TEST_F(HtpasswdControllerTest, AChangedFileCountsAtTheNextRequest) {
  std::string alice = htpasswdLine("alice", "pw");
  auto controller = makeController(alice + "\n");
  EXPECT_TRUE(authorize(*controller, basic("alice:pw")).granted);
  EXPECT_FALSE(authorize(*controller, basic("bob:pw2")).granted);

  test::writeFile(path, alice + "\n" + htpasswdLine("bob", "pw2") + "\n");
  EXPECT_TRUE(authorize(*controller, basic("bob:pw2")).granted);
  EXPECT_EQ(logger.count("auth.htpasswd: read " + path + " again: 2 users"), 1u);

  // alice's password was verified (and remembered); a new one replaces it at once.
  test::writeFile(path, htpasswdLine("alice", "new") + "\n");
  EXPECT_FALSE(authorize(*controller, basic("alice:pw")).granted);
  EXPECT_TRUE(authorize(*controller, basic("alice:new")).granted);
  EXPECT_FALSE(authorize(*controller, basic("bob:pw2")).granted);
}

TEST_F(HtpasswdControllerTest, AFileThatNoLongerLoadsKeepsTheUsersAndWarnsOnce) {
  auto controller = makeController(htpasswdLine("alice", "pw") + "\n");
  test::writeFile(path, "alice:$apr1$Vx6s7CPn$CGjAmQOZ7K6AnbKldYFDO/\n");
  EXPECT_TRUE(authorize(*controller, basic("alice:pw")).granted);
  EXPECT_TRUE(authorize(*controller, basic("alice:pw")).granted);
  EXPECT_EQ(logger.count("warn: auth.htpasswd: " + path + " line 1: user \"alice\" has an MD5 hash"), 1u);
  EXPECT_EQ(logger.count("keeping the 1 users read before"), 1u);

  std::filesystem::remove(path);
  EXPECT_TRUE(authorize(*controller, basic("alice:pw")).granted);
  EXPECT_TRUE(authorize(*controller, basic("alice:pw")).granted);
  EXPECT_EQ(logger.count("warn: auth.htpasswd: cannot stat " + path + ": No such file"), 1u);

  test::writeFile(path, htpasswdLine("bob", "pw2") + "\n");
  EXPECT_TRUE(authorize(*controller, basic("bob:pw2")).granted);
  EXPECT_FALSE(authorize(*controller, basic("alice:pw")).granted);
}

} // namespace
} // namespace pier::htpasswd
