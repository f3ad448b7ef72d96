#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include "errcode/ErrorCode.hpp"

namespace pier::errcode {
namespace {

TEST(ErrorCode, EveryDistributionAndOciCodeIsRegisteredWithItsStatus) {
  const std::map<std::string, int> expected{{"BLOB_UNKNOWN", 404},
                                            {"BLOB_UPLOAD_INVALID", 400},
                                            {"BLOB_UPLOAD_UNKNOWN", 404},
                                            {"DIGEST_INVALID", 400},
                                            {"MANIFEST_BLOB_UNKNOWN", 400},
                                            {"MANIFEST_INVALID", 400},
                                            {"MANIFEST_UNKNOWN", 404},
                                            {"MANIFEST_UNVERIFIED", 400},
                                            {"NAME_INVALID", 400},
                                            {"NAME_UNKNOWN", 404},
                                            {"PAGINATION_NUMBER_INVALID", 400},
                                            {"RANGE_INVALID", 416},
                                            {"SIZE_INVALID", 400},
                                            {"TAG_INVALID", 400},
                                            {"UNAUTHORIZED", 401},
                                            {"DENIED", 403},
                                            {"UNSUPPORTED", 405},
                                            {"TOOMANYREQUESTS", 429},
                                            {"UNKNOWN", 500},
                                            {"UNAVAILABLE", 503}};
  for (const auto& [value, status] : expected) {
    SCOPED_TRACE(value);
    auto code = findCode(value);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(code->httpStatus(), status);
    EXPECT_FALSE(code->message().empty());
    EXPECT_FALSE(code->descriptor().description.empty());
  }
  // + pier's own: NOT_FOUND and the connection layer's five.
  EXPECT_EQ(registeredCodes().size(), expected.size() + 6);
}

TEST(ErrorCode, RegisteringAValueTwiceIsRefused) {
  EXPECT_THROW(registerCode({"test", "BLOB_UNKNOWN", "again", "again", 404}), std::logic_error);
}

TEST(ErrorCode, UnknownValueIsNotFound) {
  EXPECT_FALSE(findCode("NO_SUCH_CODE").has_value());
}

TEST(ErrorCode, ErrorsSerializeAsDistributionJson) {
  Errors errors(Error{BlobUnknown, "", std::string("sha256:abc")});
  errors.add(Error{DigestInvalid, "digest does not match", {}});
  auto body = Poco::JSON::Parser().parse(errors.toJson()).extract<Poco::JSON::Object::Ptr>();
  auto list = body->getArray("errors");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("code"), "BLOB_UNKNOWN");
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("message"), "blob unknown to registry");
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("detail"), "sha256:abc");
  EXPECT_EQ(list->getObject(1)->getValue<std::string>("message"), "digest does not match");
  EXPECT_FALSE(list->getObject(1)->has("detail"));
  EXPECT_EQ(errors.httpStatus(), 404); // the first error's status
}

TEST(ErrorCode, ExceptionCarriesItsErrors) {
  Exception e(RangeInvalid, "chunk out of order");
  EXPECT_EQ(e.errors().httpStatus(), 416);
  EXPECT_STREQ(e.what(), "RANGE_INVALID: chunk out of order");
}

} // namespace
} // namespace pier::errcode
