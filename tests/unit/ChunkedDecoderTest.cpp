// The incremental chunked body decoder: chunk sizes, extensions, trailers,
// CRLF after data, limits, every split point, small output buffers, in-place
// decoding and pipelined bytes after the body.
#include "http/server/ChunkedDecoder.hpp"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "Mutator.hpp"

namespace pier::http {
namespace {

using test::Mutator;

struct Decoded {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
};

// Feeds input in pieces of at most step bytes, into an out buffer of outSize bytes.
Decoded decodeAll(std::string_view input, std::size_t step = SIZE_MAX, std::size_t outSize = 1 << 16) {
  ChunkedDecoder decoder;
  Decoded decoded;
  std::string out(outSize, '\0');
  while (!decoder.done() && decoded.consumed < input.size()) {
    std::size_t available = std::min(step, input.size() - decoded.consumed);
    auto result = decoder.decode(input.data() + decoded.consumed, available, out.data(), out.size());
    EXPECT_EQ(result.done, decoder.done());
    if (result.consumed == 0 && result.produced == 0) break; // stuck: a bug
    decoded.body.append(out.data(), result.produced);
    decoded.consumed += result.consumed;
  }
  decoded.done = decoder.done();
  return decoded;
}

void expectMalformed(std::string_view input, std::string_view context) {
  ChunkedDecoder decoder;
  std::string out(1024, '\0');
  EXPECT_THROW(decoder.decode(input.data(), input.size(), out.data(), out.size()), ChunkedError) << context;
  // The decoder stays failed.
  EXPECT_THROW(decoder.decode("0\r\n\r\n", 5, out.data(), out.size()), ChunkedError) << context;
}

const std::string kBody = "7\r\nMozilla\r\n9;name=value;flag\r\nDeveloper\r\n"
                          "7 ; q=\"a;b\"\r\nNetwork\r\n0\r\nExpires: never\r\nX-Tab:\ta b\r\n\r\n";

TEST(ChunkedDecoder, DecodesChunksExtensionsAndTrailers) {
  Decoded decoded = decodeAll(kBody);
  EXPECT_TRUE(decoded.done);
  EXPECT_EQ(decoded.body, "MozillaDeveloperNetwork");
  EXPECT_EQ(decoded.consumed, kBody.size());
}

TEST(ChunkedDecoder, EmptyBodyAndHexSizes) {
  EXPECT_EQ(decodeAll("0\r\n\r\n").body, "");
  EXPECT_TRUE(decodeAll("000\r\n\r\n").done);
  std::string big(0x1a, 'x');
  EXPECT_EQ(decodeAll("1A\r\n" + big + "\r\n0\r\n\r\n").body, big);
  EXPECT_EQ(decodeAll("1a\r\n" + big + "\r\n0\r\n\r\n").body, big);
  EXPECT_EQ(decodeAll("00001a\r\n" + big + "\r\n0\r\n\r\n").body,
            big); // leading zeros are not digits of the bound
}

TEST(ChunkedDecoder, EverySplitPointDecodesTheSameBytes) {
  for (std::size_t split = 0; split <= kBody.size(); ++split) {
    ChunkedDecoder decoder;
    std::string out(64, '\0'), body;
    auto first = decoder.decode(kBody.data(), split, out.data(), out.size());
    EXPECT_EQ(first.consumed, split) << split; // framing bytes are consumed as they come
    body.append(out.data(), first.produced);
    auto second = decoder.decode(kBody.data() + split, kBody.size() - split, out.data(), out.size());
    body.append(out.data(), second.produced);
    EXPECT_TRUE(second.done) << split;
    EXPECT_EQ(body, "MozillaDeveloperNetwork") << split;
    EXPECT_EQ(first.consumed + second.consumed, kBody.size());
  }
  for (std::size_t step = 1; step < 8; ++step)
    for (std::size_t outSize = 1; outSize < 5; ++outSize) {
      Decoded decoded = decodeAll(kBody, step, outSize);
      EXPECT_TRUE(decoded.done) << step << " " << outSize;
      EXPECT_EQ(decoded.body, "MozillaDeveloperNetwork") << step << " " << outSize;
    }
}

TEST(ChunkedDecoder, AFullOutputBufferStopsAtData) {
  ChunkedDecoder decoder;
  std::string input = "5\r\nhello\r\n0\r\n\r\n";
  char out[2];
  auto result = decoder.decode(input.data(), input.size(), out, sizeof out);
  EXPECT_EQ(result.produced, 2u);
  EXPECT_EQ(result.consumed, 5u);
  EXPECT_FALSE(result.done);
  EXPECT_EQ(std::string(out, 2), "he");
  EXPECT_EQ(decoder.bodySize(), 2);
}

TEST(ChunkedDecoder, InPlace) {
  std::string buffer = kBody;
  ChunkedDecoder decoder;
  auto result = decoder.decode(buffer.data(), buffer.size(), buffer.data(), buffer.size());
  EXPECT_TRUE(result.done);
  EXPECT_EQ(buffer.substr(0, result.produced), "MozillaDeveloperNetwork");
}

TEST(ChunkedDecoder, PipelinedBytesStay) {
  std::string input = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
  Decoded decoded = decodeAll(input);
  EXPECT_TRUE(decoded.done);
  EXPECT_EQ(decoded.body, "abc");
  EXPECT_EQ(input.substr(decoded.consumed), "GET / HTTP/1.1\r\n");
  ChunkedDecoder decoder;
  char out[16];
  decoder.decode(input.data(), input.size(), out, sizeof out);
  auto after = decoder.decode(input.data(), input.size(), out, sizeof out);
  EXPECT_EQ(after.consumed, 0u);
  EXPECT_TRUE(after.done);
}

TEST(ChunkedDecoder, MalformedChunkSizes) {
  const char* bad[] = {
      "\r\n",       // empty size
      ";x\r\n",     // extension without a size
      "g\r\n",      // not hex
      "0x5\r\n",    //
      "-5\r\n",     //
      "+5\r\n",     //
      " 5\r\n",     // leading whitespace
      "5 \r\n",     // BWS only before ";"
      "5 x\r\n",    //
      "5\n",        // bare LF
      "5\rx",       // CR without LF
      "5;a\nb\r\n", // bare LF in an extension
      "5;a\x01\r\n",
      "1000000000000000\r\n", // 16 significant hex digits
      "ffffffffffffffff\r\n", // over INT64
  };
  for (const char* input : bad) expectMalformed(input, input);
  // 15 significant digits are accepted (the data never comes here).
  ChunkedDecoder decoder;
  char out[4];
  EXPECT_NO_THROW(decoder.decode("fffffffffffffff\r\n", 17, out, sizeof out));
  EXPECT_FALSE(decoder.done());
}

TEST(ChunkedDecoder, SizeLineLimit) {
  std::string atLimit = "5;" + std::string(ChunkedDecoder::kMaxSizeLine - 2, 'x');
  EXPECT_EQ(decodeAll(atLimit + "\r\nhello\r\n0\r\n\r\n").body, "hello");
  expectMalformed(atLimit + "x\r\nhello\r\n0\r\n\r\n", "size line over 4096 bytes");
  expectMalformed(std::string(5000, '0') + "\r\n\r\n", "4096 zeros");
  // The limit holds while the line arrives in pieces.
  ChunkedDecoder decoder;
  char out[4];
  decoder.decode("5;", 2, out, sizeof out);
  std::string ext(ChunkedDecoder::kMaxSizeLine, 'x');
  EXPECT_THROW(decoder.decode(ext.data(), ext.size(), out, sizeof out), ChunkedError);
}

TEST(ChunkedDecoder, MissingCrlfAfterData) {
  expectMalformed("3\r\nabcd\r\n0\r\n\r\n", "data longer than the size");
  expectMalformed("3\r\nab\r\n0\r\n\r\n", "data shorter than the size");
  expectMalformed("3\r\nabc\n0\r\n\r\n", "bare LF after data");
  expectMalformed("3\r\nabc\rx0\r\n\r\n", "CR without LF after data");
}

TEST(ChunkedDecoder, MalformedTrailers) {
  const char* bad[] = {
      "0\r\nX-A : 1\r\n\r\n",           // space before the colon
      "0\r\nX-A: 1\r\n folded\r\n\r\n", // obs-fold
      "0\r\n: 1\r\n\r\n",               // empty name
      "0\r\nno colon\r\n\r\n",          //
      "0\r\nX-A: a\x01\r\n\r\n",        // control byte
      "0\r\nX-A: a\nb\r\n\r\n",         // bare LF
      "0\r\nX-A: 1\r\n\n",              // bare LF at the end
      "0\r\n\rx",                       // CR without LF at the end
      "0\r\nX-A: 1\rx\r\n\r\n",         //
  };
  for (const char* input : bad) expectMalformed(input, input);
  std::string longLine = "0\r\nX: " + std::string(ChunkedDecoder::kMaxTrailerLine, 'v') + "\r\n\r\n";
  expectMalformed(longLine, "trailer line over 4096 bytes");
  std::string many = "0\r\n";
  for (std::size_t i = 0; i <= ChunkedDecoder::kMaxTrailerFields; ++i) many += "X: 1\r\n";
  expectMalformed(many + "\r\n", "too many trailer fields");
}

// Deterministic mutations: no crash, either a ChunkedError or a decode that
// consumes at most its input and produces at most its output.
TEST(ChunkedDecoder, MutationsThrowOnlyChunkedError) {
  Mutator mutator(7, std::string{'\r', '\n', ' ', '\t', ';', ':', '0', 'f', 'g', '\0', '\x7f', '\xff'});
  std::uint32_t state = 2463534242u; // xorshift: the same mutations every run
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  int done = 0, failed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = kBody;
    text = mutator.mutate(text);
    ChunkedDecoder decoder;
    char out[7];
    std::size_t offset = 0;
    try {
      for (int round = 0; round < 1000 && offset < text.size() && !decoder.done(); ++round) {
        std::size_t piece = std::min<std::size_t>(1 + next() % 9, text.size() - offset);
        auto result = decoder.decode(text.data() + offset, piece, out, sizeof out);
        ASSERT_LE(result.consumed, piece);
        ASSERT_LE(result.produced, sizeof out);
        offset += result.consumed;
      }
      done += decoder.done();
    } catch (const ChunkedError&) {
      ++failed;
    }
  }
  EXPECT_GT(done, 0);
  EXPECT_GT(failed, 0);
}

} // namespace
} // namespace pier::http
