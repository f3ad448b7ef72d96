#include <cstddef>
#include <cstring>

#include <gtest/gtest.h>

#include "storage/Digester.hpp"

namespace pier {
namespace {

TEST(Digester, Sha256AndSha512OfKnownText) {
  EXPECT_EQ(sha256Of("hello world").toString(),
            "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  Digester sha512("sha512");
  sha512.update("abc");
  EXPECT_EQ(sha512.digest().toString(),
            "sha512:"
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
            "454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_THROW(Digester("md5"), std::invalid_argument);
}

TEST(Digester, SavedStateResumesInAnotherDigester) {
  Digester first;
  first.update("hello ");
  Digester second;
  ASSERT_TRUE(second.restoreState(first.saveState()));
  second.update("world");
  EXPECT_EQ(second.digest(), sha256Of("hello world"));
  EXPECT_FALSE(second.restoreState("garbage"));
  EXPECT_FALSE(Digester("sha512").restoreState(first.saveState()));
}

// A saved state comes from storage: one whose buffered length lies past the
// block (or of another digest length) is refused, not handed to OpenSSL,
// whose next update would write out of bounds (found by tests/fuzz digester).
template <typename Context> void expectCorruptContextsRefused(const std::string& algorithm) {
  Digester digester(algorithm);
  digester.update("hello");
  const std::string saved = digester.saveState();
  const std::size_t contextStart = saved.size() - sizeof(Context);
  auto corrupted = [&](std::size_t offset, unsigned int value) {
    std::string state = saved;
    std::memcpy(state.data() + contextStart + offset, &value, sizeof value);
    return state;
  };
  Digester restored(algorithm);
  EXPECT_TRUE(restored.restoreState(corrupted(offsetof(Context, num), 63)));
  EXPECT_FALSE(restored.restoreState(corrupted(offsetof(Context, num), 0x2000)));
  EXPECT_FALSE(restored.restoreState(corrupted(offsetof(Context, md_len), 7)));
  restored.update(" world");
  EXPECT_EQ(restored.algorithm(), algorithm);
}

TEST(Digester, RefusesSavedStatesWithAnImpossibleBuffer) {
  expectCorruptContextsRefused<SHA256_CTX>("sha256");
  expectCorruptContextsRefused<SHA512_CTX>("sha512");
}

// A state written by Go's crypto/sha256 MarshalBinary (as Distribution saves
// upload hash states) after hashing the 70 bytes "a" * 70: the buffered tail
// of 6 bytes and the length must both carry over.
TEST(Digester, ImportsDistributionsGoSha256State) {
  std::string text(70, 'a');
  // Build the Go format from a digester's words: magic, h (big-endian), block, length.
  Digester reference;
  reference.update(text.substr(0, 64));
  std::string ours = reference.saveState();
  SHA256_CTX context;
  std::memcpy(&context, ours.data() + ours.size() - sizeof context, sizeof context);
  std::string go("sha\x03", 4);
  for (int i = 0; i < 8; ++i)
    for (int shift = 24; shift >= 0; shift -= 8)
      go.push_back(static_cast<char>((context.h[i] >> shift) & 0xff));
  std::string block(64, '\0');
  block.replace(0, 6, text.substr(64));
  go += block;
  for (int shift = 56; shift >= 0; shift -= 8) go.push_back(static_cast<char>((70ULL >> shift) & 0xff));

  Digester resumed;
  ASSERT_TRUE(resumed.restoreState(go));
  resumed.update("tail");
  EXPECT_EQ(resumed.digest(), sha256Of(text + "tail"));
}

} // namespace
} // namespace pier
