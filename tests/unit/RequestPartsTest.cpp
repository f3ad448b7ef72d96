// The parsers of request parts (core/src/http/RequestParts): numbers are
// 1*DIGIT, as RFC 9110 writes them for ranges; a sign is no number.
#include <gtest/gtest.h>

#include "errcode/ErrorCode.hpp"
#include "http/RequestParts.hpp"

namespace pier {
namespace {

std::string pageSizeError(const std::string& n) {
  try {
    parsePageSize(n, 10, 100);
  } catch (const errcode::Exception& e) {
    return e.errors().list().front().code.value();
  }
  return "";
}

TEST(RequestParts, PageSizesAreDigitsUpToTheMaximum) {
  EXPECT_EQ(parsePageSize(std::nullopt, 10, 100), 10u);
  EXPECT_EQ(parsePageSize("", 10, 100), 10u);
  EXPECT_EQ(parsePageSize("0", 10, 100), 0u);
  EXPECT_EQ(parsePageSize("007", 10, 100), 7u);
  EXPECT_EQ(parsePageSize("100", 10, 100), 100u);
  // "-0" was taken for 0 (found by tests/fuzz pagination).
  for (std::string bad : {"-0", "+1", "-1", "101", " 1", "1 ", "0x1", "1e2", "9999999999999999999"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(pageSizeError(bad), "PAGINATION_NUMBER_INVALID");
  }
}

TEST(RequestParts, RangesAndContentRangesRefuseSigns) {
  auto chunk = parseContentRange("0-1023");
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->start, 0);
  EXPECT_EQ(chunk->length, 1024);
  EXPECT_FALSE(parseContentRange("0--0"));
  EXPECT_FALSE(parseContentRange("+0-5"));

  RangeRequest range = parseRangeHeader("bytes=10-19", 100);
  ASSERT_TRUE(range.range);
  EXPECT_EQ(range.range->start, 10);
  EXPECT_EQ(range.range->length, 10);
  EXPECT_FALSE(parseRangeHeader("bytes=0--0", 100).range);
  EXPECT_FALSE(parseRangeHeader("bytes=--5", 100).range);
}

} // namespace
} // namespace pier
